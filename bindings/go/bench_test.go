//go:build cgo

package altogic_test

// Benchmarks: this package's RunOnce against a plain net/http + encoding/json loop making
// the same calls, sequentially and from 4 goroutines, in one run against the same server.
//
// The server is the emulator, in a process of its own (so that, unlike a server written in
// Go inside the test, it does not share the Go runtime and scheduler with the client
// under test), started for the benchmarks with one task that completes at once, so that
// executions do not pile up.
//
//	go test -run '^$' -bench . -benchtime 2s

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

const benchConfig = `
[[client_keys]]
key = "bench-client-key"

[[tasks]]
name = "bench"
service = { type = "simulated", duration = "0s" }
`

var (
	benchOnce sync.Once
	benchURL  string
	benchErr  error
)

// benchServer starts the benchmarks' emulator once (TestMain stops it), or uses the one
// ALTOGIC_BENCH_URL names, started by hand with benchConfig (e.g. to measure the client
// process alone with perf stat).
func benchServer(b *testing.B) string {
	benchOnce.Do(func() {
		if url := os.Getenv("ALTOGIC_BENCH_URL"); url != "" {
			benchURL = url // an emulator started by hand with the config above
			return
		}
		dir, err := os.MkdirTemp("", "altogic-bench")
		if err != nil {
			benchErr = err
			return
		}
		config := filepath.Join(dir, "bench.toml")
		if benchErr = os.WriteFile(config, []byte(benchConfig), 0o600); benchErr != nil {
			return
		}
		var emu *emulator
		emu, benchErr = startEmulator("--config", config, "--retention", "2s")
		if benchErr == nil {
			benchURL = emu.url
			benchCleanup = append(benchCleanup, emu.stop, func() { os.RemoveAll(dir) })
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchURL
}

// benchClients returns the two clients the benchmarks compare, both of the emulator of
// benchServer: this package's (closed when b ends) and the net/http loop's.
func benchClients(b *testing.B) (*altogic.Client, *httpRunner) {
	url := benchServer(b)
	client, err := altogic.NewClient(url, "bench-client-key")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	return client, newHTTPRunner(url)
}

// benchCleanup is run by TestMain after the benchmarks.
var benchCleanup []func()

// httpTaskInfo is what the net/http loop decodes the answer into.
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

// httpRunner makes the runOnce call with net/http, as a Go program would without this
// package: POST /_api/rest/v1/task with the client key and a JSON body, decode the answer.
type httpRunner struct {
	client *http.Client
	url    string
}

func newHTTPRunner(url string) *httpRunner {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 16 // the default 2 would close connections with 4 goroutines
	return &httpRunner{client: &http.Client{Transport: transport, Timeout: 30 * time.Second},
		url: url + "/_api/rest/v1/task"}
}

func (r *httpRunner) runOnce(ctx context.Context, task string) (*httpTaskInfo, error) {
	body, err := json.Marshal(map[string]string{"taskNameOrId": task})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Client", "altogic-go-nethttp")
	req.Header.Set("X-Client-Key", "bench-client-key")
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

// runCalls makes b.N calls from goroutines goroutines and reports calls/s.
func runCalls(b *testing.B, goroutines int, call func() (string, error)) {
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		n := b.N / goroutines
		if g < b.N%goroutines {
			n++
		}
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				status, err := call()
				if err == nil && status != "pending" {
					err = fmt.Errorf("status %q", status)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(n)
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

func BenchmarkRunOnce(b *testing.B) {
	client, httpClient := benchClients(b)
	ctx := context.Background()
	cancellable, cancel := context.WithCancel(ctx)
	defer cancel()

	viaAltogic := func(ctx context.Context) func() (string, error) {
		return func() (string, error) {
			info, err := client.RunOnce(ctx, "bench")
			if err != nil {
				return "", err
			}
			return string(info.Status), nil
		}
	}
	viaHTTP := func() (string, error) {
		info, err := httpClient.runOnce(ctx, "bench")
		if err != nil {
			return "", err
		}
		return info.Status, nil
	}
	for _, goroutines := range []int{1, 4} {
		b.Run(fmt.Sprintf("altogic/goroutines=%d", goroutines), func(b *testing.B) {
			runCalls(b, goroutines, viaAltogic(ctx))
		})
		b.Run(fmt.Sprintf("altogic-cancellable-ctx/goroutines=%d", goroutines), func(b *testing.B) {
			runCalls(b, goroutines, viaAltogic(cancellable))
		})
		b.Run(fmt.Sprintf("nethttp/goroutines=%d", goroutines), func(b *testing.B) {
			runCalls(b, goroutines, viaHTTP)
		})
	}
}

// BenchmarkCallOverhead measures a call that never reaches the network (the library
// refuses the empty task id): the cost of cgo, the handle guard, the C string and the JSON
// answer, sequentially and from 4 goroutines sharing one client.
func BenchmarkCallOverhead(b *testing.B) {
	client, err := altogic.NewClient("http://127.0.0.1:1", "key")
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	for _, goroutines := range []int{1, 4} {
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			runCalls(b, goroutines, func() (string, error) {
				if _, err := client.GetStatus(context.Background(), ""); err == nil {
					return "", fmt.Errorf("no error")
				}
				return "pending", nil
			})
		})
	}
}

// BenchmarkCompare measures both clients under the same conditions: the calls alternate
// between this package and net/http in chunks of 200 per client, so that a change of load
// on the machine during the run (other processes, CPU frequency) affects both alike. It
// reports each client's ns per call and calls/s, and speedup: net/http's time per call
// over this package's (above 1 means this package is faster).
func BenchmarkCompare(b *testing.B) {
	client, httpClient := benchClients(b)
	ctx := context.Background()
	calls := map[string]func() error{
		"altogic": func() error { _, err := client.RunOnce(ctx, "bench"); return err },
		"nethttp": func() error { _, err := httpClient.runOnce(ctx, "bench"); return err },
	}
	for _, goroutines := range []int{1, 4} {
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			const chunk = 200
			spent := map[string]time.Duration{}
			done := map[string]int{}
			for _, call := range calls { // warm both connection pools
				if err := callsFrom(goroutines, 4*goroutines, call); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for left := b.N; left > 0; left -= chunk {
				n := min(left, chunk)
				for _, name := range []string{"altogic", "nethttp"} {
					start := time.Now()
					if err := callsFrom(goroutines, n, calls[name]); err != nil {
						b.Fatal(err)
					}
					spent[name] += time.Since(start)
					done[name] += n
				}
			}
			b.StopTimer()
			for _, name := range []string{"altogic", "nethttp"} {
				perCall := float64(spent[name].Nanoseconds()) / float64(done[name])
				b.ReportMetric(perCall, name+"-ns/call")
				b.ReportMetric(1e9/perCall, name+"-calls/s")
			}
			b.ReportMetric(float64(spent["nethttp"])/float64(spent["altogic"]), "speedup")
			b.ReportMetric(0, "ns/op") // both clients run per op: see the metrics above
		})
	}
}

// callsFrom makes n calls from goroutines goroutines.
func callsFrom(goroutines, n int, call func() error) error {
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		share := n / goroutines
		if g < n%goroutines {
			share++
		}
		wg.Add(1)
		go func(share int) {
			defer wg.Done()
			for i := 0; i < share; i++ {
				if err := call(); err != nil {
					errs <- err
					return
				}
			}
		}(share)
	}
	wg.Wait()
	close(errs)
	return <-errs
}
