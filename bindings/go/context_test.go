//go:build cgo

package altogic_test

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

// The bound checked when a context ends a call. The library returns within milliseconds
// (about 20 ms at most; the C suite and the benchmarks print the figures); this bound is
// generous so that a loaded machine, cgocheck2 or the race detector cannot make the tests
// flaky (200 ms was once exceeded with three builds sharing the two cores), yet far below
// the 5 s the calls would last.
const cancelBound = time.Second

// wantCancelled checks an error of a call its context ended.
func wantCancelled(t testing.TB, err error, ctx context.Context) {
	t.Helper()
	if ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
		t.Fatalf("error %v does not match ctx.Err() = %v", err, ctx.Err())
	}
	apiErr := asAPIError(t, err)
	if !apiErr.HasCode("cancelled") && !apiErr.HasCode("timeout") {
		t.Fatalf("error %v has neither code cancelled nor timeout", err)
	}
	if apiErr.HasCode("cancelled") && !errors.Is(err, altogic.ErrCancelled) {
		t.Fatalf("error %v does not match ErrCancelled", err)
	}
}

func TestCancelWait(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "slowReport")
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(bg)
	var cancelledAt time.Time
	time.AfterFunc(300*time.Millisecond, func() { cancelledAt = time.Now(); cancel() })
	got, err := c.Wait(ctx, info.TaskID)
	late := time.Since(cancelledAt)
	if got != nil {
		t.Errorf("a cancelled wait answered %+v", got)
	}
	wantCancelled(t, err, ctx)
	wantCode(t, err, 0, "cancelled")
	if !errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, altogic.ErrTimeout) {
		t.Errorf("error %v matches the wrong kinds", err)
	}
	t.Logf("Wait returned %v after cancel()", late)
	if late > cancelBound {
		t.Errorf("Wait returned %v after cancel(), want < %v", late, cancelBound)
	}
	checkGoroutines(t, before)
}

func TestCancelCause(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "slowReport")
	ctx, cancel := context.WithCancelCause(bg)
	cause := errors.New("shutting down")
	time.AfterFunc(50*time.Millisecond, func() { cancel(cause) })
	_, err := c.Wait(ctx, info.TaskID)
	if !errors.Is(err, cause) || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v does not match the cause and context.Canceled", err)
	}
}

// A deadline ends a wait through the library's own timeout, which reports the last
// TaskInfo seen, or (on a loaded machine) through the token: either way the error matches
// context.DeadlineExceeded.
func TestWaitDeadline(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "slowReport")
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(bg, 400*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	last, err := c.Wait(ctx, info.TaskID)
	late := time.Since(deadline)
	wantCancelled(t, err, ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v does not match context.DeadlineExceeded", err)
	}
	if late > cancelBound || late < -5*time.Millisecond {
		t.Errorf("Wait returned %v after the deadline", late)
	}
	apiErr := asAPIError(t, err)
	if apiErr.HasCode("timeout") {
		if !errors.Is(err, altogic.ErrTimeout) || last == nil || last.TaskID != info.TaskID || last.Done() {
			t.Fatalf("a wait's timeout: %v, last TaskInfo %+v", err, last)
		}
		t.Logf("deadline: library timeout %v after it, last status %s", late, last.Status)
	} else {
		t.Logf("deadline: token %v after it (%v)", late, err)
	}
	checkGoroutines(t, before)
}

// A deadline shorter than the wait margin still ends the wait at the deadline.
func TestWaitTinyDeadline(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "slowReport")
	for _, d := range []time.Duration{-time.Second, 0, time.Millisecond, 3 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(bg, d)
		start := time.Now()
		_, err := c.Wait(ctx, info.TaskID)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ctx.Err()) {
			t.Fatalf("deadline %v: %v", d, err)
		}
		if elapsed := time.Since(start); elapsed > cancelBound {
			t.Errorf("deadline %v: returned after %v", d, elapsed)
		}
	}
}

// A context already done: the call returns at once and sends nothing.
func TestAlreadyCancelled(t *testing.T) {
	c := demoClient(t)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	before := executions(t, "billOnDemand")
	for i := 0; i < 20; i++ {
		_, err := c.RunOnce(ctx, "billOnDemand")
		wantCancelled(t, err, ctx)
	}
	if after := executions(t, "billOnDemand"); after != before {
		t.Fatalf("a cancelled RunOnce ran the task (%d executions, then %d)", before, after)
	}
	_, err := c.GetStatus(ctx, unknownTaskID)
	wantCancelled(t, err, ctx)
	// A wait names itself, not the poll it did not make.
	_, err = c.Wait(ctx, unknownTaskID)
	wantCancelled(t, err, ctx)
	if message := err.(*altogic.APIError).Items[0].Message; !strings.HasPrefix(message, "wait was cancelled") {
		t.Errorf("Wait with a done context: %q", message)
	}
}

// Cancelling RunOnce, GetStatus and Wait while they wait for an answer that never comes:
// each returns at its deadline, long before the client's own timeout.
func TestCancelStalledCall(t *testing.T) {
	c := newClient(t, stallingServer(t), demoKey, altogic.WithTimeout(10*time.Second))
	before := runtime.NumGoroutine()
	for name, call := range stalledCalls(c) {
		ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		elapsed := time.Since(start)
		cancel()
		wantCancelled(t, err, ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v does not match context.DeadlineExceeded", name, err)
		}
		if elapsed > 100*time.Millisecond+cancelBound {
			t.Errorf("%s: a 100 ms deadline returned after %v", name, elapsed)
		}
	}
	waitQueueEmpty(t)
	checkGoroutines(t, before)
}

// stalledCalls are the three calls, by name, with fixed arguments.
func stalledCalls(c *altogic.Client) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"RunOnce":   func(ctx context.Context) error { _, err := c.RunOnce(ctx, "x"); return err },
		"GetStatus": func(ctx context.Context) error { _, err := c.GetStatus(ctx, "x"); return err },
		"Wait":      func(ctx context.Context) error { _, err := c.Wait(ctx, "x"); return err },
	}
}

// waitQueueEmpty fails the test unless every call started on the queue has had its result
// taken (abandoned calls' results freed by the reading goroutine) within a bound.
func waitQueueEmpty(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(2 * cancelBound)
	for altogic.QueuedCalls() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := altogic.QueuedCalls(); n != 0 {
		t.Fatalf("%d calls still in the queue's map (%d abandoned by their callers)", n, altogic.AbandonedCalls())
	}
}

// A call returns as soon as its ctx is done, from its own goroutine, without waiting for
// the library: here nobody takes the queue's results, yet every cancelled call returns.
// Their late results, once the queue is read, are freed by its goroutine.
func TestCancelledCallsReturnBeforeTheLibraryAnswers(t *testing.T) {
	c := newClient(t, stallingServer(t), demoKey, altogic.WithTimeout(10*time.Second))
	read, restore := altogic.UseUnreadQueue()
	defer restore()
	const perCall = 20
	ctx, cancel := context.WithCancel(bg)
	calls := stalledCalls(c)
	errs := make(chan error, perCall*len(calls))
	returned := make(chan time.Time, perCall*len(calls))
	for _, call := range calls {
		for i := 0; i < perCall; i++ {
			go func(call func(context.Context) error) {
				err := call(ctx)
				returned <- time.Now()
				errs <- err
			}(call)
		}
	}
	n := perCall * len(calls)
	deadline := time.Now().Add(5 * time.Second)
	for altogic.QueuedCalls() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := altogic.QueuedCalls(); got != n {
		t.Fatalf("%d calls started, want %d", got, n)
	}
	cancelled := time.Now()
	cancel()
	var slowest time.Duration
	for i := 0; i < n; i++ {
		select {
		case at := <-returned:
			slowest = max(slowest, at.Sub(cancelled))
			wantCancelled(t, <-errs, ctx)
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d calls did not return within 5 s of cancel() while the queue was not read", n-i, n)
		}
	}
	t.Logf("%d calls returned at most %v after cancel()", n, slowest)
	if slowest > cancelBound {
		t.Errorf("cancelled calls returned up to %v after cancel(), want < %v", slowest, cancelBound)
	}
	if got := altogic.AbandonedCalls(); got != n {
		t.Fatalf("%d abandoned calls, want %d: a result was taken though nobody read the queue", got, n)
	}
	if got := altogic.CallsInFlight(c); got != 0 {
		t.Errorf("%d calls still hold the client after they returned", got)
	}
	read()
	waitQueueEmpty(t)
}

// Many concurrent calls cancelled at once, and calls whose ctx ends about when their answer
// comes (the result and the cancellation racing): every one returns, and no call is left
// in the queue's map, nor any goroutine.
func TestManyCancelledCallsLeaveNothing(t *testing.T) {
	stalled := newClient(t, stallingServer(t), demoKey, altogic.WithTimeout(10*time.Second))
	c := demoClient(t)
	before := runtime.NumGoroutine()
	startedBefore := altogic.QueuedStarts()

	const goroutines = 300
	ctx, cancel := context.WithCancel(bg)
	calls := stalledCalls(stalled)
	names := []string{"RunOnce", "GetStatus", "Wait"}
	start := time.Now()
	var wg sync.WaitGroup
	var wrong atomic.Int32
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(call func(context.Context) error) {
			defer wg.Done()
			if err := call(ctx); !errors.Is(err, context.Canceled) || !errors.Is(err, altogic.ErrCancelled) {
				wrong.Add(1)
			}
		}(calls[names[g%3]])
	}
	for altogic.QueuedStarts()-startedBefore < goroutines && time.Since(start) < 5*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	cancelled := time.Now()
	cancel()
	wg.Wait()
	if elapsed := time.Since(cancelled); elapsed > 2*cancelBound {
		t.Errorf("%d stalled calls took %v to return after cancel()", goroutines, elapsed)
	}
	if wrong.Load() != 0 {
		t.Fatalf("%d calls did not end with context.Canceled and ErrCancelled", wrong.Load())
	}

	// Deadlines of 0 to 400 µs against the emulator, which answers in about as long.
	var answered, cancelledCalls atomic.Int32
	inGoroutines(t, 8, func(g int) error {
		for i := 0; i < 50; i++ {
			ctx, cancel := context.WithTimeout(bg, time.Duration((g*50+i)%40)*10*time.Microsecond)
			_, err := c.GetStatus(ctx, unknownTaskID)
			cancel()
			switch {
			case err == nil:
				answered.Add(1)
			case errors.Is(err, altogic.ErrCancelled) && errors.Is(err, context.DeadlineExceeded):
				cancelledCalls.Add(1)
			default:
				return err
			}
		}
		return nil
	})
	t.Logf("racing deadlines: %d answered, %d cancelled", answered.Load(), cancelledCalls.Load())
	waitQueueEmpty(t)
	if n := altogic.CallsInFlight(c) + altogic.CallsInFlight(stalled); n != 0 {
		t.Errorf("%d calls still hold the clients", n)
	}
	checkGoroutines(t, before)
}

// Many calls cancelled at once from many goroutines, sharing one client.
func TestCancelMany(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "slowReport")
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(bg)
	var wg sync.WaitGroup
	var wrong atomic.Int32
	for g := 0; g < 50; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Wait(ctx, info.TaskID); !errors.Is(err, context.Canceled) {
				wrong.Add(1)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	cancel()
	wg.Wait()
	if elapsed := time.Since(start); elapsed > cancelBound {
		t.Errorf("50 waits took %v to end after cancel()", elapsed)
	}
	if wrong.Load() != 0 {
		t.Fatalf("%d waits did not end with context.Canceled", wrong.Load())
	}
	checkGoroutines(t, before)
}

// A context that is never done but can be (WithCancel) and a finished call: the token is
// freed, nothing left behind.
func TestContextNotCancelled(t *testing.T) {
	c := demoClient(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	for i := 0; i < 50; i++ {
		if _, err := c.RunOnce(ctx, "heartbeat"); err != nil {
			t.Fatal(err)
		}
	}
	checkGoroutines(t, before)
}

// GC stress: with the collector running all the time, goroutines make calls while
// clients are created, used, closed or dropped without Close (their finalizers free them).
func TestGCStress(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	shared := demoClient(t)
	stop := time.Now().Add(time.Second)
	inGoroutines(t, 8, func(int) error {
		for i := 0; time.Now().Before(stop); i++ {
			c := shared
			if i%2 == 0 {
				var err error
				if c, err = altogic.NewClient(emulatorURL, demoKey, altogic.WithTimeout(5*time.Second)); err != nil {
					return err
				}
			}
			ctx, cancel := context.WithCancel(bg)
			if i%7 == 3 {
				cancel()
			}
			info, err := c.RunOnce(ctx, "heartbeat")
			switch {
			case err == nil:
				_, err = c.GetStatus(bg, info.TaskID)
			case errors.Is(err, context.Canceled):
				err = nil
			}
			cancel()
			if err != nil {
				return err
			}
			if c != shared && i%4 == 0 {
				c.Close() // the others are dropped for the finalizer
			}
			if i%10 == 0 {
				runtime.GC()
			}
		}
		return nil
	})
	runtime.GC()
	runtime.GC()
}
