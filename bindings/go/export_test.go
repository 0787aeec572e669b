//go:build cgo

package altogic

// Hooks for the tests and benchmarks of package altogic_test (compiled only in tests).

// StartQueue makes the process's completion queue and starts its goroutine now, so that
// tests counting goroutines do not see it appear in the middle.
func StartQueue() bool { return sharedQueue() != nil }

// Routes for SetRouting.
const (
	RouteAuto     = routeAuto
	RouteBlocking = routeBlocking
	RouteQueue    = routeQueue
)

// SetRouting makes RunOnce and GetStatus take route (RouteBlocking: always the blocking
// call; RouteQueue: always the queue; RouteAuto: the default) and returns a function
// restoring the previous route.
func SetRouting(route int32) (restore func()) {
	old := routing.Swap(route)
	return func() { routing.Store(old) }
}

// QueueWaitsInLibrary tells whether the queue's goroutine waits in altogic_queue_next
// (holding a thread) rather than in Go's poller.
func QueueWaitsInLibrary() bool {
	q := queueShared.Load()
	return q != nil && q.waitsInLibrary.Load()
}

// LibraryWaitFor is how long the queue's goroutine keeps waiting in the library after the
// last queued RunOnce or GetStatus call ended, at most.
const LibraryWaitFor = libraryWaitFor

// QueuedStarts is the number of calls the queue took so far (the last tag it gave).
func QueuedStarts() uint64 {
	q := queueShared.Load()
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.next
}

// QueuedCalls is the number of calls started on the queue whose result did not come out.
func QueuedCalls() int {
	q := queueShared.Load()
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.calls)
}

// CallsInFlight is the number of calls holding c.
func CallsInFlight(c *Client) int64 { return c.state.Load() &^ closedBit }

// UseQueueWithoutPoller makes calls go through a new queue served as where Go's poller
// cannot watch the descriptor (its goroutine waits in altogic_queue_next, and stays there
// for the rest of the process), and returns a function restoring the process's queue.
// Call it, and the restore, only while no call runs.
func UseQueueWithoutPoller() (restore func()) {
	q := newCompletionQueue()
	if q == nil {
		panic("no queue")
	}
	q.withoutPoller = true
	go q.read()
	old := queueShared.Swap(q)
	return func() { queueShared.Store(old) }
}
