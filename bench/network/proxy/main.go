// Command netproxy is the "real network" of bench/network: a TCP proxy on 127.0.0.1 that
// delays every byte by -delay in each direction (10 ms: a 20 ms round trip) and counts the
// TCP connections it accepts.
//
//	netproxy -upstream 127.0.0.1:PORT [-listen 127.0.0.1:0] [-delay 10ms] [-handshake=true] [-max-seconds 300]
//
// Once listening it prints one line on stdout, "listening 127.0.0.1:PORT". It stops, printing
// one JSON summary line on stdout ({"connections":N,"max_open":M,"bytes_up":U,"bytes_down":D,
// "closed":C}), on SIGINT or SIGTERM, when its stdin ends (so it never outlives the process
// that started it with a pipe as stdin), or after -max-seconds in any case. With -events it
// also prints one line on stderr per connection opened and closed.
//
// How the delay works: each chunk read from one side is stamped and written to the other side
// -delay later, in order, so a chunk is never held behind the delay of another (a link's
// latency, not a bandwidth limit). With -handshake (the default), the first bytes a client
// sends are delivered no sooner than 3 x -delay after the connection was accepted: over a real
// link the client's connect() returns one round trip after SYN, and its first bytes then take
// one more one-way trip, so a new connection costs the round trip of TCP's handshake here too
// (the client's connect() itself returns at once; the time is taken before its first bytes
// arrive instead, which adds up the same for a call).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type chunk struct {
	data []byte
	due  time.Time
}

var (
	accepted  atomic.Int64
	open      atomic.Int64
	maxOpen   atomic.Int64
	closed    atomic.Int64
	bytesUp   atomic.Int64
	bytesDown atomic.Int64
	events    bool
	started   = time.Now()
)

func logf(format string, args ...any) {
	if events {
		fmt.Fprintf(os.Stderr, "%8.3f "+format+"\n", append([]any{time.Since(started).Seconds()}, args...)...)
	}
}

// pipe copies src to dst, each chunk delayed; notBefore is the earliest time a chunk may be
// delivered (the emulated TCP handshake). On EOF from src it half-closes dst once every chunk
// read before has been delivered; on an error it closes both.
func pipe(dst, src *net.TCPConn, delay time.Duration, notBefore time.Time, counter *atomic.Int64, done func()) {
	defer done()
	queue := make(chan chunk, 4096)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, 32*1024)
			n, err := src.Read(buf)
			if n > 0 {
				due := time.Now().Add(delay)
				if due.Before(notBefore) {
					due = notBefore
				}
				counter.Add(int64(n))
				queue <- chunk{buf[:n], due}
			}
			if err != nil {
				if err != io.EOF {
					queue <- chunk{nil, time.Now().Add(delay)} // nil: an error, forwarded as a reset
				}
				return
			}
		}
	}()
	for c := range queue {
		if wait := time.Until(c.due); wait > 0 {
			time.Sleep(wait)
		}
		if c.data == nil {
			dst.SetLinger(0)
			dst.Close()
			src.Close()
			return
		}
		if _, err := dst.Write(c.data); err != nil {
			dst.Close()
			src.Close()
			return
		}
	}
	dst.CloseWrite()
}

func serve(client *net.TCPConn, upstream string, delay time.Duration, handshake bool) {
	acceptedAt := time.Now()
	id := accepted.Add(1)
	if o := open.Add(1); o > maxOpen.Load() {
		maxOpen.Store(o) // approximate under races, exact for one accept at a time
	}
	logf("conn %d opened from %s (%d open)", id, client.RemoteAddr(), open.Load())
	defer func() {
		closed.Add(1)
		logf("conn %d closed (%d open)", id, open.Add(-1))
	}()
	conn, err := net.DialTimeout("tcp", upstream, 5*time.Second)
	if err != nil {
		fmt.Fprintf(os.Stderr, "netproxy: upstream %s: %v\n", upstream, err)
		client.Close()
		return
	}
	server := conn.(*net.TCPConn)
	notBefore := acceptedAt
	if handshake {
		notBefore = acceptedAt.Add(3 * delay)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go pipe(server, client, delay, notBefore, &bytesUp, wg.Done)
	go pipe(client, server, delay, acceptedAt, &bytesDown, wg.Done)
	wg.Wait()
	client.Close()
	server.Close()
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
	upstream := flag.String("upstream", "", "address to forward to (loopback)")
	delay := flag.Duration("delay", 10*time.Millisecond, "delay added in each direction")
	handshake := flag.Bool("handshake", true, "delay a client's first bytes to 3 x delay after accept (TCP's handshake round trip)")
	maxSeconds := flag.Float64("max-seconds", 300, "exit after this long in any case")
	flag.BoolVar(&events, "events", false, "one stderr line per connection opened and closed")
	flag.Parse()
	if *upstream == "" {
		fmt.Fprintln(os.Stderr, "netproxy: -upstream is required")
		os.Exit(2)
	}
	for _, a := range []string{*listen, *upstream} {
		host, _, err := net.SplitHostPort(a)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			fmt.Fprintf(os.Stderr, "netproxy: %s is not a loopback address\n", a)
			os.Exit(2)
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "netproxy:", err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ln.Addr())

	stop := make(chan string, 3)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() { stop <- (<-signals).String() }()
	go func() {
		io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		stop <- "stdin closed"
	}()
	go func() {
		time.Sleep(time.Duration(*maxSeconds * float64(time.Second)))
		stop <- "time limit"
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetNoDelay(true)
			go serve(c.(*net.TCPConn), *upstream, *delay, *handshake)
		}
	}()
	reason := <-stop
	ln.Close()
	out, _ := json.Marshal(map[string]any{"connections": accepted.Load(), "max_open": maxOpen.Load(),
		"closed": closed.Load(), "bytes_up": bytesUp.Load(), "bytes_down": bytesDown.Load(), "stopped_by": reason})
	fmt.Println(string(out))
}
