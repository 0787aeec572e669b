//go:build cgo

package altogic

import (
	"runtime"
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

// RunOnce and GetStatus are blocking calls while no more of them are in progress than
// GOMAXPROCS, and go through the queue while more are and for queuedAfterCrowdFor after;
// the other routes are fixed.
func TestRoutingFollowsCrowds(t *testing.T) {
	defer func(crowd int64, route int32) {
		lastCrowd.Store(crowd)
		routing.Store(route)
	}(lastCrowd.Load(), routing.Load())
	enter := func() (leave func()) {
		shortCalls.Add(1)
		return func() { shortCalls.Add(-1) }
	}
	routing.Store(routeAuto)
	lastCrowd.Store(-int64(time.Hour))
	procs := runtime.GOMAXPROCS(0)
	var leaves []func()
	for i := 1; i <= procs; i++ {
		leaves = append(leaves, enter())
		if !blockingFits() {
			t.Fatalf("%d calls with GOMAXPROCS %d, never more: queued, want blocking", i, procs)
		}
	}
	leaveOneMore := enter()
	if blockingFits() {
		t.Errorf("%d calls with GOMAXPROCS %d: blocking, want queued", procs+1, procs)
	}
	leaveOneMore()
	if blockingFits() {
		t.Error("as many calls as GOMAXPROCS right after more were: blocking, want queued")
	}
	for _, leave := range leaves[1:] {
		leave()
	}
	lastCrowd.Store(int64(time.Since(routingEpoch) - queuedAfterCrowdFor - time.Millisecond))
	if !blockingFits() {
		t.Errorf("a call alone %v after the last crowd: queued, want blocking", queuedAfterCrowdFor)
	}
	leaveSecond := enter()
	routing.Store(routeBlocking)
	if !blockingFits() {
		t.Error("routeBlocking, two calls: queued, want blocking")
	}
	leaveSecond()
	routing.Store(routeQueue)
	if blockingFits() {
		t.Error("routeQueue, one call: blocking, want queued")
	}
	leaves[0]()
}
