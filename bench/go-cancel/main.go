// Command gocancel measures how fast calls of the Go binding return when their context is
// cancelled, under load: a net/http service whose handler makes a RunOnce and a Wait through
// the binding with the request's context, 2,000 requests in flight to it of which half are
// cancelled by their client (their request contexts end), and beside it, in the same
// process, a plain handler whose latency is probed meanwhile.
//
//	gocancel [-emulator PATH] [-requests 2000] [-task 3s]
//
// The binding's calls go to the emulator (target/release/altogic-emulator, or PATH), started
// on 127.0.0.1 with a task lasting -task. The requests and the probes come from a child
// process (this program again), so that the service's process holds only the service. All
// traffic stays on 127.0.0.1, and the run is bounded (about -task + 3 s, 2 minutes at most).
//
// It prints, for the cancelled calls, how long after the client cancelled its request the
// binding's call returned in the handler (net/http noticing the disconnect included), and
// how long after the request context was done (as a context.AfterFunc saw it); and the
// plain handler's latency before and during the load.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

const (
	clientKey = "cancel-client-key"
	childEnv  = "GOCANCEL_CHILD" // in the child: the service's URL
	// Cancelled requests are cancelled this long after they were sent, uniformly: while
	// their RunOnce or, mostly, their Wait is in flight.
	cancelFrom = 300 * time.Millisecond
	cancelTo   = 2300 * time.Millisecond
	probeEvery = 5 * time.Millisecond
	idleProbes = time.Second // probes of the plain handler before the load
)

func main() {
	if url := os.Getenv(childEnv); url != "" {
		if err := runChild(url); err != nil {
			fmt.Fprintln(os.Stderr, "gocancel child:", err)
			os.Exit(1)
		}
		return
	}
	emulatorPath := os.Getenv("ALTOGIC_EMULATOR")
	if emulatorPath == "" {
		emulatorPath = "../../target/release/altogic-emulator"
	}
	flag.StringVar(&emulatorPath, "emulator", emulatorPath, "the emulator binary (default $ALTOGIC_EMULATOR)")
	requests := flag.Int("requests", 2000, "requests in flight at once, half of them cancelled")
	task := flag.Duration("task", 3*time.Second, "how long the task the handler runs and waits for lasts")
	flag.Parse()
	if err := run(emulatorPath, *requests, *task); err != nil {
		fmt.Fprintln(os.Stderr, "gocancel:", err)
		os.Exit(1)
	}
}

// childReport is what the child process measured, with times in Unix nanoseconds (the
// same clock in both processes).
type childReport struct {
	Requests  int     `json:"requests"`
	CancelAt  []int64 `json:"cancelAt"` // by request id; 0 for those not cancelled
	Completed int     `json:"completed"`
	Cancelled int     `json:"cancelled"`
	Failed    int     `json:"failed"`
	FirstErr  string  `json:"firstErr,omitempty"`
	LoadStart int64   `json:"loadStart"`
	LoadEnd   int64   `json:"loadEnd"`
	Probes    []probe `json:"probes"`
}

type probe struct {
	At      int64 `json:"at"`
	Latency int64 `json:"latencyNs"`
}

// service is the net/http service: /task through the binding, /plain without it.
type service struct {
	client     *altogic.Client
	returnedAt []atomic.Int64 // by request id: when the binding's calls returned
	ctxDoneAt  []atomic.Int64 // by request id: when a context.AfterFunc saw the request's ctx done
	started    atomic.Int64
	completed  atomic.Int64
	cancelled  atomic.Int64
	failed     atomic.Int64
	firstErr   atomic.Value
}

func (s *service) task(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.URL.Query().Get("id"))
	if err != nil || id < 0 || id >= len(s.returnedAt) {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	s.started.Add(1)
	ctx := r.Context()
	stop := context.AfterFunc(ctx, func() { s.ctxDoneAt[id].Store(time.Now().UnixNano()) })
	defer stop()
	info, err := s.client.RunOnce(ctx, "slow")
	if err == nil {
		info, err = s.client.Wait(ctx, info.TaskID)
	}
	s.returnedAt[id].Store(time.Now().UnixNano())
	switch {
	case err == nil && info.Status == altogic.StatusCompleted:
		s.completed.Add(1)
		io.WriteString(w, "completed\n")
	case errors.Is(err, altogic.ErrCancelled) && errors.Is(err, context.Canceled):
		s.cancelled.Add(1) // nobody reads the answer
	default:
		if err == nil {
			err = fmt.Errorf("status %s", info.Status)
		}
		s.failed.Add(1)
		s.firstErr.CompareAndSwap(nil, err.Error())
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
}

func plain(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }

func run(emulatorPath string, requests int, task time.Duration) error {
	dir, err := os.MkdirTemp("", "gocancel")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	config := filepath.Join(dir, "app.toml")
	app := fmt.Sprintf("[[client_keys]]\nkey = %q\n\n[[tasks]]\nname = \"slow\"\nservice = { type = \"simulated\", duration = \"%dms\" }\n",
		clientKey, task.Milliseconds())
	if err := os.WriteFile(config, []byte(app), 0o600); err != nil {
		return err
	}
	emulatorURL, stopEmulator, err := startEmulator(emulatorPath, "--config", config,
		"--workers", strconv.Itoa(2*requests))
	if err != nil {
		return err
	}
	defer stopEmulator()

	client, err := altogic.NewClient(emulatorURL, clientKey)
	if err != nil {
		return err
	}
	defer client.Close()
	svc := &service{client: client, returnedAt: make([]atomic.Int64, requests), ctxDoneAt: make([]atomic.Int64, requests)}
	mux := http.NewServeMux()
	mux.HandleFunc("/task", svc.task)
	mux.HandleFunc("/plain", plain)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go server.Serve(listener)
	defer server.Close()

	// One call first, so that the binding's queue exists before the counts below.
	if _, err := client.GetStatus(context.Background(), "000000000000000000000000"); err != nil {
		return fmt.Errorf("first call: %w", err)
	}
	goroutinesBefore := runtime.NumGoroutine()
	var maxThreads atomic.Int64
	stopSampling := sampleThreads(&maxThreads)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=http://"+listener.Addr().String(),
		"GOCANCEL_REQUESTS="+strconv.Itoa(requests))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	stopSampling()
	if err != nil {
		return fmt.Errorf("the child process: %w", err)
	}
	var report childReport
	if err := json.Unmarshal(out, &report); err != nil {
		return fmt.Errorf("the child's report: %w", err)
	}
	// The child saw every answer or cancelled its request; a handler whose request was
	// cancelled may still be returning. (A request cancelled before it reached the service,
	// its connection not yet accepted, starts no handler.)
	deadline := time.Now().Add(10 * time.Second)
	for svc.completed.Load()+svc.cancelled.Load()+svc.failed.Load() < svc.started.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // server connections closing
	goroutinesAfter := runtime.NumGoroutine()

	var fromCancel, fromCtxDone []time.Duration
	for id, at := range report.CancelAt {
		returned := svc.returnedAt[id].Load()
		if at == 0 || returned == 0 {
			continue
		}
		fromCancel = append(fromCancel, time.Duration(returned-at))
		if done := svc.ctxDoneAt[id].Load(); done != 0 {
			fromCtxDone = append(fromCtxDone, time.Duration(returned-done))
		}
	}
	var idle, loaded []time.Duration
	for _, p := range report.Probes {
		if p.At < report.LoadStart {
			idle = append(idle, time.Duration(p.Latency))
		} else {
			loaded = append(loaded, time.Duration(p.Latency))
		}
	}

	fmt.Printf("gocancel: %d requests in flight (handler: RunOnce + Wait of a %v task with r.Context()), %d cancelled by their client %v-%v after sending; libaltogic %s, GOMAXPROCS %d\n",
		report.Requests, task, report.Cancelled, cancelFrom, cancelTo, altogic.Version(), runtime.GOMAXPROCS(0))
	fmt.Printf("load: %.2f s from the first request to the last answer\n", float64(report.LoadEnd-report.LoadStart)/1e9)
	fmt.Printf("service: %d handlers started: %d completed, %d calls returned cancelled, %d failed",
		svc.started.Load(), svc.completed.Load(), svc.cancelled.Load(), svc.failed.Load())
	if s, ok := svc.firstErr.Load().(string); ok {
		fmt.Printf(" (first: %s)", s)
	}
	fmt.Println()
	fmt.Printf("client: %d answered, %d cancelled, %d failed", report.Completed, report.Cancelled, report.Failed)
	if report.FirstErr != "" {
		fmt.Printf(" (first: %s)", report.FirstErr)
	}
	fmt.Println()
	fmt.Printf("cancelled call returned, after the client cancelled:      %s\n", stats(fromCancel))
	fmt.Printf("cancelled call returned, after r.Context() was done (*): %s\n", stats(fromCtxDone))
	fmt.Printf("plain handler, idle (before the load):                   %s\n", stats(idle))
	fmt.Printf("plain handler, during the load:                          %s\n", stats(loaded))
	fmt.Printf("service process: goroutines %d before the load, %d after; at most %d OS threads\n",
		goroutinesBefore, goroutinesAfter, maxThreads.Load())
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average at the end: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	fmt.Println("(*) as a context.AfterFunc on r.Context() saw it: its goroutine is scheduled like the call's, so this can be below 0")
	return nil
}

// stats formats the count, median, p99 and max of ds.
func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[max(0, min(i, len(ds)-1))]
	}
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }
	return fmt.Sprintf("n=%-5d median %s, p99 %s, max %s", len(ds), ms(at(0.5)), ms(at(0.99)), ms(ds[len(ds)-1]))
}

// runChild sends the requests and probes the plain handler, then prints its report.
func runChild(url string) error {
	requests, err := strconv.Atoi(os.Getenv("GOCANCEL_REQUESTS"))
	if err != nil || requests <= 0 {
		return fmt.Errorf("GOCANCEL_REQUESTS: %q", os.Getenv("GOCANCEL_REQUESTS"))
	}
	report := childReport{Requests: requests, CancelAt: make([]int64, requests)}
	var mu sync.Mutex // guards report's counts and probes

	probeClient := &http.Client{Timeout: 10 * time.Second}
	stopProbes := make(chan struct{})
	probesDone := make(chan struct{})
	go func() {
		defer close(probesDone)
		ticker := time.NewTicker(probeEvery)
		defer ticker.Stop()
		for {
			start := time.Now()
			resp, err := probeClient.Get(url + "/plain")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				report.Probes = append(report.Probes, probe{At: start.UnixNano(), Latency: int64(time.Since(start))})
				mu.Unlock()
			}
			select {
			case <-stopProbes:
				return
			case <-ticker.C:
			}
		}
	}()
	time.Sleep(idleProbes)

	transport := &http.Transport{MaxIdleConnsPerHost: requests, DisableCompression: true}
	loadClient := &http.Client{Transport: transport}
	report.LoadStart = time.Now().UnixNano()
	var wg sync.WaitGroup
	for id := 0; id < requests; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			// Bounded whatever happens: the task lasts seconds.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cancels := id%2 == 1
			if cancels {
				delay := cancelFrom + time.Duration(rand.Int63n(int64(cancelTo-cancelFrom)))
				timer := time.AfterFunc(delay, func() {
					atomic.StoreInt64(&report.CancelAt[id], time.Now().UnixNano())
					cancel()
				})
				defer timer.Stop()
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/task?id=%d", url, id), nil)
			if err != nil {
				panic(err)
			}
			resp, err := loadClient.Do(req)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				report.Completed++
			case cancels && errors.Is(err, context.Canceled):
				report.Cancelled++
			default:
				report.Failed++
				if report.FirstErr == "" {
					report.FirstErr = err.Error()
				}
			}
		}(id)
	}
	wg.Wait()
	report.LoadEnd = time.Now().UnixNano()
	close(stopProbes)
	<-probesDone
	for id := range report.CancelAt {
		report.CancelAt[id] = atomic.LoadInt64(&report.CancelAt[id])
	}
	return json.NewEncoder(os.Stdout).Encode(&report)
}

// startEmulator starts the emulator on 127.0.0.1:0 and reads the line it prints once bound.
func startEmulator(path string, args ...string) (url string, stop func(), err error) {
	cmd := exec.Command(path, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting the emulator (-emulator): %w", err)
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		s, _ := r.ReadString('\n')
		line <- s
		io.Copy(io.Discard, r)
	}()
	const prefix = "altogic-emulator listening on "
	select {
	case s := <-line:
		if !strings.HasPrefix(s, prefix) {
			stop()
			return "", nil, fmt.Errorf("the emulator printed %q", s)
		}
		return strings.TrimSpace(strings.TrimPrefix(s, prefix)), stop, nil
	case <-time.After(20 * time.Second):
		stop()
		return "", nil, errors.New("the emulator did not start within 20 s")
	}
}

// sampleThreads records the process's largest thread count until the returned function is
// called.
func sampleThreads(maxThreads *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(5 * time.Millisecond)
		defer ticker.Stop()
		for {
			if n := int64(procStatus("Threads")); n > maxThreads.Load() {
				maxThreads.Store(n)
			}
			select {
			case <-done:
				return
			case <-ticker.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// procStatus reads a number field of /proc/self/status, or -1.
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
