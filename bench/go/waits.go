package main

// gobench waits binding|nethttp URL IDSFILE: one goroutine per task id of IDSFILE (executions
// that stay pending), each waiting for it with a 1 s deadline, through the Go binding
// (client.Wait) or through net/http polling as the library does (GET the status, pause 50 ms
// doubling up to 1 s, at most 64 connections to the host), all at once. The body of
// bindings/go's BenchmarkManyWaits child (TestChild, modes waits-altogic and waits-nethttp),
// run by bench/waits/run.py, which prints the targets.
//
// Prints one JSON object: the wall time from the first wait to the last one ending, the OS
// threads of the process (before the first call, and at most during the waits), the threads
// named altogic-runtime (the library's, /proc/self/task/*/comm) at most, the resident memory
// before the first call, at the end, and its peak (VmHWM).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

const waitsKey = "many-client-key"

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

// runtimeThreads counts the threads of this process named altogic-runtime.
func runtimeThreads() int {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range entries {
		comm, err := os.ReadFile("/proc/self/task/" + e.Name() + "/comm")
		if err == nil && strings.TrimSpace(string(comm)) == "altogic-runtime" {
			n++
		}
	}
	return n
}

func pollStatus(ctx context.Context, client *http.Client, base, id string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_api/rest/v1/task/"+id, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Client-Key", waitsKey)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, data)
	}
	var info httpTaskInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return "", err
	}
	return info.Status, nil
}

func waitsMain(mode, base, idsFile string) {
	data, err := os.ReadFile(idsFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ids := strings.Fields(string(data))
	threadsAtStart := procStatus("Threads")
	rssAtStart := procStatus("VmRSS")
	var wait func(ctx context.Context, id string) error
	switch mode {
	case "binding":
		client, err := altogic.NewClient(base, waitsKey)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer client.Close()
		wait = func(ctx context.Context, id string) error {
			_, err := client.Wait(ctx, id)
			return err
		}
	case "nethttp":
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxConnsPerHost = 64
		transport.MaxIdleConnsPerHost = 64
		client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
		wait = func(ctx context.Context, id string) error {
			pause := 50 * time.Millisecond
			for {
				status, err := pollStatus(ctx, client, base, id)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err == nil && (status == "completed" || status == "errors") {
					return nil
				}
				timer := time.NewTimer(pause)
				select {
				case <-ctx.Done():
					timer.Stop()
					return ctx.Err()
				case <-timer.C:
				}
				pause = min(2*pause, time.Second)
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown waits mode", mode)
		os.Exit(1)
	}

	var maxThreads, maxRuntime atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	sample := func() {
		if n := int64(procStatus("Threads")); n > maxThreads.Load() {
			maxThreads.Store(n)
		}
		if n := int64(runtimeThreads()); n > maxRuntime.Load() {
			maxRuntime.Store(n)
		}
	}
	go func() {
		defer close(sampled)
		ticker := time.NewTicker(5 * time.Millisecond)
		defer ticker.Stop()
		for {
			sample()
			select {
			case <-stop:
				return
			case <-ticker.C:
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	var unexpected atomic.Int64
	var firstErr atomic.Value
	for _, id := range ids {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := wait(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
				unexpected.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprintf("want a deadline, got %v", err))
			}
		}(id)
	}
	wg.Wait()
	wall := time.Since(start)
	close(stop)
	<-sampled
	sample()
	first, _ := firstErr.Load().(string)
	out, _ := json.Marshal(map[string]any{
		"client": "go-" + mode, "waits": len(ids), "unexpected": unexpected.Load(), "first": first,
		"wall": wall.Seconds(), "threads_at_start": threadsAtStart, "max_threads": maxThreads.Load(),
		"max_runtime_threads": maxRuntime.Load(), "start_rss_mib": float64(rssAtStart) / 1024,
		"rss_mib": float64(procStatus("VmRSS")) / 1024, "peak_rss_mib": float64(procStatus("VmHWM")) / 1024,
	})
	fmt.Println(string(out))
}
