//go:build cgo

package altogic_test

// Benchmarks of the completion queue:
//
//   - BenchmarkGoroutines: RunOnce (every call through the queue) sequentially and from 4
//     and 16 goroutines, beside net/http.
//   - BenchmarkManyWaits: 10,000 goroutines each waiting with a 1 s deadline for an
//     execution that lasts a minute, through this package and through net/http polling
//     as the library does; each in a child process of its own, which reports the wall
//     time, its OS threads and its resident memory.
//
//	go test -run '^$' -bench 'Goroutines|ManyWaits' -benchtime 1x    (ManyWaits: 1x is one run)

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

func BenchmarkGoroutines(b *testing.B) {
	client, httpClient := benchClients(b)
	ctx := context.Background()
	for _, goroutines := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("altogic/goroutines=%d", goroutines), func(b *testing.B) {
			runCalls(b, goroutines, func() (string, error) {
				info, err := client.RunOnce(ctx, "bench")
				if err != nil {
					return "", err
				}
				return string(info.Status), nil
			})
		})
		b.Run(fmt.Sprintf("nethttp/goroutines=%d", goroutines), func(b *testing.B) {
			runCalls(b, goroutines, func() (string, error) {
				info, err := httpClient.runOnce(ctx, "bench")
				if err != nil {
					return "", err
				}
				return info.Status, nil
			})
		})
	}
}

// manyWaits is the number of goroutines of BenchmarkManyWaits (ALTOGIC_MANY_WAITS changes it).
func manyWaits() int {
	if n, err := strconv.Atoi(os.Getenv("ALTOGIC_MANY_WAITS")); err == nil && n > 0 {
		return n
	}
	return 10000
}

func BenchmarkManyWaits(b *testing.B) {
	n := manyWaits()
	// One worker: the executions stay pending (one runs), and the emulator spends its
	// time answering the polls.
	url := startManyEmulator(b, 1)
	c, err := altogic.NewClient(url, manyKey)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 64 {
				info, err := c.RunOnce(bg, "long")
				if err != nil {
					errs <- err
					return
				}
				ids[i] = info.TaskID
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "ids")
	if err := os.WriteFile(file, []byte(strings.Join(ids, "\n")), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"waits-altogic", "waits-nethttp"} {
		b.Run(strings.TrimPrefix(mode, "waits-"), func(b *testing.B) {
			var f childFigures
			for i := 0; i < b.N; i++ {
				f = runChild(b, mode, "ALTOGIC_CHILD_URL="+url, "ALTOGIC_CHILD_IDS="+file)
				if f.Unexpected != 0 {
					b.Fatalf("%d of %d waits did not end at their deadline; the first: %s", f.Unexpected, f.Calls, f.FirstError)
				}
			}
			b.ReportMetric(f.WallSeconds, "wall-s")
			b.ReportMetric(float64(f.MaxThreads), "threads")
			b.ReportMetric(f.RSSMiB, "rss-MiB")
			b.ReportMetric(f.PeakRSSMiB, "peak-rss-MiB")
			b.ReportMetric(0, "ns/op")
			b.Logf("%d waits with a 1 s deadline: %.2f s, at most %d OS threads, RSS %.1f MiB (peak %.1f; %.1f before the first call), Go stacks %.1f MiB, heap %.1f MiB",
				f.Calls, f.WallSeconds, f.MaxThreads, f.RSSMiB, f.PeakRSSMiB, f.StartRSSMiB, f.StackMiB, f.HeapMiB)
		})
	}
}

// httpPoller waits for an execution with net/http as the library does: GET its status,
// pausing 50 ms and doubling up to 1 s between polls, until it ends or ctx is done.
// Requests to the emulator are limited to 64 connections, as the library's are
// (ALTOGIC_MAX_CONNECTIONS_PER_HOST), so that the server sees the same load.
type httpPoller struct {
	client *http.Client
	url    string
	key    string
}

func newHTTPPoller(url, key string) *httpPoller {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxConnsPerHost = 64
	transport.MaxIdleConnsPerHost = 64
	return &httpPoller{client: &http.Client{Transport: transport, Timeout: 30 * time.Second},
		url: url + "/_api/rest/v1/task/", key: key}
}

func (p *httpPoller) status(ctx context.Context, id string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+id, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Client-Key", p.key)
	resp, err := p.client.Do(req)
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

func (p *httpPoller) wait(ctx context.Context, id string) error {
	pause := 50 * time.Millisecond
	for {
		status, err := p.status(ctx, id)
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
