//go:build cgo

package altogic_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

// captured is one slog record a captureHandler received.
type captured struct {
	level slog.Level
	msg   string
	attrs map[string]any // by key: string, int64, float64...
	text  string         // the message and every attribute, for looking for secrets
}

// captureHandler keeps the records it is enabled for (level and above).
type captureHandler struct {
	level slog.Leveler
	mu    sync.Mutex
	got   []captured
}

func (h *captureHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	c := captured{level: r.Level, msg: r.Message, attrs: map[string]any{}}
	var text strings.Builder
	text.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		c.attrs[a.Key] = a.Value.Any()
		fmt.Fprintf(&text, " %s=%v", a.Key, a.Value.Any())
		return true
	})
	c.text = text.String()
	h.mu.Lock()
	h.got = append(h.got, c)
	h.mu.Unlock()
	return nil
}

func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func (h *captureHandler) records() []captured {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]captured(nil), h.got...)
}

// events are the records of event (all records for "").
func (h *captureHandler) events(event string) []captured {
	var out []captured
	for _, r := range h.records() {
		if event == "" || r.attrs["event"] == event {
			out = append(out, r)
		}
	}
	return out
}

// debugLogger is a logger of every record, and its handler.
func debugLogger() (*slog.Logger, *captureHandler) {
	h := &captureHandler{level: slog.LevelDebug}
	return slog.New(h), h
}

// useDefaultLogger makes h slog's default logger for the test (the log package's output
// restored after: slog.SetDefault redirects it).
func useDefaultLogger(t testing.TB, h slog.Handler) {
	old, writer, flags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() {
		slog.SetDefault(old)
		log.SetOutput(writer)
		log.SetFlags(flags)
	})
}

const statusBody = `{"taskId":"6237b225b9a84d607cd79044","scheduledTaskId":"6237b1f17c2a9625f0b2119e",` +
	`"scheduledTaskName":"billOnDemand","triggeredAt":"2022-03-20T23:00:53.966Z","status":"processing"}`

// The records of a request: a slog record of level Debug, its fields as attributes
// (numbers as numbers), the message its method and path, routed to the client's logger.
func TestLogRecordAttributes(t *testing.T) {
	logger, h := debugLogger()
	c := newClient(t, fixedServer(t, 200, nil, statusBody), demoKey, altogic.WithLogger(logger))
	if _, err := c.GetStatus(bg, "abc"); err != nil {
		t.Fatal(err)
	}
	requests := h.events("request")
	if len(requests) != 1 {
		t.Fatalf("%d request records: %+v", len(requests), h.records())
	}
	r := requests[0]
	if r.level != slog.LevelDebug || r.msg != "GET /_api/rest/v1/task/abc" {
		t.Errorf("record %v %q", r.level, r.msg)
	}
	if r.attrs["client"] != int64(altogic.ClientID(c)) || r.attrs["status"] != int64(200) ||
		r.attrs["attempt"] != int64(1) || r.attrs["method"] != "GET" || r.attrs["connection"] != "new" {
		t.Errorf("attributes %v", r.attrs)
	}
	switch r.attrs["ms"].(type) {
	case int64, float64:
	default:
		t.Errorf("ms is %T, want a number", r.attrs["ms"])
	}
	if _, ok := r.attrs["level"]; ok {
		t.Error("the record's level is an attribute too")
	}
	if opened := h.events("connection_opened"); len(opened) != 1 {
		t.Errorf("%d connection_opened records", len(opened))
	}
}

// A GET that fails before any byte of its answer is sent again once, on a new connection:
// a retry record (Info) with its attempt and reason, then the request's, attempt 2.
func TestLogRetry(t *testing.T) {
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gets.Add(1) == 1 { // the first GET: reset, no answer
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
			return
		}
		fmt.Fprint(w, statusBody)
	}))
	t.Cleanup(srv.Close)
	logger, h := debugLogger()
	c := newClient(t, srv.URL, demoKey, altogic.WithLogger(logger))
	info, err := c.GetStatus(bg, "abc")
	if err != nil || info.Status != altogic.StatusProcessing {
		t.Fatalf("GetStatus = %v, %v", info, err)
	}
	retries := h.events("retry")
	if len(retries) != 1 {
		t.Fatalf("%d retry records: %+v", len(retries), h.records())
	}
	r := retries[0]
	if r.level != slog.LevelInfo || r.attrs["attempt"] != int64(2) || r.attrs["method"] != "GET" ||
		r.attrs["reason"] == nil || r.attrs["client"] != int64(altogic.ClientID(c)) {
		t.Errorf("retry record %v %q %v", r.level, r.msg, r.attrs)
	}
	requests := h.events("request")
	if len(requests) != 1 || requests[0].attrs["attempt"] != int64(2) || requests[0].attrs["status"] != int64(200) {
		t.Errorf("request records %+v", requests)
	}
	if n := gets.Load(); n != 2 {
		t.Errorf("the server saw %d GETs, want 2", n)
	}
}

// A server that closes the connection after each answer: each call opens a connection.
func TestLogReconnect(t *testing.T) {
	logger, h := debugLogger()
	url := fixedServer(t, 200, map[string]string{"Connection": "close"}, statusBody)
	c := newClient(t, url, demoKey, altogic.WithLogger(logger))
	for i := 0; i < 2; i++ {
		if _, err := c.GetStatus(bg, "abc"); err != nil {
			t.Fatal(err)
		}
	}
	opened := h.events("connection_opened")
	if len(opened) != 2 {
		t.Fatalf("%d connection_opened records, want 2: %+v", len(opened), h.records())
	}
	for _, r := range append(opened, h.events("request")...) {
		if r.attrs["client"] != int64(altogic.ClientID(c)) {
			t.Errorf("record %q of client %v, want %d", r.msg, r.attrs["client"], altogic.ClientID(c))
		}
	}
	for _, r := range h.events("request") {
		if r.attrs["connection"] != "new" {
			t.Errorf("request on a %v connection, want new", r.attrs["connection"])
		}
	}
	// The server said it closes: each connection's end is a record with that reason.
	closed := h.events("connection_closed")
	if len(closed) != 2 {
		t.Fatalf("%d connection_closed records, want 2: %+v", len(closed), h.records())
	}
	for _, r := range closed {
		if r.attrs["reason"] != "server_asked" || r.attrs["host"] != "127.0.0.1" {
			t.Errorf("connection_closed record %+v, want reason server_asked, host 127.0.0.1", r.attrs)
		}
	}
}

// A wait cancelled by its ctx: the library's cancelled record (Debug), routed like the
// client's other records (here to slog.Default(): the client has no logger of its own).
func TestLogCancelledWait(t *testing.T) {
	h := &captureHandler{level: slog.LevelDebug}
	useDefaultLogger(t, h)
	c := demoClient(t)
	info := runOnce(t, c, "slowReport")
	ctx, cancel := context.WithCancel(bg)
	time.AfterFunc(200*time.Millisecond, cancel)
	if _, err := c.Wait(ctx, info.TaskID); err == nil {
		t.Fatal("the wait was not cancelled")
	}
	deadline := time.Now().Add(2 * cancelBound)
	for len(h.events("cancelled")) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // the record comes as the library ends its wait
	}
	cancelled := h.events("cancelled")
	if len(cancelled) == 0 {
		t.Fatalf("no cancelled record: %+v", h.records())
	}
	// Debug: a cancelled call is what the program asked for, not news at Info.
	if r := cancelled[0]; r.level != slog.LevelDebug || r.msg != "cancelled" {
		t.Errorf("cancelled record %v %q %v", r.level, r.msg, r.attrs)
	}
	waitQueueEmpty(t)
}

// No record holds a secret: client key, API key, session token.
func TestLogNoSecrets(t *testing.T) {
	const clientKey, apiKey, session = "secret-client-key-7f3a", "secret-api-key-91c2", "secret-session-5e8d"
	var seen sync.Map // what the server received, to be sure the secrets were sent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("X-Client-Key")+r.Header.Get("Authorization")+r.Header.Get("Session"), true)
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		fmt.Fprint(w, strings.Replace(statusBody, "processing", "completed", 1))
	}))
	t.Cleanup(srv.Close)
	logger, h := debugLogger()
	useDefaultLogger(t, h)
	c := newClient(t, srv.URL, clientKey, altogic.WithLogger(logger), altogic.WithAPIKey(apiKey),
		altogic.WithSession(session))
	if _, err := c.RunOnce(bg, "billOnDemand"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(bg, "abc"); err != nil {
		t.Fatal(err)
	}
	for range c.Watch(bg, "abc") {
	}
	if _, ok := seen.Load(clientKey + apiKey + session); !ok {
		t.Fatal("the server did not receive the secrets")
	}
	records := h.records()
	if len(records) < 3 {
		t.Fatalf("only %d records", len(records))
	}
	for _, r := range records {
		for _, secret := range []string{clientKey, apiKey, session} {
			if strings.Contains(r.text, secret) {
				t.Errorf("a record shows a secret: %s", r.text)
			}
		}
	}
}

// Each client's records go to its own logger; those of a client without WithLogger to
// slog.Default().
func TestLogRoutesByClient(t *testing.T) {
	def := &captureHandler{level: slog.LevelDebug}
	useDefaultLogger(t, def)
	url := fixedServer(t, 200, nil, statusBody)
	l1, h1 := debugLogger()
	l2, h2 := debugLogger()
	c1 := newClient(t, url, demoKey, altogic.WithLogger(l1))
	c2 := newClient(t, url, demoKey, altogic.WithLogger(l2))
	c3 := newClient(t, url, demoKey)
	inGoroutines(t, 3, func(g int) error {
		c := []*altogic.Client{c1, c2, c3}[g]
		for i := 0; i < 5; i++ {
			if _, err := c.GetStatus(bg, "abc"); err != nil {
				return err
			}
		}
		return nil
	})
	for i, want := range []struct {
		h *captureHandler
		c *altogic.Client
	}{{h1, c1}, {h2, c2}, {def, c3}} {
		requests := want.h.events("request")
		if len(requests) != 5 {
			t.Errorf("logger %d: %d request records, want 5", i+1, len(requests))
		}
		for _, r := range want.h.records() {
			if r.attrs["client"] != nil && r.attrs["client"] != int64(altogic.ClientID(want.c)) {
				t.Errorf("logger %d got a record of client %v: %s", i+1, r.attrs["client"], r.text)
			}
		}
	}
}

// The library builds records only at the levels some logger is enabled for: with none
// enabled for Debug its level is not Debug; a client whose logger is enabled for Debug
// raises it until it is closed; a logger's level changed later is followed at its next
// call.
func TestLogLevelFollowsLoggers(t *testing.T) {
	useDefaultLogger(t, &captureHandler{level: slog.LevelInfo})
	url := fixedServer(t, 200, nil, statusBody)
	info := &captureHandler{level: slog.LevelInfo}
	c := newClient(t, url, demoKey, altogic.WithLogger(slog.New(info)))
	if _, err := c.GetStatus(bg, "abc"); err != nil {
		t.Fatal(err)
	}
	if level := altogic.LibraryLogLevel(); level != 3 {
		t.Errorf("library level %d with loggers enabled for Info, want 3 (ALTOGIC_LOG_INFO)", level)
	}
	if n := len(info.records()); n != 0 {
		t.Errorf("%d records reached a logger enabled for Info only", n)
	}

	debugLog, debug := debugLogger()
	d := newClient(t, url, demoKey, altogic.WithLogger(debugLog))
	if level := altogic.LibraryLogLevel(); level != 4 {
		t.Errorf("library level %d with a logger enabled for Debug, want 4", level)
	}
	if _, err := d.GetStatus(bg, "abc"); err != nil {
		t.Fatal(err)
	}
	if len(debug.events("request")) != 1 {
		t.Errorf("debug records %+v", debug.records())
	}
	d.Close()
	if level := altogic.LibraryLogLevel(); level != 3 {
		t.Errorf("library level %d once the Debug logger's client is closed, want 3", level)
	}

	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	varying := &captureHandler{level: &lv}
	v := newClient(t, url, demoKey, altogic.WithLogger(slog.New(varying)))
	lv.Set(slog.LevelDebug)
	if _, err := v.GetStatus(bg, "abc"); err != nil {
		t.Fatal(err)
	}
	if level := altogic.LibraryLogLevel(); level != 4 {
		t.Errorf("library level %d after the logger's level went to Debug, want 4", level)
	}
	lv.Set(slog.LevelError)
	if _, err := v.GetStatus(bg, "abc"); err != nil {
		t.Fatal(err)
	}
	if level := altogic.LibraryLogLevel(); level != 3 {
		t.Errorf("library level %d after the logger's level went to Error, want 3 (the default logger's)", level)
	}
	slog.SetDefault(slog.New(&captureHandler{level: slog.LevelError + 4}))
	v.Close()
	c.Close()
	off := newClient(t, url, demoKey, altogic.WithLogger(slog.New(&captureHandler{level: slog.LevelError + 4})))
	if _, err := off.GetStatus(bg, "abc"); err != nil {
		t.Fatal(err)
	}
	if level := altogic.LibraryLogLevel(); level != 1 {
		t.Errorf("library level %d with no logger enabled, want 1 (ALTOGIC_LOG_ERROR, the least)", level)
	}
}
