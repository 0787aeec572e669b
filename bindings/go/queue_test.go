//go:build cgo

package altogic_test

// Calls through the completion queue (queue.go): thousands of goroutines waiting without
// a thread each, cancellation and Close of queued calls, and results reaching their
// callers. Thread counts and memory are measured in child processes (this test binary run
// again with childEnv set), where nothing else has run.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

// childEnv names, in a child process, what it is to do (see TestChild).
const childEnv = "ALTOGIC_TEST_CHILD"

// manyConfig is the emulator's app for many calls at once: "second" completes after 1 s,
// "long" after a minute (waits on it reach their own deadline).
const manyConfig = `
[[client_keys]]
key = "many-client-key"

[[tasks]]
name = "second"
service = { type = "simulated", duration = "1s" }

[[tasks]]
name = "long"
service = { type = "simulated", duration = "60s" }
`

const manyKey = "many-client-key"

// startManyEmulator starts an emulator serving manyConfig with workers executions at once.
func startManyEmulator(t testing.TB, workers int) string {
	t.Helper()
	needOwnPrograms(t)
	config := filepath.Join(t.TempDir(), "many.toml")
	if err := os.WriteFile(config, []byte(manyConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	emu, err := startEmulator("--config", config, "--workers", strconv.Itoa(workers))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.stop)
	return emu.url
}

// childFigures is what a child process reports.
type childFigures struct {
	Mode           string  `json:"mode"`
	Calls          int     `json:"calls"`
	Unexpected     int     `json:"unexpected"`
	FirstError     string  `json:"firstError,omitempty"`
	WallSeconds    float64 `json:"wallSeconds"`
	MaxThreads     int     `json:"maxThreads"`
	ThreadsCreated int     `json:"threadsCreated"`
	RSSMiB         float64 `json:"rssMiB"`
	PeakRSSMiB     float64 `json:"peakRssMiB"`
	// What Go holds at the end (runtime.MemStats): goroutine stacks, and the heap.
	StackMiB float64 `json:"stackMiB"`
	HeapMiB  float64 `json:"heapMiB"`
	// RSS before the first call.
	StartRSSMiB float64 `json:"startRssMiB"`
}

const childPrefix = "altogic-child: "

// runChild runs this test binary again as a child process doing mode, and returns what it
// measured.
func runChild(t testing.TB, mode string, env ...string) childFigures {
	t.Helper()
	needOwnPrograms(t)
	if runtime.GOOS != "linux" {
		t.Skip("the child's figures come from /proc/self/status (Linux only)")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), childEnv+"="+mode), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child %s: %v\n%s\n%s", mode, err, out, stderr.Bytes())
	}
	scanner := bufio.NewScanner(bytes.NewReader(out))
	for scanner.Scan() {
		if line, ok := strings.CutPrefix(scanner.Text(), childPrefix); ok {
			var figures childFigures
			if err := json.Unmarshal([]byte(line), &figures); err != nil {
				t.Fatal(err)
			}
			return figures
		}
	}
	t.Fatalf("child %s printed no figures:\n%s\n%s", mode, out, stderr.Bytes())
	return childFigures{}
}

// procStatus reads a field of /proc/self/status (Threads, VmRSS and VmHWM in kB).
func procStatus(field string) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	return -1
}

// TestChild is the body of the child processes; it is skipped in the tests themselves.
//
// ALTOGIC_CHILD_URL is the emulator (manyConfig), ALTOGIC_CHILD_CALLS the number of
// goroutines. Modes: "runonce-wait" (each goroutine runs "second" and waits for it),
// "waits-altogic" and "waits-nethttp" (each goroutine waits with a 1 s deadline for an
// execution of ALTOGIC_CHILD_IDS, a file of task ids, through this package or through
// net/http polling as the library does).
func TestChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("the body of child processes of other tests")
	}
	url := os.Getenv("ALTOGIC_CHILD_URL")
	calls, _ := strconv.Atoi(os.Getenv("ALTOGIC_CHILD_CALLS"))
	var ids []string
	if file := os.Getenv("ALTOGIC_CHILD_IDS"); file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		ids = strings.Fields(string(data))
		calls = len(ids)
	}
	var work func(g int) error
	switch mode {
	case "runonce-wait":
		c := newClient(t, url, manyKey)
		work = func(int) error {
			info, err := c.RunOnce(bg, "second")
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(bg, 60*time.Second)
			defer cancel()
			done, err := c.Wait(ctx, info.TaskID)
			if err == nil && done.Status != altogic.StatusCompleted {
				err = fmt.Errorf("status %s", done.Status)
			}
			return err
		}
	case "waits-altogic":
		c := newClient(t, url, manyKey)
		work = func(g int) error {
			ctx, cancel := context.WithTimeout(bg, time.Second)
			defer cancel()
			_, err := c.Wait(ctx, ids[g])
			if errors.Is(err, context.DeadlineExceeded) {
				return nil
			}
			return fmt.Errorf("want a deadline, got %v", err)
		}
	case "waits-nethttp":
		poller := newHTTPPoller(url, manyKey)
		work = func(g int) error {
			ctx, cancel := context.WithTimeout(bg, time.Second)
			defer cancel()
			err := poller.wait(ctx, ids[g])
			if errors.Is(err, context.DeadlineExceeded) {
				return nil
			}
			return fmt.Errorf("want a deadline, got %v", err)
		}
	default:
		t.Fatalf("unknown mode %q", mode)
	}

	stop := make(chan struct{})
	var maxThreads atomic.Int64
	sampled := make(chan struct{})
	go func() { // samples the process's thread count
		defer close(sampled)
		ticker := time.NewTicker(2 * time.Millisecond)
		defer ticker.Stop()
		for {
			if n := int64(procStatus("Threads")); n > maxThreads.Load() {
				maxThreads.Store(n)
			}
			select {
			case <-stop:
				return
			case <-ticker.C:
			}
		}
	}()
	startRSS := procStatus("VmRSS")
	start := time.Now()
	var wg sync.WaitGroup
	var unexpected atomic.Int64
	var firstErr atomic.Value
	for g := 0; g < calls; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			if err := work(g); err != nil {
				unexpected.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}(g)
	}
	wg.Wait()
	wall := time.Since(start)
	close(stop)
	<-sampled
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	figures := childFigures{
		StackMiB:       float64(mem.StackSys) / (1 << 20),
		HeapMiB:        float64(mem.HeapSys-mem.HeapReleased) / (1 << 20),
		StartRSSMiB:    float64(startRSS) / 1024,
		Mode:           mode,
		Calls:          calls,
		Unexpected:     int(unexpected.Load()),
		WallSeconds:    wall.Seconds(),
		MaxThreads:     int(maxThreads.Load()),
		ThreadsCreated: pprof.Lookup("threadcreate").Count(),
		RSSMiB:         float64(procStatus("VmRSS")) / 1024,
		PeakRSSMiB:     float64(procStatus("VmHWM")) / 1024,
	}
	if s, ok := firstErr.Load().(string); ok {
		figures.FirstError = s
	}
	line, _ := json.Marshal(figures)
	fmt.Printf("%s%s\n", childPrefix, line)
}

// 3,000 goroutines each run a task of 1 s and wait for it, on one client: with blocking
// calls they made some 2,000 OS threads; through the queue a handful.
func TestThousandsOfWaitsHoldFewThreads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 3,000 executions")
	}
	url := startManyEmulator(t, 4000)
	figures := runChild(t, "runonce-wait", "ALTOGIC_CHILD_URL="+url, "ALTOGIC_CHILD_CALLS=3000")
	t.Logf("3,000 goroutines, RunOnce + Wait of a 1 s task: %.2f s, at most %d OS threads (%d created), RSS %.1f MiB (peak %.1f)",
		figures.WallSeconds, figures.MaxThreads, figures.ThreadsCreated, figures.RSSMiB, figures.PeakRSSMiB)
	if figures.Unexpected != 0 {
		t.Fatalf("%d calls failed, the first with %s", figures.Unexpected, figures.FirstError)
	}
	if figures.MaxThreads >= 100 {
		t.Errorf("%d OS threads with 3,000 goroutines waiting, want < 100", figures.MaxThreads)
	}
	if figures.WallSeconds > 30 {
		t.Errorf("took %.1f s, want a few", figures.WallSeconds)
	}
}

// Waits cancelled while queued end within the bound, and leave nothing queued.
func TestCancelQueuedWaits(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "slowReport")
	waitQueueEmpty(t) // late results of earlier tests' cancelled calls
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(bg)
	const goroutines = 300
	var wg sync.WaitGroup
	var wrong atomic.Int32
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Wait(ctx, info.TaskID); !errors.Is(err, context.Canceled) || !errors.Is(err, altogic.ErrCancelled) {
				wrong.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for altogic.QueuedCalls() < goroutines && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := altogic.QueuedCalls(); n != goroutines {
		t.Fatalf("%d waits queued, want %d", n, goroutines)
	}
	start := time.Now()
	cancel()
	wg.Wait()
	// A sanity bound, generous for -race on a loaded machine: 300 goroutines must all be
	// woken and scheduled. The figure itself is the benchmarks' (BenchmarkManyWaits).
	if elapsed := time.Since(start); elapsed > 2*cancelBound {
		t.Errorf("%d queued waits took %v to end after cancel()", goroutines, elapsed)
	}
	if wrong.Load() != 0 {
		t.Fatalf("%d waits did not end with context.Canceled and ErrCancelled", wrong.Load())
	}
	waitQueueEmpty(t) // the late results, freed by the queue's goroutine
	checkGoroutines(t, before)
}

// Close while queued calls run: they finish normally, later calls fail with ErrClosed,
// and the client is freed after the last one.
func TestCloseWithQueuedCalls(t *testing.T) {
	c, err := altogic.NewClient(emulatorURL, demoKey)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines = 50
	ids := make([]string, goroutines)
	for i := range ids {
		ids[i] = runOnce(t, c, "billOnDemand").TaskID
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for _, id := range ids {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			done, err := c.Wait(bg, id)
			if err == nil && (done == nil || done.TaskID != id || done.Status != altogic.StatusCompleted) {
				err = fmt.Errorf("Wait(%s) = %+v", id, done)
			}
			if err != nil {
				errs <- err
			}
		}(id)
	}
	deadline := time.Now().Add(5 * time.Second)
	for altogic.CallsInFlight(c) < goroutines && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	c.Close()
	if elapsed := time.Since(start); elapsed > 50*time.Millisecond {
		t.Errorf("Close took %v while calls were queued", elapsed)
	}
	if _, err := c.GetStatus(bg, ids[0]); !errors.Is(err, altogic.ErrClosed) {
		t.Errorf("a call after Close: %v", err)
	}
	if n := altogic.CallsInFlight(c); n == 0 {
		t.Errorf("no call in flight right after Close: the waits ended too soon to test this")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := altogic.CallsInFlight(c); n != 0 {
		t.Errorf("%d calls still hold the client", n)
	}
}

// Every call goes through the queue: RunOnce, GetStatus and Wait, with or without a
// context that can be done.
func TestEveryCallGoesThroughTheQueue(t *testing.T) {
	c := demoClient(t)
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	for _, ctx := range []context.Context{bg, ctx} {
		before := altogic.QueuedStarts()
		info, err := c.RunOnce(ctx, "heartbeat")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetStatus(ctx, info.TaskID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Wait(ctx, info.TaskID); err != nil {
			t.Fatal(err)
		}
		if n := altogic.QueuedStarts() - before; n != 3 {
			t.Errorf("3 calls started %d calls on the queue", n)
		}
	}
}

// Where Go's poller cannot watch the queue's descriptor, its goroutine waits in
// altogic_queue_next: results still reach their callers, and cancelled calls return.
func TestQueueWithoutPoller(t *testing.T) {
	c := demoClient(t)
	defer altogic.UseQueueWithoutPoller()()
	inGoroutines(t, 20, func(g int) error {
		info, err := c.RunOnce(bg, "heartbeat")
		if err != nil {
			return err
		}
		got, err := c.GetStatus(bg, info.TaskID)
		if err == nil && (got == nil || got.TaskID != info.TaskID) {
			err = fmt.Errorf("GetStatus(%s) = %+v", info.TaskID, got)
		}
		return err
	})
	stalled := newClient(t, stallingServer(t), demoKey, altogic.WithTimeout(10*time.Second))
	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := stalled.RunOnce(ctx, "x")
	wantCancelled(t, err, ctx)
	if elapsed := time.Since(start); elapsed > 100*time.Millisecond+cancelBound {
		t.Errorf("a 100 ms deadline returned after %v", elapsed)
	}
	waitQueueEmpty(t)
}

// Each result reaches the goroutine that made the call, errors included.
func TestQueuedResultsReachTheirCallers(t *testing.T) {
	c := demoClient(t)
	inGoroutines(t, 200, func(g int) error {
		task := []string{"billOnDemand", "heartbeat", "failingTask"}[g%3]
		switch g % 4 {
		case 0, 1:
			info, err := c.RunOnce(bg, task)
			if err != nil {
				return err
			}
			got, err := c.GetStatus(bg, info.TaskID)
			if err == nil && (got == nil || got.TaskID != info.TaskID || got.ScheduledTaskName != task) {
				err = fmt.Errorf("GetStatus(%s) = %+v", info.TaskID, got)
			}
			return err
		case 2:
			var apiErr *altogic.APIError
			if _, err := c.RunOnce(bg, fmt.Sprint("noSuchTask", g)); !errors.As(err, &apiErr) || apiErr.Status != 404 {
				return fmt.Errorf("an unknown task: %v", err)
			}
		case 3:
			if _, err := c.GetStatus(bg, ""); !errors.Is(err, altogic.ErrInvalidArgument) {
				return fmt.Errorf("an empty id: %v", err)
			}
		}
		return nil
	})
	if n := altogic.QueuedCalls(); n != 0 {
		t.Fatalf("%d calls still queued", n)
	}
}
