// The "real network" shapes of bench/network (over TLS through a delaying proxy), through
// this repository's binding or through net/http (one http.Client), each call's latency
// recorded:
//
//	gobench pool binding|nethttp URL GOROUTINES ROUNDS   goroutines taking turns: in each round
//	                                                     each makes one call, one after another
//	gobench poller binding|nethttp URL CALLS INTERVAL_S  one goroutine, a call every INTERVAL_S
//
// The CA is trusted through SSL_CERT_FILE, which both the library and crypto/x509 read. Prints
// {"latency_us":[...],"errors":N,"first_error":"..."}.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

type shapeResult struct {
	LatencyUS  []float64 `json:"latency_us"`
	Errors     int       `json:"errors"`
	FirstError string    `json:"first_error"`
}

// record makes one call and records it; calls are never concurrent (turns, or one goroutine).
func (r *shapeResult) record(call func() (string, error)) {
	t0 := time.Now()
	status, err := call()
	r.LatencyUS = append(r.LatencyUS, float64(time.Since(t0).Nanoseconds())/1000)
	if err == nil && status != "pending" {
		err = fmt.Errorf("status %q", status)
	}
	if err != nil {
		if r.Errors == 0 {
			r.FirstError = err.Error()
		}
		r.Errors++
	}
}

func networkMain(args []string) {
	if len(args) != 5 || (args[0] != "pool" && args[0] != "poller") {
		fmt.Fprintln(os.Stderr, "usage: gobench pool binding|nethttp URL GOROUTINES ROUNDS | poller binding|nethttp URL CALLS INTERVAL_S")
		os.Exit(2)
	}
	shape, kind, base := args[0], args[1], args[2]
	n, err := strconv.Atoi(args[3])
	if err != nil || n < 1 || n > 10000 {
		fmt.Fprintln(os.Stderr, "bad count", args[3])
		os.Exit(2)
	}
	call, closeClient := runOnceCaller(kind, base)
	defer closeClient()
	var result shapeResult
	if shape == "pool" {
		rounds, err := strconv.Atoi(args[4])
		if err != nil || rounds < 1 || n*rounds > 10000 {
			fmt.Fprintln(os.Stderr, "bad ROUNDS", args[4])
			os.Exit(2)
		}
		// The baton: goroutine i waits on turns[i], calls, and hands over to i+1.
		turns := make([]chan int, n)
		for i := range turns {
			turns[i] = make(chan int, 1)
		}
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(me int) {
				defer wg.Done()
				for turn := range turns[me] {
					if turn >= n*rounds {
						turns[(me+1)%n] <- turn // pass the end on, then stop
						return
					}
					result.record(call)
					turns[(me+1)%n] <- turn + 1
				}
			}(i)
		}
		turns[0] <- 0
		wg.Wait()
	} else {
		interval, err := strconv.ParseFloat(args[4], 64)
		if err != nil || interval < 0 {
			fmt.Fprintln(os.Stderr, "bad INTERVAL_S", args[4])
			os.Exit(2)
		}
		start := time.Now()
		for i := 0; i < n; i++ {
			time.Sleep(time.Until(start.Add(time.Duration(float64(i) * interval * float64(time.Second)))))
			result.record(call)
		}
	}
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}
