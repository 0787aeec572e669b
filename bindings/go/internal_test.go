//go:build cgo

package altogic

import (
	"sync"
	"testing"
	"time"
)

const pendingAnswer = `{"info":{"taskId":"6b0aff383e493494e3e05d0c","scheduledTaskId":"6237b1f17c2a9625f0b2119e",` +
	`"scheduledTaskName":"billOnDemand","triggeredAt":"2026-11-28T16:20:08.160Z","status":"pending"},"errors":null}`

// The Go side of a successful call: reading the library's JSON answer.
func BenchmarkDecodeResult(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if info, err := decodeResult([]byte(pendingAnswer)); err != nil || info.Status != StatusPending {
			b.Fatal(info, err)
		}
	}
}

// The handle guard (a reference count) against the RWMutex alternative, from as many
// goroutines as the benchmark runs in parallel (-cpu 4 for 4).
func BenchmarkGuard(b *testing.B) {
	b.Run("refcount", func(b *testing.B) {
		var c Client
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !c.acquire() {
					b.Fatal("closed")
				}
				c.state.Add(-1) // release without the library: ptr is nil here
			}
		})
	})
	b.Run("rwmutex", func(b *testing.B) {
		var mu sync.RWMutex
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.RLock()
				//lint:ignore SA2001 the lock's own cost is what is measured
				mu.RUnlock()
			}
		})
	})
}

// Close racing acquire and release frees the library's client exactly once, after the
// last call (the library would crash on a double free; ASan-free here, so count).
func TestGuardFreesOnce(t *testing.T) {
	for round := 0; round < 200; round++ {
		c, err := NewClient("http://127.0.0.1:1", "key")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					if !c.acquire() {
						return
					}
					c.release()
				}
			}()
		}
		c.Close()
		wg.Wait()
		if s := c.state.Load(); s != closedBit {
			t.Fatalf("state %#x after Close and every release, want closedBit", s)
		}
	}
}

// Durations reach the library as whole milliseconds under their JSON names, a positive
// fraction rounded up; zero is passed on for the library to refuse, and so is a negative
// value, as 0 (a negative number would make options_json invalid as a whole).
func TestOptionsJSON(t *testing.T) {
	for _, tc := range []struct {
		opt  Option
		want string
	}{
		{WithIdleTimeout(90 * time.Second), `{"idleTimeoutMs":90000}`},
		{WithIdleTimeout(1500 * time.Microsecond), `{"idleTimeoutMs":2}`},
		{WithIdleTimeout(0), `{"idleTimeoutMs":0}`},
		{WithIdleTimeout(-time.Second), `{"idleTimeoutMs":0}`},
		{WithTimeout(time.Second), `{"timeoutMs":1000}`},
		{WithMaxResponseBytes(-1), `{"maxResponseBytes":0}`},
		{WithMaxResponseBytes(1 << 20), `{"maxResponseBytes":1048576}`},
	} {
		if got, err := optionsJSON([]Option{tc.opt}); err != nil || got != tc.want {
			t.Errorf("optionsJSON = %s, %v; want %s", got, err, tc.want)
		}
	}
}
