//go:build cgo

package altogic_test

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

// watched is what one range over Client.Watch yielded.
type watched struct {
	infos []*altogic.TaskInfo // every TaskInfo yielded, the last one's included
	errs  []error             // every error yielded (the last one only, when all is well)
	n     int
}

func (w *watched) statuses() []altogic.Status {
	var s []altogic.Status
	for _, info := range w.infos {
		s = append(s, info.Status)
	}
	return s
}

// watchAll ranges over c.Watch(ctx, taskID) to its end.
func watchAll(c *altogic.Client, ctx context.Context, taskID string) watched {
	var w watched
	for info, err := range c.Watch(ctx, taskID) {
		w.n++
		if info != nil {
			w.infos = append(w.infos, info)
		}
		if err != nil {
			w.errs = append(w.errs, err)
		}
	}
	return w
}

// statusRank orders the statuses of an execution.
var statusRank = map[altogic.Status]int{
	altogic.StatusPending: 1, altogic.StatusProcessing: 2, altogic.StatusCompleted: 3, altogic.StatusErrors: 3,
}

// wantProgress checks statuses: each a change from the one before, in the order of an
// execution, the last one final.
func wantProgress(t testing.TB, statuses []altogic.Status, final altogic.Status) {
	t.Helper()
	if len(statuses) == 0 || statuses[len(statuses)-1] != final {
		t.Fatalf("statuses %v, want them to end with %s", statuses, final)
	}
	for i := 1; i < len(statuses); i++ {
		if statusRank[statuses[i]] <= statusRank[statuses[i-1]] {
			t.Fatalf("statuses %v: %s after %s", statuses, statuses[i], statuses[i-1])
		}
	}
}

// Watch yields pending, processing, then the final TaskInfo, each once, with one request
// per poll of the wait (the debug log counts both).
func TestWatchCompleted(t *testing.T) {
	h := &captureHandler{level: slog.LevelDebug}
	c := demoClient(t, altogic.WithLogger(slog.New(h)))
	info := runOnce(t, c, "billOnDemand")
	before := runtime.NumGoroutine()
	w := watchAll(c, bg, info.TaskID)
	if len(w.errs) != 0 {
		t.Fatalf("errors %v", w.errs)
	}
	wantProgress(t, w.statuses(), altogic.StatusCompleted)
	if len(w.infos) < 2 {
		// The task takes about 200 ms: only a first poll later than that (a very loaded
		// machine) misses processing.
		t.Logf("statuses %v: no status before completed", w.statuses())
	}
	last := w.infos[len(w.infos)-1]
	if last.TaskID != info.TaskID || last.CompletedAt == nil || len(last.Raw) == 0 {
		t.Errorf("final TaskInfo %+v", last)
	}
	polls, gets := 0, 0
	for _, r := range h.records() {
		switch {
		case r.attrs["event"] == "poll" && r.attrs["taskId"] == info.TaskID:
			polls++
		case r.attrs["event"] == "request" && r.attrs["method"] == "GET":
			gets++
		}
	}
	if polls == 0 || gets != polls {
		t.Errorf("%d GET requests for %d polls, want one each", gets, polls)
	}
	t.Logf("statuses %v in %d polls", w.statuses(), polls)
	waitQueueEmpty(t)
	checkGoroutines(t, before)
}

// A task ending in errors: its final TaskInfo, no error, as Wait answers it.
func TestWatchErrors(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "failingTask")
	w := watchAll(c, bg, info.TaskID)
	if len(w.errs) != 0 {
		t.Fatalf("errors %v", w.errs)
	}
	wantProgress(t, w.statuses(), altogic.StatusErrors)
	if last := w.infos[len(w.infos)-1]; len(last.Errors) == 0 {
		t.Errorf("final TaskInfo without the task's errors: %s", last.Raw)
	}
	waitQueueEmpty(t)
}

// Errors that end the wait are yielded once, last, as Wait returns them.
func TestWatchFails(t *testing.T) {
	c := demoClient(t)
	w := watchAll(c, bg, unknownTaskID)
	if w.n != 1 || len(w.errs) != 1 || !errors.Is(w.errs[0], altogic.ErrExecutionNotFound) {
		t.Fatalf("watching an unknown execution: %d results, errors %v", w.n, w.errs)
	}

	for name, id := range map[string]string{"NUL": "a\x00b", "empty": ""} {
		w = watchAll(c, bg, id)
		if w.n != 1 || len(w.errs) != 1 || !errors.Is(w.errs[0], altogic.ErrInvalidArgument) {
			t.Errorf("%s id: %d results, errors %v", name, w.n, w.errs)
		}
	}

	ctx, cancel := context.WithCancel(bg)
	cancel()
	starts := altogic.QueuedStarts()
	w = watchAll(c, ctx, unknownTaskID)
	if w.n != 1 || len(w.errs) != 1 {
		t.Fatalf("a done ctx: %d results, errors %v", w.n, w.errs)
	}
	wantCancelled(t, w.errs[0], ctx)
	if altogic.QueuedStarts() != starts {
		t.Error("a watch with a done ctx reached the library")
	}

	closed := newClient(t, emulatorURL, demoKey)
	closed.Close()
	w = watchAll(closed, bg, unknownTaskID)
	if w.n != 1 || len(w.errs) != 1 || !errors.Is(w.errs[0], altogic.ErrClosed) {
		t.Errorf("a closed client: %d results, errors %v", w.n, w.errs)
	}
	waitQueueEmpty(t)
}

// ctx cancelled in the middle: the last result is the cancellation, at once, and the
// library's wait is cancelled behind it (its late results freed by the queue's goroutine).
func TestWatchCancelled(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "slowReport")
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	var cancelledAt time.Time
	var statuses []altogic.Status
	var last error
	n := 0
	for got, err := range c.Watch(ctx, info.TaskID) {
		n++
		if last != nil {
			t.Fatalf("a result after the error %v", last)
		}
		if err != nil {
			last = err
			if got != nil {
				t.Errorf("a cancelled watch answered %+v", got)
			}
			continue
		}
		statuses = append(statuses, got.Status)
		if len(statuses) == 1 {
			time.AfterFunc(200*time.Millisecond, func() { cancelledAt = time.Now(); cancel() })
		}
	}
	late := time.Since(cancelledAt)
	if len(statuses) == 0 || statusRank[statuses[len(statuses)-1]] == 3 {
		t.Errorf("statuses %v before the cancellation", statuses)
	}
	wantCancelled(t, last, ctx)
	wantCode(t, last, 0, "cancelled")
	if !errors.Is(last, context.Canceled) {
		t.Errorf("error %v does not match context.Canceled", last)
	}
	t.Logf("watch ended %v after cancel(), statuses %v", late, statuses)
	if late > cancelBound {
		t.Errorf("watch ended %v after cancel(), want < %v", late, cancelBound)
	}
	waitQueueEmpty(t)
	checkGoroutines(t, before)
}

// Leaving the loop early cancels the library's wait; nothing is left in the queue's map.
// Many watches left at once, too.
func TestWatchBreak(t *testing.T) {
	c := demoClient(t)
	before := runtime.NumGoroutine()
	const n = 20
	ids := make([]string, n)
	for i := range ids {
		ids[i] = runOnce(t, c, "slowReport").TaskID
	}
	started := time.Now()
	inGoroutines(t, n, func(g int) error {
		for info, err := range c.Watch(bg, ids[g]) {
			if err != nil {
				return err
			}
			if info.Done() {
				return errors.New("slowReport done at once")
			}
			break
		}
		return nil
	})
	if d := time.Since(started); d > 3*time.Second {
		t.Errorf("%d watches left at their first status took %v", n, d)
	}
	waitQueueEmpty(t)
	checkGoroutines(t, before)
	if altogic.CallsInFlight(c) != 0 {
		t.Errorf("%d calls still hold the client", altogic.CallsInFlight(c))
	}
}

// A panic in the loop's body cancels the watch too.
func TestWatchPanicInLoop(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "slowReport")
	func() {
		defer func() {
			if r := recover(); r != "stop" {
				t.Errorf("recovered %v", r)
			}
		}()
		for range c.Watch(bg, info.TaskID) {
			panic("stop")
		}
	}()
	waitQueueEmpty(t)
}

// A deadline: the last result is the last TaskInfo seen with ErrTimeout, as for Wait.
func TestWatchDeadline(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "slowReport")
	ctx, cancel := context.WithTimeout(bg, 600*time.Millisecond)
	defer cancel()
	w := watchAll(c, ctx, info.TaskID)
	if len(w.errs) != 1 {
		t.Fatalf("errors %v", w.errs)
	}
	err := w.errs[0]
	wantCancelled(t, err, ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not match context.DeadlineExceeded", err)
	}
	if errors.Is(err, altogic.ErrTimeout) {
		// The library's timeout: the last TaskInfo comes with it, after the statuses.
		if len(w.infos) < 2 || w.infos[len(w.infos)-1].Done() {
			t.Errorf("a timeout yielded %v", w.statuses())
		}
	}
	waitQueueEmpty(t)
}

// Watches abandoned while nobody reads the queue return at once; their results, once the
// queue is read, are freed by its goroutine, the token with the final one.
func TestWatchAbandonedUnread(t *testing.T) {
	c := demoClient(t)
	ids := []string{runOnce(t, c, "slowReport").TaskID, runOnce(t, c, "billOnDemand").TaskID}
	read, restore := altogic.UseUnreadQueue()
	defer restore()
	var wg sync.WaitGroup
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
		defer cancel()
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := watchAll(c, ctx, id)
			if w.n != 1 || len(w.errs) != 1 {
				t.Errorf("%d results, errors %v", w.n, w.errs)
				return
			}
			wantCancelled(t, w.errs[0], ctx)
		}()
	}
	wg.Wait()
	if n := altogic.AbandonedCalls(); n != len(ids) {
		t.Errorf("%d abandoned calls, want %d", n, len(ids))
	}
	read()
	waitQueueEmpty(t)
}
