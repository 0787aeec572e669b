//go:build cgo

package altogic

/*
#include <stdlib.h>
#include <string.h>
#include "altogic.h"
*/
import "C"

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Every task call goes through the library's completion queue.
//
// A goroutine inside a cgo call holds its OS thread until the call returns, so 3,000
// goroutines waiting in the library's blocking calls made some 2,000 threads (Go aborts past
// 10,000), and a blocking call cannot return before the library does. Instead each call is
// started in the library (altogic_task_*_start), which returns at once, and its result is
// read later from a completion queue (AltogicQueue). The process has one queue and one
// goroutine reading it: that goroutine waits for the queue's descriptor through Go's poller
// (epoll), which parks it without a thread, drains the queue with altogic_queue_next(queue,
// 0) and hands each result to its caller over the channel registered under the call's tag.
// The caller, meanwhile, is parked in a select on that channel and on its ctx.Done(), so it
// returns as soon as ctx is done, as net/http does, without waiting for the library.
//
// A call abandoned that way is cancelled behind its caller: the caller triggers its
// cancellation token and leaves the token to the reading goroutine, which frees the late
// result and then the token when the result comes out (within milliseconds of the trigger).
// The token is thus freed only once the library is done with the call, whatever the library
// does with its own reference.
//
// A watch (watch.go) is one call with several results: each status change, then the wait's
// own result, marked final. Its waiter keeps a watchState, where the reading goroutine
// appends each result (under the queue's lock) and signals its caller; the call stays in
// the map until its final result came out. A watch abandoned by its caller (its ctx done,
// or the loop left early) is cancelled as other calls are: the caller triggers its token,
// frees the results it did not take, and marks the watch abandoned; the reading goroutine
// then frees each late result, and the token with the final one.
//
// If the queue cannot be made (the process is out of descriptors), the call fails with the
// library's error and the next call tries again: a blocking fallback would bring back a
// second way of calling, and of cancelling, for a process that is failing anyway.

// waiter is where the result of one started call goes.
type waiter struct {
	// ch receives the result; nil once the caller abandoned the call (its ctx was done
	// first), and then the reading goroutine frees the result and token.
	ch    chan *C.char
	token *C.AltogicCancel
	// watch is a watch's, which has several results (ch and token are unused then).
	watch *watchState
}

// watchState is where the results of one watch go.
type watchState struct {
	q   *completionQueue
	tag uint64
	// token is the watch's, always one: leaving the loop early cancels the watch.
	token *C.AltogicCancel
	// ready receives a value (if it has none) when a result is added to results.
	ready chan struct{}

	// Guarded by q.mu.
	results   []watchResult // come out of the queue, not yet taken by the caller
	abandoned bool          // the caller left: the reading goroutine frees what comes
}

// watchResult is one result of a watch.
type watchResult struct {
	res   *C.char
	final bool
}

// completionQueue is the process's AltogicQueue and the calls waiting for its results.
type completionQueue struct {
	ptr *C.AltogicQueue
	// fd is the library's descriptor, never read, registered or closed here (the poller
	// watches a duplicate of it).
	fd int
	// withoutPoller: the goroutine always waits in the library (set by a test).
	withoutPoller bool
	// tagOut receives altogic_queue_next's tag: C memory, used by the reading goroutine only.
	tagOut *C.uint64_t

	mu    sync.Mutex
	calls map[uint64]waiter // by tag: started calls whose result has not come out
	next  uint64            // the last tag given
}

var (
	queueMu     sync.Mutex
	queueShared atomic.Pointer[completionQueue]
)

// resultChans recycles the one-result channels: each receives exactly one result, which
// its caller takes before putting it back, or none when its caller abandoned the call.
var resultChans = sync.Pool{New: func() any { return make(chan *C.char, 1) }}

// sharedQueue returns the process's queue, made (and its reading goroutine started) on
// first use; the library's error when it cannot be made, and then the next call tries again.
func sharedQueue() (*completionQueue, error) {
	if q := queueShared.Load(); q != nil {
		return q, nil
	}
	queueMu.Lock()
	defer queueMu.Unlock()
	if q := queueShared.Load(); q != nil {
		return q, nil
	}
	q, err := newCompletionQueue()
	if err != nil {
		return nil, err
	}
	queueShared.Store(q)
	go q.read()
	return q, nil
}

func newCompletionQueue() (*completionQueue, error) {
	var cErr *C.char
	ptr := C.altogic_queue_new(&cErr)
	if ptr == nil {
		return nil, decodeError(takeString(cErr))
	}
	return &completionQueue{
		ptr:    ptr,
		fd:     int(C.altogic_queue_fd(ptr)),
		tagOut: (*C.uint64_t)(C.malloc(C.sizeof_uint64_t)),
		calls:  make(map[uint64]waiter),
	}, nil
}

// read is the queue's goroutine, for the life of the process.
//
// In the poller: RawConn.Read calls the function, and each time it answers false parks the
// goroutine until the descriptor becomes readable, without ever reading it. The poller is
// edge-triggered; the library makes each change of its queue from empty to not empty an
// edge, and an edge that comes while drain runs makes the next wait return at once: no
// result is missed.
//
// Where the poller cannot watch the descriptor (no descriptor, or one it refuses), the
// goroutine waits in altogic_queue_next instead, holding one OS thread for the queue.
func (q *completionQueue) read() {
	if !q.withoutPoller {
		q.waitInPoller()
	}
	for {
		q.waitInLibrary()
	}
}

// waitInPoller delivers results as they come through Go's poller; it returns only when the
// poller cannot watch the queue's descriptor.
func (q *completionQueue) waitInPoller() {
	file := pollerFile(q.fd) // queue_unix.go
	if file == nil {
		return
	}
	defer file.Close()
	conn, err := file.SyscallConn()
	if err != nil {
		return
	}
	// Read returns only with an error: the poller refused the descriptor (the file is not
	// closed before Read returns), after drain ran, so no result was missed.
	conn.Read(func(uintptr) bool {
		q.drain()
		return false
	})
}

// waitInLibrary waits in altogic_queue_next for one result and delivers it.
//
// Then it yields: the caller it just made runnable runs at once on this thread, whose
// processor would otherwise sit in the next cgo call with the caller queued on it until
// another thread, woken for it, took it over (measured against nginx on 2 CPUs: 2-8% more
// calls per second with 4 goroutines, 13-14% with 8).
func (q *completionQueue) waitInLibrary() {
	if res := C.altogic_queue_next(q.ptr, C.ALTOGIC_WAIT_FOREVER, q.tagOut); res != nil {
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

// deliver hands the result of the call tag to its caller, or frees it (and the call's
// token) when the caller abandoned the call.
func (q *completionQueue) deliver(res *C.char, tag uint64) {
	q.mu.Lock()
	w := q.calls[tag]
	if w.watch != nil {
		q.mu.Unlock()
		w.watch.deliver(res)
		return
	}
	delete(q.calls, tag)
	q.mu.Unlock()
	if w.ch == nil {
		// Abandoned: the caller triggered the token before leaving it here, and the
		// library, having answered, no longer uses it.
		C.altogic_string_free(res)
		if w.token != nil {
			C.altogic_cancel_free(w.token)
		}
		return
	}
	w.ch <- res // buffered: never blocks
}

// call starts op in the library on the queue and waits for its result or for done,
// whichever comes first. It answers the task call's JSON answer (res); or refused, the
// APIError of a call that could not be started; or abandoned, when done came first: the
// call is then cancelled behind the caller, and its result will be freed unread.
//
// call takes token (NULL when done is nil): it frees it, or leaves it to the reading
// goroutine for an abandoned call.
func (q *completionQueue) call(c *Client, op int, cArg *C.char, timeoutMs C.uint64_t, token *C.AltogicCancel, done <-chan struct{}) (res, refused *C.char, abandoned bool) {
	ch := resultChans.Get().(chan *C.char)
	q.mu.Lock()
	q.next++
	tag := q.next
	q.calls[tag] = waiter{ch: ch} // before the start: the result may come out at once
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
		freeToken(token)
		return nil, refused, false
	}
	// Watching done here rather than through context.AfterFunc saves what that allocates
	// for each call (about 350 bytes of a waiting call's 1.6 KB of Go heap, its goroutine
	// included) and a goroutine to run it.
	select {
	case res = <-ch:
	case <-done: // nil, and never ready, when there is no token
		// Triggered while the token is surely alive: only this goroutine frees it until
		// it is handed over below.
		C.altogic_cancel_trigger(token)
		q.mu.Lock()
		_, pending := q.calls[tag]
		if pending {
			q.calls[tag] = waiter{token: token}
		}
		q.mu.Unlock()
		if pending {
			resultChans.Put(ch) // empty, and out of the map: nothing will be sent on it
			return nil, nil, true
		}
		res = <-ch // the reader took the result first and has sent it, or is about to
	}
	resultChans.Put(ch)
	freeToken(token)
	return res, nil, false
}

func freeToken(token *C.AltogicCancel) {
	if token != nil {
		C.altogic_cancel_free(token)
	}
}

// startWatch starts a watch of the execution cArg on the queue (altogic_task_watch_start),
// which takes token (never NULL): it is freed when the watch ends (watchState.finish,
// watchState.abandon), or here when the library refuses the start (then refused is the
// library's APIError, and w is nil).
func (q *completionQueue) startWatch(c *Client, cArg *C.char, timeoutMs C.uint64_t, token *C.AltogicCancel) (w *watchState, refused *C.char) {
	w = &watchState{q: q, token: token, ready: make(chan struct{}, 1)}
	q.mu.Lock()
	q.next++
	w.tag = q.next
	q.calls[w.tag] = waiter{watch: w} // before the start: results may come out at once
	q.mu.Unlock()
	refused = C.altogic_task_watch_start(c.ptr, cArg, timeoutMs, q.ptr, C.uint64_t(w.tag), token)
	if refused != nil { // nothing was started, and nothing will come
		q.mu.Lock()
		delete(q.calls, w.tag)
		q.mu.Unlock()
		freeToken(token)
		return nil, refused
	}
	return w, nil
}

// deliver (the reading goroutine) adds a result to the watch, or frees it when the caller
// left; the final result ends the watch in the queue's map.
func (w *watchState) deliver(res *C.char) {
	final := isFinal(res)
	q := w.q
	q.mu.Lock()
	if final {
		delete(q.calls, w.tag)
	}
	if w.abandoned {
		q.mu.Unlock()
		C.altogic_string_free(res)
		if final {
			// The caller triggered the token before it left, and the library, having
			// answered, no longer uses it.
			C.altogic_cancel_free(w.token)
		}
		return
	}
	w.results = append(w.results, watchResult{res, final})
	q.mu.Unlock()
	select {
	case w.ready <- struct{}{}:
	default: // already signalled
	}
}

// Ends of a watch's results (altogic_task_watch_start): each is its envelope plus "final".
var (
	finalTrue  = []byte(`,"final":true}`)
	finalFalse = []byte(`,"final":false}`)
)

// isFinal reports whether a watch's result is its last: the library writes "final" as the
// object's last field; if it ever did not, the field is looked up in the whole text.
func isFinal(res *C.char) bool {
	n := int(C.strlen(res))
	text := unsafe.Slice((*byte)(unsafe.Pointer(res)), n)
	switch {
	case bytes.HasSuffix(text, finalTrue):
		return true
	case bytes.HasSuffix(text, finalFalse):
		return false
	}
	pointer := C.CString("/final")
	defer C.free(unsafe.Pointer(pointer))
	value := C.altogic_json_get(res, pointer)
	if value == nil { // no "final": taken as final, so that nothing waits for more
		return true
	}
	defer C.altogic_string_free(value)
	return C.GoString(value) != "false"
}

// next returns the watch's next result, waiting for it, or ok false as soon as done is
// closed (unless the result that came is the final one). The caller owns the result.
func (w *watchState) next(done <-chan struct{}) (r watchResult, ok bool) {
	q := w.q
	for {
		q.mu.Lock()
		if len(w.results) > 0 {
			r = w.results[0]
			w.results[0] = watchResult{}
			w.results = w.results[1:]
			q.mu.Unlock()
			if !r.final && isDone(done) {
				C.altogic_string_free(r.res)
				return watchResult{}, false
			}
			return r, true
		}
		q.mu.Unlock()
		select {
		case <-w.ready:
		case <-done: // nil when ctx can never be done
			return watchResult{}, false
		}
	}
}

func isDone(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// finish ends a watch whose final result the caller took: nothing more will come.
func (w *watchState) finish() {
	freeToken(w.token)
}

// abandon ends a watch before its final result was taken: the library's wait is cancelled
// behind the caller, the results not taken are freed, and those to come, with the token,
// are left to the reading goroutine.
func (w *watchState) abandon() {
	// Triggered while the token is surely alive: the reading goroutine frees it only once
	// the watch is marked abandoned below.
	C.altogic_cancel_trigger(w.token)
	q := w.q
	q.mu.Lock()
	w.abandoned = true
	_, pending := q.calls[w.tag]
	left := w.results
	w.results = nil
	q.mu.Unlock()
	for _, r := range left {
		C.altogic_string_free(r.res)
	}
	if !pending { // the final result came out: the reading goroutine is done with it
		freeToken(w.token)
	}
	// Otherwise the token is the reading goroutine's now: w.token is not touched again.
}
