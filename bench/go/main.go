// Command gobench times runOnce from Go: through this repository's binding, or through a plain
// net/http + encoding/json loop (the code bindings/go/bench_test.go compares it with), with N
// goroutines sharing one client; and floods an emulator with a bounded count of runOnce calls.
//
//	gobench binding URL SECONDS GOROUTINES...   (0: sequential, on the calling goroutine)
//	gobench nethttp URL SECONDS GOROUTINES...
//	gobench flood URL CALLS CONNECTIONS          raw keep-alive HTTP/1.1, one request in flight per connection
//	gobench pool|poller binding|nethttp URL ...   the shapes of bench/network (network.go)
//
//	gobench waits binding|nethttp URL IDSFILE    a goroutine per task id, each waiting 1 s (waits.go)
//
// run modes print one JSON object per line (the fields bench/c/bench.c prints, with
// cpu_us_per_call: syscall.Getrusage(RUSAGE_SELF) user + system over the measured interval,
// per call, so the library's own threads count too); flood prints
// {"calls":N,"seconds":S,"errors":E}.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

const (
	clientKey = "demo-client-key"
	task      = "billOnDemand"
)

// httpTaskInfo is what the net/http loop decodes the answer into (as in bench_test.go).
type httpTaskInfo struct {
	TaskID            string          `json:"taskId"`
	ScheduledTaskID   string          `json:"scheduledTaskId"`
	ScheduledTaskName string          `json:"scheduledTaskName"`
	TriggeredAt       time.Time       `json:"triggeredAt"`
	StartedAt         *time.Time      `json:"startedAt"`
	CompletedAt       *time.Time      `json:"completedAt"`
	Status            string          `json:"status"`
	Errors            json.RawMessage `json:"errors"`
}

type httpRunner struct {
	client *http.Client
	url    string
}

func newHTTPRunner(base string) *httpRunner {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 16 // the default 2 would close connections with 4+ goroutines
	return &httpRunner{client: &http.Client{Transport: transport, Timeout: 30 * time.Second},
		url: base + "/_api/rest/v1/task"}
}

func (r *httpRunner) runOnce(ctx context.Context, name string) (*httpTaskInfo, error) {
	body, err := json.Marshal(map[string]string{"taskNameOrId": name})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Client", "altogic-go-nethttp")
	req.Header.Set("X-Client-Key", clientKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, data)
	}
	var info httpTaskInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

type worker struct {
	latency    []time.Duration
	errors     int
	firstError string
}

func (w *worker) loop(deadline time.Time, call func() (string, error)) {
	w.latency = make([]time.Duration, 0, 65536)
	for {
		t0 := time.Now()
		if !t0.Before(deadline) {
			return
		}
		status, err := call()
		w.latency = append(w.latency, time.Since(t0))
		if err == nil && status != "pending" {
			err = fmt.Errorf("status %q", status)
		}
		if err != nil {
			if w.errors == 0 {
				w.firstError = err.Error()
			}
			w.errors++
		}
	}
}

// processCPU is the user + system CPU time of the whole process (every thread).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runCell(goroutines int, seconds float64, call func() (string, error)) map[string]any {
	span := time.Duration(seconds * float64(time.Second))
	n := max(goroutines, 1)
	workers := make([]worker, n)
	var start time.Time
	var cpu0 time.Duration
	if goroutines == 0 {
		cpu0 = processCPU()
		start = time.Now()
		workers[0].loop(start.Add(span), call)
	} else {
		var wg sync.WaitGroup
		gate := make(chan time.Time)
		for i := range workers {
			wg.Add(1)
			go func(w *worker) {
				defer wg.Done()
				deadline := <-gate
				w.loop(deadline, call)
			}(&workers[i])
		}
		cpu0 = processCPU()
		start = time.Now()
		for range workers {
			gate <- start.Add(span)
		}
		wg.Wait()
	}
	elapsed := time.Since(start).Seconds()
	cpu := processCPU() - cpu0
	var all []time.Duration
	errors, firstError := 0, ""
	for _, w := range workers {
		all = append(all, w.latency...)
		errors += w.errors
		if firstError == "" {
			firstError = w.firstError
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p/100*float64(len(all)-1)+0.5)].Nanoseconds()) / 1000
	}
	cpuPerCall := 0.0
	if len(all) > 0 {
		cpuPerCall = float64(cpu.Nanoseconds()) / 1000 / float64(len(all))
	}
	return map[string]any{"threads": goroutines, "calls": len(all), "seconds": elapsed,
		"p50_us": pct(50), "p99_us": pct(99), "cpu_us_per_call": cpuPerCall,
		"errors": errors, "first_error": firstError}
}

// flood makes exactly calls runOnce requests over conns kept-alive connections.
func flood(base string, calls, conns int) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	body := `{"taskNameOrId":"` + task + `"}`
	request := []byte("POST /_api/rest/v1/task HTTP/1.1\r\nHost: " + u.Host +
		"\r\nX-Client-Key: " + clientKey + "\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	var wg sync.WaitGroup
	var mu sync.Mutex
	errors, firstErr := 0, error(nil)
	start := time.Now()
	for c := 0; c < conns; c++ {
		share := calls / conns
		if c < calls%conns {
			share++
		}
		wg.Add(1)
		go func(share int) {
			defer wg.Done()
			fail := func(err error) {
				mu.Lock()
				errors++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
			conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
			if err != nil {
				fail(err)
				return
			}
			defer conn.Close()
			reader := bufio.NewReader(conn)
			for i := 0; i < share; i++ {
				conn.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := conn.Write(request); err != nil {
					fail(err)
					return
				}
				resp, err := http.ReadResponse(reader, nil)
				if err != nil {
					fail(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fail(fmt.Errorf("HTTP %d", resp.StatusCode))
				}
			}
		}(share)
	}
	wg.Wait()
	first := ""
	if firstErr != nil {
		first = firstErr.Error()
	}
	out, _ := json.Marshal(map[string]any{"calls": calls, "seconds": time.Since(start).Seconds(),
		"errors": errors, "first_error": first})
	fmt.Println(string(out))
	return nil
}

func main() {
	if len(os.Args) >= 2 && (os.Args[1] == "pool" || os.Args[1] == "poller") {
		networkMain(os.Args[1:]) // bench/network: network.go
		return
	}
	if len(os.Args) >= 5 && os.Args[1] == "waits" {
		waitsMain(os.Args[2], os.Args[3], os.Args[4]) // waits.go
		return
	}
	if len(os.Args) >= 5 && os.Args[1] == "flood" {
		calls, _ := strconv.Atoi(os.Args[3])
		conns, _ := strconv.Atoi(os.Args[4])
		if err := flood(os.Args[2], calls, conns); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: gobench binding|nethttp URL SECONDS GOROUTINES... | flood URL CALLS CONNECTIONS")
		os.Exit(1)
	}
	base := os.Args[2]
	seconds, err := strconv.ParseFloat(os.Args[3], 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "SECONDS:", err)
		os.Exit(1)
	}
	call, closeClient := runOnceCaller(os.Args[1], base)
	defer closeClient()
	for _, arg := range os.Args[4:] {
		goroutines, err := strconv.Atoi(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "GOROUTINES:", err)
			os.Exit(1)
		}
		runCell(goroutines, 0.2, call)
		out, _ := json.Marshal(runCell(goroutines, seconds, call))
		fmt.Println(string(out))
	}
}

// runOnceCaller is one runOnce of billOnDemand against base by kind ("binding": this
// package's client; "nethttp": a plain net/http loop), answering the execution's status, and
// what frees the client afterwards. An unknown kind ends the program.
func runOnceCaller(kind, base string) (call func() (string, error), closeClient func()) {
	ctx := context.Background()
	switch kind {
	case "binding":
		client, err := altogic.NewClient(base, clientKey)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return func() (string, error) {
			info, err := client.RunOnce(ctx, task)
			if err != nil {
				return "", err
			}
			return string(info.Status), nil
		}, func() { client.Close() }
	case "nethttp":
		runner := newHTTPRunner(base)
		return func() (string, error) {
			info, err := runner.runOnce(ctx, task)
			if err != nil {
				return "", err
			}
			return info.Status, nil
		}, func() {}
	default:
		fmt.Fprintln(os.Stderr, "unknown client", kind)
		os.Exit(2)
	}
	return nil, nil
}
