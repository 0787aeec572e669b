//go:build cgo

package altogic

/*
#include <stdlib.h>
#include "altogic.h"
*/
import "C"

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Calls that wait for the service without holding an OS thread.
//
// A goroutine inside a cgo call holds its OS thread until the call returns, so 3,000
// goroutines waiting in the library's blocking calls make some 2,000 threads (Go aborts
// past 10,000). Instead, a call can be started in the library (altogic_task_*_start), which
// returns at once, and its result read later from a completion queue (AltogicQueue). The
// process has one queue and one goroutine reading it: that goroutine waits for the queue's
// descriptor through Go's poller (epoll), which parks it without a thread, drains the queue
// with altogic_queue_next(queue, 0) and hands each result to its caller over the channel
// registered under the call's tag. The caller, meanwhile, is parked on that channel.
//
// While RunOnce or GetStatus calls are in flight through the queue, the goroutine waits in
// altogic_queue_next instead, holding one OS thread, and goes back to the poller at most
// libraryWaitFor after the last of them ended. The library then wakes that thread directly
// with each result, where through the poller a result wakes whichever thread is in epoll,
// which then wakes another to run the caller: against nginx on 2 cores with 4 goroutines,
// 0.95-0.98x net/http's calls per second against 0.85-0.88x (README.md). Waits alone
// (thousands of them, each lasting as long as its task) never hold a thread.
//
// Which calls go through the queue:
//
//   - Wait always: it lasts as long as its task.
//   - RunOnce and GetStatus (one round trip, about 50-100 µs) are made with the blocking
//     call while no more of them are in progress than GOMAXPROCS, and through the queue
//     once more are (see blockingFits). Up to GOMAXPROCS at once, the blocking call is the
//     faster (no hand-off to the library's thread and back: about 1.8x the calls per
//     second alone, 1.15x with 2 goroutines on 2 CPUs); beyond, the queue is (blocking
//     calls' threads leave and retake Go's processors around every call: 1.15x from 4
//     goroutines on 2 CPUs). At most GOMAXPROCS threads are ever held for RunOnce and
//     GetStatus calls, whatever the number of goroutines: the blocking calls' while few
//     are in progress, the queue goroutine's one while more are (a blocking call comes
//     100 ms after the last crowd at the earliest; the goroutine is back in the poller
//     within libraryWaitFor of the last queued call). README.md gives the measurements.
//
// If the queue cannot be made (the process is out of descriptors), calls fall back to the
// blocking calls, as before.

// How RunOnce and GetStatus are routed: routeAuto, unless a test or benchmark sets
// another (export_test.go).
const (
	routeAuto     int32 = iota // blocking up to GOMAXPROCS calls at once, queued beyond
	routeBlocking              // always the blocking call
	routeQueue                 // always through the queue
)

var routing atomic.Int32

// queuedAfterCrowdFor is how long after more RunOnce or GetStatus calls than GOMAXPROCS
// were last in progress the calls still go through the queue: a program that makes many
// concurrent calls keeps making them, and switching paths at every lull would mix the two
// (blocking calls beside queued ones made fewer calls per second than either path alone).
const queuedAfterCrowdFor = 100 * time.Millisecond

var (
	// shortCalls counts the RunOnce and GetStatus calls in progress, on either path.
	shortCalls atomic.Int32
	// queuedShortCalls counts those of them in flight through the queue.
	queuedShortCalls atomic.Int32
	// lastCrowd is when a call last started with more than GOMAXPROCS in progress, as
	// time since routingEpoch (a monotonic reading).
	lastCrowd    atomic.Int64
	routingEpoch = time.Now()
)

// blockingFits tells whether a RunOnce or GetStatus call that just entered (shortCalls
// counts it already) is made as a blocking call.
func blockingFits() bool {
	switch routing.Load() {
	case routeBlocking:
		return true
	case routeQueue:
		return false
	}
	now := int64(time.Since(routingEpoch))
	if shortCalls.Load() > int32(runtime.GOMAXPROCS(0)) {
		lastCrowd.Store(now)
		return false
	}
	return now-lastCrowd.Load() > int64(queuedAfterCrowdFor)
}

// completionQueue is the process's AltogicQueue and the calls waiting for its results.
type completionQueue struct {
	ptr *C.AltogicQueue
	// fd is the library's descriptor, never read, registered or closed here (the poller
	// watches duplicates of it).
	fd int
	// withoutPoller: the goroutine always waits in the library (set by a test).
	withoutPoller bool
	// waitsInLibrary tells where the goroutine waits now: in the library, holding a
	// thread, or in the poller.
	waitsInLibrary atomic.Bool
	// tagOut receives altogic_queue_next's tag: C memory, used by the reading goroutine only.
	tagOut *C.uint64_t

	mu    sync.Mutex
	calls map[uint64]chan *C.char // by tag: where each result goes
	next  uint64                  // the last tag given
}

var (
	queueMu     sync.Mutex
	queueShared atomic.Pointer[completionQueue]
)

// resultChans recycles the one-result channels: each receives exactly one result, which
// its caller takes before putting it back.
var resultChans = sync.Pool{New: func() any { return make(chan *C.char, 1) }}

// sharedQueue returns the process's queue, made (and its reading goroutine started) on
// first use; nil when it cannot be made, and then the next call tries again.
func sharedQueue() *completionQueue {
	if q := queueShared.Load(); q != nil {
		return q
	}
	queueMu.Lock()
	defer queueMu.Unlock()
	if q := queueShared.Load(); q != nil {
		return q
	}
	q := newCompletionQueue()
	if q != nil {
		queueShared.Store(q)
		go q.read()
	}
	return q
}

func newCompletionQueue() *completionQueue {
	var cErr *C.char
	ptr := C.altogic_queue_new(&cErr)
	if ptr == nil {
		takeString(cErr)
		return nil
	}
	return &completionQueue{
		ptr:    ptr,
		fd:     int(C.altogic_queue_fd(ptr)),
		tagOut: (*C.uint64_t)(C.malloc(C.sizeof_uint64_t)),
		calls:  make(map[uint64]chan *C.char),
	}
}

// libraryWaitFor bounds each wait of the queue's goroutine in altogic_queue_next while
// RunOnce or GetStatus calls are queued, hence how long it keeps its thread after they end.
const libraryWaitFor = 10 * time.Millisecond

// read is the queue's goroutine, for the life of the process.
//
// In the poller: RawConn.Read calls the function, and each time it answers false parks
// the goroutine until the descriptor becomes readable, without ever reading it. The poller
// is edge-triggered; the library makes each change of its queue from empty to not empty an
// edge, and an edge that comes while drain runs makes the next wait return at once: no
// result is missed. The function answers true (Read returns) once RunOnce or GetStatus
// calls are queued: the goroutine then waits in the library (see the top of this file),
// and the descriptor leaves the poller meanwhile (its duplicate is closed), or each result
// would also wake the poller's thread for nothing. Registered again, a descriptor that is
// readable reports so at once, and drain runs first in any case.
//
// Where the poller cannot watch the descriptor (no descriptor, or one it refuses), the
// goroutine always waits in altogic_queue_next, holding one OS thread for the queue.
func (q *completionQueue) read() {
	for !q.withoutPoller {
		if queuedShortCalls.Load() > 0 {
			q.waitsInLibrary.Store(true)
			q.waitInLibrary(C.uint64_t(libraryWaitFor / time.Millisecond))
			continue
		}
		q.waitsInLibrary.Store(false)
		q.withoutPoller = !q.waitInPoller()
	}
	q.waitsInLibrary.Store(true)
	for {
		q.waitInLibrary(C.ALTOGIC_WAIT_FOREVER)
	}
}

// waitInPoller delivers results as they come through Go's poller until RunOnce or
// GetStatus calls are queued; false when the poller cannot watch the queue's descriptor.
func (q *completionQueue) waitInPoller() bool {
	file := pollerFile(q.fd) // queue_unix.go
	if file == nil {
		return false
	}
	defer file.Close()
	conn, err := file.SyscallConn()
	if err != nil {
		return false
	}
	// An error means the poller refused the descriptor (the file is not closed before
	// Read returns), before any result was missed: drain ran first.
	return conn.Read(func(uintptr) bool {
		q.drain()
		return queuedShortCalls.Load() > 0
	}) == nil
}

// waitInLibrary waits up to timeoutMs for one result in altogic_queue_next and delivers it.
//
// Then it yields: the caller it just made runnable runs at once on this thread, whose
// processor would otherwise sit in the next cgo call with the caller queued on it until
// another thread, woken for it, took it over. Measured against nginx on 2 CPUs: 2-8% more
// calls per second with 4 goroutines, 13-14% with 8.
func (q *completionQueue) waitInLibrary(timeoutMs C.uint64_t) {
	if res := C.altogic_queue_next(q.ptr, timeoutMs, q.tagOut); res != nil {
		q.deliver(res, uint64(*q.tagOut))
		runtime.Gosched()
	}
}

// drain hands every result waiting in the queue to its caller.
func (q *completionQueue) drain() {
	for {
		res := C.altogic_queue_next(q.ptr, 0, q.tagOut)
		if res == nil {
			return
		}
		q.deliver(res, uint64(*q.tagOut))
	}
}

// deliver hands the result of the call tag to its caller.
func (q *completionQueue) deliver(res *C.char, tag uint64) {
	q.mu.Lock()
	ch := q.calls[tag]
	delete(q.calls, tag)
	q.mu.Unlock()
	if ch == nil { // not reached: every tag is registered before its call starts
		C.altogic_string_free(res)
		return
	}
	ch <- res // buffered: never blocks
}

// call starts op in the library on the queue and waits for its result: the task call's
// JSON answer, or (refused non-nil) the APIError of a call that could not be started.
// When done is closed meanwhile, it triggers token (non-nil then), and the result, most
// likely "cancelled", comes within milliseconds.
func (q *completionQueue) call(c *Client, op int, cArg *C.char, timeoutMs C.uint64_t, token *C.AltogicCancel, done <-chan struct{}) (res, refused *C.char) {
	ch := resultChans.Get().(chan *C.char)
	q.mu.Lock()
	q.next++
	tag := q.next
	q.calls[tag] = ch // before the start: the result may come out at once
	q.mu.Unlock()
	cTag := C.uint64_t(tag)
	switch op {
	case opRunOnce:
		refused = C.altogic_task_run_once_start(c.ptr, cArg, q.ptr, cTag, token)
	case opGetStatus:
		refused = C.altogic_task_get_status_start(c.ptr, cArg, q.ptr, cTag, token)
	default:
		refused = C.altogic_task_wait_start(c.ptr, cArg, timeoutMs, q.ptr, cTag, token)
	}
	if refused != nil { // nothing was started, and nothing will come
		q.mu.Lock()
		delete(q.calls, tag)
		q.mu.Unlock()
		resultChans.Put(ch)
		return nil, refused
	}
	// Watching done here rather than through context.AfterFunc saves what that allocates
	// for each call (about 350 bytes of a waiting call's 1.6 KB of Go heap, its goroutine
	// included) and a goroutine to run it.
	select {
	case res = <-ch:
	case <-done: // nil, and never ready, when there is no token
		C.altogic_cancel_trigger(token)
		res = <-ch
	}
	resultChans.Put(ch)
	return res, nil
}

// invoke makes the library call for op, through the queue or as a blocking call (see
// the top of this file), and returns its answer; refused is set instead when a queued
// call could not be started.
func (c *Client) invoke(ctx context.Context, op int, cArg *C.char, timeoutMs C.uint64_t, token *C.AltogicCancel) (res, refused *C.char) {
	if op != opWait {
		shortCalls.Add(1)
		defer shortCalls.Add(-1)
		if blockingFits() {
			return c.blockingCall(ctx, op, cArg, timeoutMs, token), nil
		}
	}
	if q := sharedQueue(); q != nil {
		if op != opWait {
			queuedShortCalls.Add(1)
			defer queuedShortCalls.Add(-1)
		}
		return q.call(c, op, cArg, timeoutMs, token, ctx.Done())
	}
	return c.blockingCall(ctx, op, cArg, timeoutMs, token), nil // no queue
}

// blockingCall makes op's blocking library call. The goroutine stays inside it until it
// returns, so context.AfterFunc triggers token (NULL: not cancellable) if ctx is done
// meanwhile.
func (c *Client) blockingCall(ctx context.Context, op int, cArg *C.char, timeoutMs C.uint64_t, token *C.AltogicCancel) (res *C.char) {
	if token != nil {
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			C.altogic_cancel_trigger(token)
			close(fired)
		})
		// The caller frees the token next: if the AfterFunc has started, let it finish.
		defer func() {
			if !stop() {
				<-fired
			}
		}()
	}
	switch op {
	case opRunOnce:
		return C.altogic_task_run_once_cancellable(c.ptr, cArg, token)
	case opGetStatus:
		return C.altogic_task_get_status_cancellable(c.ptr, cArg, token)
	default:
		return C.altogic_task_wait_cancellable(c.ptr, cArg, timeoutMs, token)
	}
}
