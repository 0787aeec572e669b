//go:build cgo

package altogic

// #include <stdlib.h>
// #include "altogic.h"
import "C"

import (
	"context"
	"iter"
	"time"
	"unsafe"
)

// Watch follows the execution taskID to its end: ranging over it yields each status as the
// wait's polls find it change (the first one found, then each new one, with a nil error),
// and last what [Client.Wait] would return: the final TaskInfo (Status StatusCompleted or
// StatusErrors), or the error that ended the wait, with the last TaskInfo seen when the
// wait reached ctx's deadline ([ErrTimeout]), or nil for an execution the service does
// not keep ([ErrExecutionNotFound]) or a cancelled ctx ([ErrCancelled]). Nothing follows a
// non-nil error.
//
//	for info, err := range client.Watch(ctx, taskID) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(info.Status) // pending, processing, completed
//	}
//
// The statuses come from the wait's own polls (altogic_task_watch_start): watching costs
// no request beyond what Wait makes, and its backoff, retries and bounds (ctx alone bounds
// it; see Wait) are the same. Leaving the loop early (break, return, a panic) or ctx being
// done cancels the library's wait behind the caller, at once, as for Wait; the results
// still to come are freed when they come out. Each range over the returned sequence starts
// a watch of its own.
func (c *Client) Watch(ctx context.Context, taskID string) iter.Seq2[*TaskInfo, error] {
	return func(yield func(*TaskInfo, error) bool) {
		c.watch(ctx, taskID, yield)
	}
}

func (c *Client) watch(ctx context.Context, taskID string, yield func(*TaskInfo, error) bool) {
	if err := checkNUL("task_id", taskID); err != nil {
		yield(nil, err)
		return
	}
	if !c.acquire() {
		yield(nil, closedError())
		return
	}
	defer c.release()
	c.syncLogLevel()        // log.go
	q, err := sharedQueue() // queue.go
	if err != nil {
		yield(nil, err)
		return
	}
	if ctx.Err() != nil {
		// Already done: nothing is sent, as the library would send nothing.
		yield(nil, cancelledError(ctx, opWatch, 0))
		return
	}
	// A token even for a ctx that can never be done: leaving the loop cancels the watch.
	token := C.altogic_cancel_new()
	if token == nil {
		yield(nil, clientError("internal_error", "out of memory: no cancellation token"))
		return
	}
	started := time.Now()
	timeoutMs, waitDeadline := waitTimeout(ctx) // client.go
	cArg := C.CString(taskID)                   // copied by the library's start
	w, refused := q.startWatch(c, cArg, timeoutMs, token)
	C.free(unsafe.Pointer(cArg))
	if refused != nil {
		yield(nil, decodeError(takeString(refused)))
		return
	}

	ended := false // finish or abandon ran
	defer func() {
		if !ended { // the loop was left early, or yield panicked
			w.abandon()
		}
	}()
	done := ctx.Done()
	for {
		r, ok := w.next(done)
		if !ok {
			ended = true
			w.abandon()
			yield(nil, cancelledError(ctx, opWatch, time.Since(started)))
			return
		}
		info, err := decodeResult(takeString(r.res))
		if r.final {
			ended = true
			w.finish()
			if err != nil && done != nil {
				withContext(ctx, err.(*APIError), waitDeadline) // client.go
			}
			yield(info, err)
			return
		}
		if err != nil || info == nil {
			// Not reached: a status change is always a TaskInfo.
			if err == nil {
				err = clientError("internal_error", "the library answered a status change without a TaskInfo")
			}
			yield(nil, err)
			return // the deferred abandon ends the watch
		}
		if !yield(info, nil) {
			return
		}
	}
}
