//go:build cgo

package altogic

// Hooks for the tests and benchmarks of package altogic_test (compiled only in tests).

// StartQueue makes the process's completion queue and starts its goroutine now, so that
// tests counting goroutines do not see it appear in the middle.
func StartQueue() error {
	_, err := sharedQueue()
	return err
}

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

// QueuedCalls is the number of calls started on the queue whose result did not come out,
// those abandoned by their callers included.
func QueuedCalls() int {
	q := queueShared.Load()
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.calls)
}

// AbandonedCalls is the number of calls whose callers returned (their ctx was done, or
// they left a watch) and whose (final) result did not come out yet.
func AbandonedCalls() int {
	q := queueShared.Load()
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, w := range q.calls {
		if w.ch == nil && (w.watch == nil || w.watch.abandoned) {
			n++
		}
	}
	return n
}

// CallsInFlight is the number of calls holding c.
func CallsInFlight(c *Client) int64 { return c.state.Load() &^ closedBit }

// UseQueueWithoutPoller makes calls go through a new queue served as where Go's poller
// cannot watch the descriptor (its goroutine waits in altogic_queue_next, and stays there
// for the rest of the process), and returns a function restoring the process's queue.
// Call it, and the restore, only while no call runs.
func UseQueueWithoutPoller() (restore func()) {
	q, err := newCompletionQueue()
	if err != nil {
		panic(err)
	}
	q.withoutPoller = true
	go q.read()
	old := queueShared.Swap(q)
	return func() { queueShared.Store(old) }
}

// UseUnreadQueue makes calls go through a new queue whose results nobody takes until read
// is called (which starts its goroutine, in Go's poller, for the rest of the process), and
// returns read and a function restoring the process's queue. Call it, and the restore,
// only while no call runs.
func UseUnreadQueue() (read, restore func()) {
	q, err := newCompletionQueue()
	if err != nil {
		panic(err)
	}
	old := queueShared.Swap(q)
	return func() { go q.read() }, func() { queueShared.Store(old) }
}

// LibraryLogLevel is the level the library's log callback is registered at (ALTOGIC_LOG_*;
// 0 before the first client).
func LibraryLogLevel() int {
	logs.mu.Lock()
	defer logs.mu.Unlock()
	return logs.registered
}

// ClientID is the library's number of c, which its log records carry.
func ClientID(c *Client) uint64 { return c.id }
