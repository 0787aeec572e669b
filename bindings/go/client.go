//go:build cgo

package altogic

/*
#include <stdlib.h>
#include <string.h>
#include "altogic.h"
*/
import "C"

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// Client is a client of one Altogic app environment. Make it with [NewClient] and release
// it with [Client.Close].
//
// A Client is safe for use by any number of goroutines at once, and its calls run
// concurrently. Every call runs on the library's completion queue (queue.go): no call holds
// an OS thread while it waits for the service, so thousands of goroutines calling at once
// need only a few threads, and a call returns as soon as its context is done. Close may be
// called at any time, even while calls are running.
type Client struct {
	ptr *C.AltogicClient
	// state is the number of calls using ptr, plus closedBit once Close was called. The
	// library's client is freed when both are true: closed, and no call in flight. A
	// reference count rather than a lock, so that Close never waits for calls in flight
	// (a Wait may last as long as its task) and calls never wait for each other.
	state atomic.Int64

	// logger is WithLogger's, nil for slog.Default(); id is the library's number of the
	// client, which its log records carry; logLevel is the level logger was last found
	// enabled for, -1 when it is not counted (log.go).
	logger   *slog.Logger
	id       uint64
	logLevel atomic.Int32
}

// closedBit marks a closed Client in Client.state; the low bits count calls in flight.
const closedBit = int64(1) << 62

// Version returns the library's version (semver), e.g. "1.0.0".
func Version() string {
	return C.GoString(C.altogic_version())
}

// NewClient creates a client of the app environment at envURL (e.g.
// "https://myapp.c1-na.altogic.com"), sending clientKey in X-Client-Key on every request.
//
// The library checks every argument and option and answers an [*APIError] matching
// [ErrInvalidArgument] for bad ones (an empty envURL or clientKey, a URL that is not
// http(s), CR or LF in a key, a negative timeout...). Creating a client is cheap: it opens
// no connection. The library runs the calls of every client of the process (queue.go) and
// keeps their connections alive for reuse ([WithIdleTimeout]).
func NewClient(envURL, clientKey string, opts ...Option) (*Client, error) {
	if err := checkNUL("env_url", envURL); err != nil {
		return nil, err
	}
	if err := checkNUL("client_key", clientKey); err != nil {
		return nil, err
	}
	options, err := optionsJSON(opts)
	if err != nil {
		return nil, err
	}
	cURL := C.CString(envURL)
	defer C.free(unsafe.Pointer(cURL))
	cKey := C.CString(clientKey)
	defer C.free(unsafe.Pointer(cKey))
	var cOptions *C.char
	if options != "" {
		cOptions = C.CString(options)
		defer C.free(unsafe.Pointer(cOptions))
	}
	var cErr *C.char
	ptr := C.altogic_client_new(cURL, cKey, cOptions, &cErr)
	if ptr == nil {
		return nil, decodeError(takeString(cErr))
	}
	c := &Client{ptr: ptr, logger: loggerOf(opts)}
	c.logStart() // log.go
	// A safety net only: a Client dropped without Close is freed by the garbage
	// collector. Programs should call Close.
	runtime.SetFinalizer(c, (*Client).Close)
	return c, nil
}

// Close releases the client. It is idempotent, never blocks and always returns nil. Calls
// already running finish normally (the library's client is freed when the last of them
// returns); calls made after Close fail with an error matching [ErrClosed].
func (c *Client) Close() error {
	for {
		s := c.state.Load()
		if s&closedBit != 0 {
			return nil
		}
		if c.state.CompareAndSwap(s, s|closedBit) {
			runtime.SetFinalizer(c, nil)
			if s == 0 {
				c.free()
			}
			return nil
		}
	}
}

// acquire registers a call on c; it fails once c is closed. Every successful acquire is
// followed by one release.
func (c *Client) acquire() bool {
	for {
		s := c.state.Load()
		if s&closedBit != 0 {
			return false
		}
		if c.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// release ends a call registered by acquire, and frees the library's client when it was
// the last call of a closed Client.
func (c *Client) release() {
	if c.state.Add(-1) == closedBit {
		c.free()
	}
	// The finalizer (Close) may run as soon as c is unreachable, and the compiler
	// considers c unreachable after its last use, which may come before the C call that
	// uses c.ptr has returned. Keeping c alive until here, after the call, means the
	// finalizer can never free the library's client under a running call.
	runtime.KeepAlive(c)
}

// free frees the library's client, once: closed, and no call in flight.
func (c *Client) free() {
	C.altogic_client_free(c.ptr)
	c.logEnd() // log.go
}

// The task calls, all made through call but opWatch (watch.go).
const (
	opRunOnce = iota
	opGetStatus
	opWait
	opWatch
)

// RunOnce runs the scheduled task named (or with the id) nameOrID now, ahead of its
// schedule and without changing it. On success the TaskInfo's Status is StatusPending and
// its TaskID identifies this execution.
//
// When ctx is done before the answer arrives the call returns at once with an error
// matching ctx.Err() and [ErrCancelled], and the library's call is cancelled behind it; the
// task may still have run, since the service may have received the request.
func (c *Client) RunOnce(ctx context.Context, nameOrID string) (*TaskInfo, error) {
	return c.call(ctx, opRunOnce, "task_name_or_id", nameOrID)
}

// GetStatus reads the status of the execution taskID. It returns nil, nil when the service
// no longer keeps the execution (it keeps them for seven days).
//
// When ctx is done before the answer arrives the call returns at once with an error
// matching ctx.Err() and [ErrCancelled], and the library's call is cancelled behind it.
func (c *Client) GetStatus(ctx context.Context, taskID string) (*TaskInfo, error) {
	return c.call(ctx, opGetStatus, "task_id", taskID)
}

// Wait waits for the execution taskID to end, polling its status (with the library's backoff,
// which altogic_task_wait in altogic.h describes; transient failures retried), and returns its
// final TaskInfo: Status StatusCompleted or StatusErrors. An execution the service does not
// keep (an unknown id, or one older than its retention) is the library's error
// "execution_not_found", matching [ErrExecutionNotFound], with no TaskInfo.
//
// ctx alone bounds the wait; there is no timeout argument, and no zero timeout: with no
// deadline and no cancellation (context.Background()) it lasts until the execution ends or a
// non-transient error (401, 404, ...) ends it. A ctx already done (cancelled, or past its
// deadline) returns at once, nothing sent, with an error matching [ErrCancelled] and
// ctx.Err() (context.DeadlineExceeded for a deadline). A deadline closer than the time one
// poll takes still makes one poll, bounded by the deadline.
//
// When ctx has a deadline, the time left (less 2 ms) is the library's own timeout for the
// wait, so that a wait reaching the deadline returns the last TaskInfo it saw together
// with an error matching [ErrTimeout] and context.DeadlineExceeded. (On a machine too
// loaded for the library's answer to come before the deadline, the wait returns at the
// deadline without it: the error matches [ErrCancelled] and context.DeadlineExceeded, and
// there is no TaskInfo.) When ctx is cancelled, the wait returns at once with an error
// matching [ErrCancelled] and context.Canceled. Either way the library's wait is cancelled
// behind it.
func (c *Client) Wait(ctx context.Context, taskID string) (*TaskInfo, error) {
	return c.call(ctx, opWait, "task_id", taskID)
}

// waitMargin: the library's own wait deadline is set this much before ctx's, so that a
// wait reaching the deadline usually ends through the library's timeout (which reports
// the last TaskInfo) rather than through ctx (which cannot).
const waitMargin = 2 * time.Millisecond

// opNames are the calls' names in the library's messages.
var opNames = [...]string{opRunOnce: "runOnce", opGetStatus: "getTaskStatus", opWait: "wait", opWatch: "watch"}

// call makes one task call. The library does the work; what is done here is Go's part:
// the C strings, the cancellation token tied to ctx, and turning the answer into Go values.
func (c *Client) call(ctx context.Context, op int, argument, arg string) (*TaskInfo, error) {
	if err := checkNUL(argument, arg); err != nil {
		return nil, err
	}
	if !c.acquire() {
		return nil, closedError()
	}
	// Released when this returns, even if the library's call runs on: the started call
	// holds a reference of its own to the library's client.
	defer c.release()
	c.syncLogLevel()        // log.go
	q, err := sharedQueue() // queue.go
	if err != nil {
		return nil, err
	}

	// The fast path: a context that can never be done needs no token (NULL).
	var token *C.AltogicCancel
	var started time.Time
	done := ctx.Done()
	if done != nil {
		if ctx.Err() != nil {
			// Already done: nothing is sent, as the library would send nothing.
			return nil, cancelledError(ctx, op, 0)
		}
		token = C.altogic_cancel_new()
		if token == nil {
			return nil, clientError("internal_error", "out of memory: no cancellation token")
		}
		started = time.Now()
	}

	var timeoutMs C.uint64_t
	waitDeadline := false
	if op == opWait {
		timeoutMs, waitDeadline = waitTimeout(ctx)
	}
	cArg := C.CString(arg) // copied by the library's start
	res, refused, abandoned := q.call(c, op, cArg, timeoutMs, token, done)
	C.free(unsafe.Pointer(cArg))

	if refused != nil {
		return nil, decodeError(takeString(refused))
	}
	if abandoned {
		return nil, cancelledError(ctx, op, time.Since(started))
	}
	info, err := decodeResult(takeString(res))
	if err != nil && done != nil {
		withContext(ctx, err.(*APIError), waitDeadline)
	}
	return info, err
}

// waitTimeout is the library's timeout_ms for a wait bounded by ctx: the time left until
// its deadline less waitMargin, and whether there is a deadline; ALTOGIC_WAIT_FOREVER
// without one.
func waitTimeout(ctx context.Context) (timeoutMs C.uint64_t, waitDeadline bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return C.uint64_t(C.ALTOGIC_WAIT_FOREVER), false
	}
	if left := time.Until(deadline) - waitMargin; left > 0 {
		return C.uint64_t(left / time.Millisecond), true
	}
	return 0, true // polls once; ctx ends it at the deadline
}

// withContext makes the library's error of a call ctx ended (cancelled, or a wait's
// timeout at ctx's deadline) wrap ctx's error and cause.
func withContext(ctx context.Context, apiErr *APIError, waitDeadline bool) {
	done := ctx.Done()
	switch {
	case apiErr.HasCode("cancelled") && ctx.Err() != nil:
		apiErr.ctxErr, apiErr.cause = ctx.Err(), context.Cause(ctx)
	case waitDeadline && apiErr.HasCode("timeout"):
		// The library's wait ended at ctx's deadline less waitMargin: let ctx reach
		// its deadline too, so that errors.Is(err, ctx.Err()) holds on return. (ctx's
		// timer may fire some milliseconds late on a loaded machine: wait for it.)
		deadline, _ := ctx.Deadline()
		select {
		case <-done:
		case <-time.After(time.Until(deadline) + 50*time.Millisecond):
		}
		apiErr.ctxErr, apiErr.cause = ctx.Err(), context.Cause(ctx)
		if apiErr.ctxErr == nil { // not reached: the library keeps to its deadline
			apiErr.ctxErr, apiErr.cause = context.DeadlineExceeded, nil
		}
	}
}

// cancelledError is the error of a call that ctx ended before the library answered, in the
// shape of the library's own "cancelled" error.
func cancelledError(ctx context.Context, op int, elapsed time.Duration) error {
	e := clientError("cancelled", fmt.Sprintf("%s was cancelled after %d ms: %v",
		opNames[op], elapsed.Milliseconds(), ctx.Err()))
	e.ctxErr, e.cause = ctx.Err(), context.Cause(ctx)
	return e
}

// SetSession sets the session token sent in the Session header; "" clears it. The library
// refuses a token it cannot send in a header (an error matching [ErrInvalidArgument]) and
// leaves the session unchanged then. Calls already running keep the token they were sent
// with. The library also clears the session when the service answers
// invalid_session_token or missing_session_token.
func (c *Client) SetSession(token string) error {
	if err := checkNUL("session_token", token); err != nil {
		return err
	}
	if !c.acquire() {
		return closedError()
	}
	var cToken *C.char
	if token != "" {
		cToken = C.CString(token)
		defer C.free(unsafe.Pointer(cToken))
	}
	res := C.altogic_client_set_session(c.ptr, cToken)
	c.release()
	if res != nil {
		return decodeError(takeString(res))
	}
	return nil
}

// Session returns the current session token, or "" when there is none or the client is
// closed.
func (c *Client) Session() string {
	if !c.acquire() {
		return ""
	}
	res := C.altogic_client_get_session(c.ptr)
	c.release()
	return string(takeString(res))
}

// takeString copies a string the library returned into Go memory and frees it with
// altogic_string_free. NULL gives nil.
func takeString(s *C.char) []byte {
	if s == nil {
		return nil
	}
	b := C.GoBytes(unsafe.Pointer(s), C.int(C.strlen(s)))
	C.altogic_string_free(s)
	return b
}

// checkNUL refuses a string holding a NUL byte, which a C string cannot carry: the
// library would see it cut short. argument is the C API's name of the argument.
func checkNUL(argument, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return argumentError(argument, "contains a NUL byte, which the library cannot receive")
	}
	return nil
}
