//go:build cgo

package altogic_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

const (
	demoKey        = "demo-client-key"
	sessionKey     = "demo-session-key"
	sessionToken   = "demo-session-token"
	unknownTaskID  = "0123456789abcdef01234567"
	billOnDemandID = "6237b1f17c2a9625f0b2119e"
)

var bg = context.Background()

func newClient(t testing.TB, url, key string, opts ...altogic.Option) *altogic.Client {
	t.Helper()
	c, err := altogic.NewClient(url, key, opts...)
	if err != nil {
		t.Fatalf("NewClient(%q, %q): %v", url, key, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func demoClient(t testing.TB, opts ...altogic.Option) *altogic.Client {
	return newClient(t, emulatorURL, demoKey, opts...)
}

// asAPIError fails the test unless err is an *APIError.
func asAPIError(t testing.TB, err error) *altogic.APIError {
	t.Helper()
	var apiErr *altogic.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not an *altogic.APIError", err, err)
	}
	for _, item := range apiErr.Items {
		if item.Origin == "" || item.Code == "" || item.Message == "" {
			t.Errorf("error item without origin, code or message: %+v", item)
		}
	}
	return apiErr
}

func wantCode(t testing.TB, err error, status int, code string) *altogic.APIError {
	t.Helper()
	apiErr := asAPIError(t, err)
	if apiErr.Status != status || !apiErr.HasCode(code) {
		t.Fatalf("error %v: want status %d and code %s", err, status, code)
	}
	return apiErr
}

func runOnce(t testing.TB, c *altogic.Client, task string) *altogic.TaskInfo {
	t.Helper()
	info, err := c.RunOnce(bg, task)
	if err != nil {
		t.Fatalf("RunOnce(%s): %v", task, err)
	}
	return info
}

// closedPort is a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// stallingServer accepts connections on loopback and never answers.
func stallingServer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, conn := range conns {
			conn.Close()
		}
	})
	return "http://" + l.Addr().String()
}

// fixedServer answers every request with status and body.
func fixedServer(t testing.TB, status int, header map[string]string, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// executions counts the emulator's executions of a task.
func executions(t testing.TB, task string) int {
	t.Helper()
	resp, err := http.Get(emulatorURL + "/_emulator/executions?limit=1&task=" + task)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Total int }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Total
}

// checkGoroutines fails the test if more goroutines run than before, once those ending
// had a moment to end.
func checkGoroutines(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left behind:\n%s", n-before, buf[:runtime.Stack(buf, true)])
	}
}

func TestVersion(t *testing.T) {
	if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(altogic.Version()) {
		t.Fatalf("Version() = %q", altogic.Version())
	}
}

func TestRunOnceThenWait(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "billOnDemand")
	if info.Status != altogic.StatusPending || info.Done() || len(info.TaskID) != 24 ||
		info.ScheduledTaskID != billOnDemandID || info.ScheduledTaskName != "billOnDemand" ||
		info.TriggeredAt.IsZero() || info.StartedAt != nil || info.CompletedAt != nil {
		t.Fatalf("RunOnce answered %+v", info)
	}
	start := time.Now()
	done, err := c.Wait(bg, info.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != altogic.StatusCompleted || !done.Done() || done.TaskID != info.TaskID ||
		done.StartedAt == nil || done.CompletedAt == nil || done.CompletedAt.Before(*done.StartedAt) ||
		done.Errors != nil {
		t.Fatalf("Wait answered %+v", done)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("waiting for a 200 ms task took %v", elapsed)
	}
	// Raw is the TaskInfo object as the service sent it; MarshalJSON gives it back.
	var raw map[string]any
	if err := json.Unmarshal(done.Raw, &raw); err != nil || raw["status"] != "completed" {
		t.Fatalf("Raw = %s (%v)", done.Raw, err)
	}
	if out, _ := json.Marshal(done); string(out) != string(done.Raw) {
		t.Errorf("json.Marshal(TaskInfo) = %s, want Raw", out)
	}
	// Waiting again on an ended execution answers at once.
	again, err := c.Wait(bg, info.TaskID)
	if err != nil || again.Status != altogic.StatusCompleted {
		t.Fatalf("second Wait: %+v, %v", again, err)
	}
}

func TestRunOnceByID(t *testing.T) {
	info := runOnce(t, demoClient(t), billOnDemandID)
	if info.ScheduledTaskName != "billOnDemand" {
		t.Fatalf("RunOnce by id answered %+v", info)
	}
}

func TestFailingTask(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "failingTask")
	done, err := c.Wait(bg, info.TaskID)
	if err != nil {
		t.Fatal(err) // the task failed; the call did not
	}
	if done.Status != altogic.StatusErrors || !done.Done() ||
		!strings.Contains(string(done.Errors), "simulated_failure") {
		t.Fatalf("Wait answered %+v (errors %s)", done, done.Errors)
	}
}

func TestGetStatus(t *testing.T) {
	c := demoClient(t)
	info := runOnce(t, c, "billOnDemand")
	got, err := c.GetStatus(bg, info.TaskID)
	if err != nil || got == nil || got.TaskID != info.TaskID || got.Done() {
		t.Fatalf("GetStatus = %+v, %v", got, err)
	}
	// An execution the service no longer keeps (or never had): no info, no error.
	got, err = c.GetStatus(bg, unknownTaskID)
	if got != nil || err != nil {
		t.Fatalf("GetStatus(unknown) = %+v, %v; want nil, nil", got, err)
	}
	// A wait for it fails in the library, with code execution_not_found naming the id.
	got, err = c.Wait(bg, unknownTaskID)
	if got != nil || !errors.Is(err, altogic.ErrExecutionNotFound) {
		t.Fatalf("Wait(unknown) = %+v, %v; want nil, ErrExecutionNotFound", got, err)
	}
	item := wantCode(t, err, 0, "execution_not_found").Items[0]
	var details struct{ TaskID string }
	if json.Unmarshal(item.Details, &details) != nil || details.TaskID != unknownTaskID {
		t.Errorf("execution_not_found details %s, want taskId %s", item.Details, unknownTaskID)
	}
	for _, sentinel := range []error{altogic.ErrInvalidArgument, altogic.ErrNetwork, altogic.ErrTimeout} {
		if errors.Is(err, sentinel) {
			t.Errorf("execution_not_found matches %v", sentinel)
		}
	}
}

func TestTaskInfoKeepsUnknownFields(t *testing.T) {
	body := `{"taskId":"a","status":"processing","triggeredAt":"2022-03-20T23:00:53.966Z",` +
		`"startedAt":"not a time","extra":{"n":1.50}}`
	c := newClient(t, fixedServer(t, 200, nil, body), demoKey)
	info, err := c.GetStatus(bg, "a")
	if err != nil {
		t.Fatal(err)
	}
	if string(info.Raw) != body {
		t.Errorf("Raw = %s, want %s", info.Raw, body)
	}
	if info.Status != altogic.StatusProcessing || info.StartedAt != nil ||
		!info.TriggeredAt.Equal(time.Date(2022, 3, 20, 23, 0, 53, 966e6, time.UTC)) {
		t.Errorf("decoded %+v", info)
	}
}

func TestServiceErrors(t *testing.T) {
	// A wrong client key: the service's 401, with its items.
	c := newClient(t, emulatorURL, "wrong-key")
	info, err := c.RunOnce(bg, "billOnDemand")
	if info != nil {
		t.Errorf("info %+v beside an error", info)
	}
	apiErr := wantCode(t, err, 401, "invalid_client_key")
	if apiErr.StatusText != "Unauthorized" || apiErr.Items[0].Origin != "client_error" {
		t.Errorf("APIError %+v", apiErr)
	}
	if !strings.Contains(err.Error(), "401 Unauthorized: invalid_client_key") {
		t.Errorf("Error() = %q", err.Error())
	}
	for _, sentinel := range []error{altogic.ErrTimeout, altogic.ErrNetwork, altogic.ErrInvalidArgument, altogic.ErrClosed} {
		if errors.Is(err, sentinel) {
			t.Errorf("a 401 matches %v", sentinel)
		}
	}
	// An unknown task: 404.
	_, err = demoClient(t).RunOnce(bg, "noSuchTask")
	wantCode(t, err, 404, "not_found")
}

func TestNetworkError(t *testing.T) {
	c := newClient(t, closedPort(t), demoKey)
	for name, call := range map[string]func() error{
		"RunOnce":   func() error { _, err := c.RunOnce(bg, "x"); return err },
		"GetStatus": func() error { _, err := c.GetStatus(bg, "x"); return err },
	} {
		err := call()
		if !errors.Is(err, altogic.ErrNetwork) {
			t.Fatalf("%s: %v, want ErrNetwork", name, err)
		}
		wantCode(t, err, 0, "network_error")
	}
	// A wait retries network errors until its deadline, then reports the last one.
	ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
	defer cancel()
	_, err := c.Wait(ctx, "x")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait: %v, want context.DeadlineExceeded", err)
	}
	if apiErr := asAPIError(t, err); apiErr.HasCode("timeout") &&
		!strings.Contains(string(apiErr.Items[0].Details), "network_error") {
		t.Errorf("the wait's timeout does not name the last error: %s", apiErr.Items[0].Details)
	}
}

func TestTLSAndProxyErrors(t *testing.T) {
	// The emulator speaks plain HTTP: a TLS handshake with it fails.
	c := newClient(t, strings.Replace(emulatorURL, "http://", "https://", 1), demoKey)
	_, err := c.RunOnce(bg, "billOnDemand")
	if !errors.Is(err, altogic.ErrTLS) || !errors.Is(err, altogic.ErrNetwork) {
		t.Fatalf("RunOnce over TLS to a plain server: %v, want ErrTLS and ErrNetwork", err)
	}
	wantCode(t, err, 0, "tls_error")

	// A proxy that is not there: a network error naming it, without its password.
	proxy := strings.Replace(closedPort(t), "http://", "http://u:SECRET@", 1)
	c = newClient(t, emulatorURL, demoKey, altogic.WithProxy(proxy))
	_, err = c.RunOnce(bg, "billOnDemand")
	if !errors.Is(err, altogic.ErrNetwork) || errors.Is(err, altogic.ErrTLS) {
		t.Fatalf("RunOnce through a closed proxy: %v", err)
	}
	if text := fmt.Sprint(err); strings.Contains(text, "SECRET") || !strings.Contains(text, "through the proxy") {
		t.Errorf("the error does not name the proxy, or shows its password: %s", text)
	}
	// "" means no proxy.
	runOnce(t, newClient(t, emulatorURL, demoKey, altogic.WithProxy("")), "billOnDemand")

	// A CA file that holds no certificate.
	// A file removed with os.Remove, not a t.TempDir: under wine 8 (scripts/test-platforms.sh)
	// Go's RemoveAll fails, wine lacking the POSIX-semantics delete it asks Windows for.
	file, err := os.CreateTemp("", "altogic-notes-*.txt")
	if err != nil {
		t.Fatal(err)
	}
	notPEM := file.Name()
	t.Cleanup(func() { os.Remove(notPEM) })
	if _, err := file.WriteString("no certificate\n"); err != nil {
		t.Fatal(err)
	}
	file.Close()
	_, err = altogic.NewClient(emulatorURL, demoKey, altogic.WithCAFile(notPEM))
	if !errors.Is(err, altogic.ErrInvalidArgument) || !strings.Contains(fmt.Sprint(err), notPEM) {
		t.Fatalf("WithCAFile(not PEM): %v", err)
	}
}

// Every kind of error reads as Go's errors do: lower case first, no final full stop, one
// line. (The messages of argument errors: TestSharedBadInput.)
func TestErrorsSpeakGo(t *testing.T) {
	goStyle := func(what string, err error) {
		t.Helper()
		text := err.Error()
		if !strings.HasPrefix(text, "altogic: ") || strings.HasSuffix(text, ".") ||
			strings.ContainsAny(text, "\r\n") {
			t.Errorf("%s: Error() = %q", what, text)
		}
		for _, item := range asAPIError(t, err).Items {
			if item.Message == "" {
				t.Errorf("%s: an item without message", what)
			}
		}
	}
	// The service's 401 and 404, whose messages are sentences.
	_, err := newClient(t, emulatorURL, "wrong-key").RunOnce(bg, "billOnDemand")
	goStyle("401", err)
	c := demoClient(t)
	_, err = c.RunOnce(bg, "noSuchTask")
	goStyle("404", err)
	// The library's client errors: no answer, a wait for an execution it does not keep.
	_, err = newClient(t, closedPort(t), demoKey).GetStatus(bg, "x")
	goStyle("network_error", err)
	_, err = c.Wait(bg, unknownTaskID)
	goStyle("execution_not_found", err)
	// An argument error of the library, with the Go name of the argument.
	_, err = c.RunOnce(bg, "  ")
	goStyle("missing_required_value", err)
	if want := "altogic: missing_required_value: nameOrID is required but was empty or blank"; err.Error() != want {
		t.Errorf("RunOnce(blank): %q, want %q", err.Error(), want)
	}
	// Cancelled by its context, before and while the call runs.
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err = c.Wait(ctx, unknownTaskID)
	goStyle("cancelled before", err)
	ctx, cancel = context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	_, err = newClient(t, stallingServer(t), demoKey).RunOnce(ctx, "billOnDemand")
	goStyle("cancelled while running", err)
	// A closed client.
	closed, err := altogic.NewClient(emulatorURL, demoKey)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	_, err = closed.RunOnce(bg, "billOnDemand")
	goStyle("closed", err)
}

func TestTimeout(t *testing.T) {
	c := newClient(t, stallingServer(t), demoKey, altogic.WithTimeout(150*time.Millisecond))
	start := time.Now()
	_, err := c.RunOnce(bg, "billOnDemand")
	elapsed := time.Since(start)
	if !errors.Is(err, altogic.ErrTimeout) {
		t.Fatalf("RunOnce against a server that never answers: %v, want ErrTimeout", err)
	}
	wantCode(t, err, 0, "timeout")
	if errors.Is(err, context.DeadlineExceeded) {
		t.Error("the client's own timeout matches context.DeadlineExceeded")
	}
	if elapsed < 140*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("timed out after %v, want about 150 ms", elapsed)
	}
}

func TestUnusableAnswers(t *testing.T) {
	redirect := fixedServer(t, 302, map[string]string{"Location": "http://127.0.0.1:1/x"}, "")
	_, err := newClient(t, redirect, demoKey).RunOnce(bg, "x")
	if !errors.Is(err, altogic.ErrRedirectNotFollowed) {
		t.Fatalf("a 302: %v, want ErrRedirectNotFollowed", err)
	}
	wantCode(t, err, 302, "redirect_not_followed")

	_, err = newClient(t, fixedServer(t, 200, nil, "not json"), demoKey).RunOnce(bg, "x")
	if !errors.Is(err, altogic.ErrInvalidResponse) {
		t.Fatalf("a non-JSON 200: %v, want ErrInvalidResponse", err)
	}

	deep := `{"taskId":"t","x":` + strings.Repeat("[", 50_000) + "1" + strings.Repeat("]", 50_000) + "}"
	_, err = newClient(t, fixedServer(t, 200, nil, deep), demoKey).GetStatus(bg, "t")
	if !errors.Is(err, altogic.ErrInvalidResponse) || !strings.Contains(err.Error(), "nested deeper than 128") {
		t.Fatalf("a TaskInfo nested 50,000 deep: %v, want ErrInvalidResponse", err)
	}

	_, err = demoClient(t, altogic.WithMaxResponseBytes(16)).RunOnce(bg, "billOnDemand")
	if !errors.Is(err, altogic.ErrResponseTooLarge) {
		t.Fatalf("a body over maxResponseBytes: %v, want ErrResponseTooLarge", err)
	}

	_, err = newClient(t, fixedServer(t, 503, nil, "<html>down</html>"), demoKey).RunOnce(bg, "x")
	apiErr := wantCode(t, err, 503, "service_unavailable")
	if apiErr.Items[0].Origin != "server_error" {
		t.Errorf("503 item %+v", apiErr.Items[0])
	}
}

// Bad input as such: TestSharedBadInput (the table every suite shares) and
// TestGoOnlyBadInput (bad_input_test.go). What else is refused or sent.
func TestBadInput(t *testing.T) {
	url := emulatorURL
	// Good options, a sub-millisecond timeout rounded up, nil options ignored.
	newClient(t, url+"/", demoKey, altogic.WithTimeout(500*time.Microsecond), nil,
		altogic.WithConnectTimeout(time.Second), altogic.WithMaxResponseBytes(1<<20),
		altogic.WithAPIKey("key"), altogic.WithSession("s"))

	c := demoClient(t)
	// "." and ".." are a task name to RunOnce, not a path segment: the service answers 404.
	for _, id := range []string{".", ".."} {
		_, err := c.RunOnce(bg, id)
		wantCode(t, err, 404, "not_found")
	}
	// Odd ids are sent percent-encoded: the service just does not know them.
	if info, err := c.GetStatus(bg, "../x?y#z"); info != nil || err != nil {
		t.Errorf("GetStatus of an odd id: %+v, %v", info, err)
	}
}

// WithIdleTimeout becomes the library's idleTimeoutMs. (Zero and negative values:
// bad_input_test.go.)
func TestIdleTimeoutOption(t *testing.T) {
	for _, d := range []time.Duration{time.Millisecond, 5 * time.Second, 90 * time.Second} {
		c, err := altogic.NewClient(emulatorURL, demoKey, altogic.WithIdleTimeout(d))
		if err != nil {
			t.Fatalf("WithIdleTimeout(%v): %v", d, err)
		}
		runOnce(t, c, "heartbeat")
		c.Close()
	}
}

func TestSession(t *testing.T) {
	c := newClient(t, emulatorURL, sessionKey)
	if c.Session() != "" {
		t.Fatalf("Session() = %q before any was set", c.Session())
	}
	_, err := c.RunOnce(bg, "billOnDemand")
	wantCode(t, err, 401, "missing_session_token")

	if err := c.SetSession(sessionToken); err != nil {
		t.Fatal(err)
	}
	if c.Session() != sessionToken {
		t.Fatalf("Session() = %q", c.Session())
	}
	runOnce(t, c, "billOnDemand")

	// Refused tokens leave the session unchanged.
	for _, bad := range []string{"a\nb", "a\x00b", "a\x01b"} {
		if err := c.SetSession(bad); !errors.Is(err, altogic.ErrInvalidArgument) {
			t.Errorf("SetSession(%q): %v, want ErrInvalidArgument", bad, err)
		}
	}
	if c.Session() != sessionToken {
		t.Fatalf("Session() = %q after refused tokens", c.Session())
	}

	// The library drops a session the service calls invalid.
	if err := c.SetSession("wrong-token"); err != nil {
		t.Fatal(err)
	}
	_, err = c.RunOnce(bg, "billOnDemand")
	wantCode(t, err, 401, "invalid_session_token")
	if c.Session() != "" {
		t.Fatalf("Session() = %q after invalid_session_token", c.Session())
	}

	// "" clears it.
	if err := c.SetSession(sessionToken); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSession(""); err != nil || c.Session() != "" {
		t.Fatalf("SetSession(\"\"): %v, Session() = %q", err, c.Session())
	}

	// The initial session as an option.
	runOnce(t, newClient(t, emulatorURL, sessionKey, altogic.WithSession(sessionToken)), "billOnDemand")
}

func TestClose(t *testing.T) {
	c, err := altogic.NewClient(emulatorURL, demoKey)
	if err != nil {
		t.Fatal(err)
	}
	runOnce(t, c, "billOnDemand")
	for i := 0; i < 3; i++ {
		if err := c.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	for name, call := range map[string]func() error{
		"RunOnce":    func() error { _, err := c.RunOnce(bg, "billOnDemand"); return err },
		"GetStatus":  func() error { _, err := c.GetStatus(bg, "x"); return err },
		"Wait":       func() error { _, err := c.Wait(bg, "x"); return err },
		"SetSession": func() error { return c.SetSession("x") },
	} {
		err := call()
		if !errors.Is(err, altogic.ErrClosed) {
			t.Fatalf("%s after Close: %v, want ErrClosed", name, err)
		}
		wantCode(t, err, 0, "client_closed")
	}
	if c.Session() != "" {
		t.Error("Session() after Close is not empty")
	}
}

// Close while calls run: it returns at once, running calls finish normally, later calls
// fail with ErrClosed, and nothing is used after being freed (the race detector and the
// library would see it).
func TestCloseDuringCalls(t *testing.T) {
	c, err := altogic.NewClient(emulatorURL, demoKey)
	if err != nil {
		t.Fatal(err)
	}
	info := runOnce(t, c, "slowReport")
	ctx, cancel := context.WithCancel(bg)
	waitDone := make(chan error, 1)
	go func() { _, err := c.Wait(ctx, info.TaskID); waitDone <- err }()

	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, err := c.GetStatus(bg, info.TaskID)
				mu.Lock()
				switch {
				case err == nil:
					counts["ok"]++
				case errors.Is(err, altogic.ErrClosed):
					counts["closed"]++
				default:
					counts[err.Error()]++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	c.Close()
	if elapsed := time.Since(start); elapsed > 50*time.Millisecond {
		t.Errorf("Close took %v while calls were running", elapsed)
	}
	wg.Wait()
	// The long wait is still running on the closed client, and still works.
	select {
	case err := <-waitDone:
		t.Fatalf("the wait ended when the client was closed: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-waitDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("the wait ended with %v, want context.Canceled", err)
	}
	if counts["ok"] == 0 || counts["closed"] != 8 || len(counts) != 2 {
		t.Fatalf("results %v: want successes, then ErrClosed once per goroutine", counts)
	}
}

func TestManyGoroutinesShareOneClient(t *testing.T) {
	c := demoClient(t)
	inGoroutines(t, 100, func(g int) error {
		task := []string{"billOnDemand", "heartbeat", "failingTask"}[g%3]
		info, err := c.RunOnce(bg, task)
		if err != nil {
			return err
		}
		got, err := c.GetStatus(bg, info.TaskID)
		if err != nil || got == nil || got.TaskID != info.TaskID || got.ScheduledTaskName != task {
			return fmt.Errorf("GetStatus(%s) = %+v, %v", info.TaskID, got, err)
		}
		if g%25 == 0 { // a few waits too, and session changes meanwhile
			c.SetSession(fmt.Sprint("s", g))
			if done, err := c.Wait(bg, info.TaskID); err != nil || !done.Done() {
				return fmt.Errorf("Wait(%s) = %+v, %v", info.TaskID, done, err)
			}
		}
		return nil
	})
}

// A server that drops connections in the middle of a request (reset, close, or an early
// answer then close) while large bodies are being written: every call returns, with an
// answer or an error, and the process survives (no SIGPIPE from the library's writes).
func TestServerDropsConnections(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mode int
	var mu sync.Mutex
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			mode++
			m := mode
			mu.Unlock()
			go func(conn *net.TCPConn, m int) {
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				conn.Read(make([]byte, 100))
				switch m % 3 {
				case 0:
					conn.SetLinger(0) // reset
				case 2:
					fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnull")
					conn.CloseWrite()
					time.Sleep(time.Millisecond)
				}
				conn.Close()
			}(conn.(*net.TCPConn), m)
		}
	}()
	c := newClient(t, "http://"+l.Addr().String(), demoKey, altogic.WithTimeout(5*time.Second))
	name := strings.Repeat("x", 4<<20)
	for i := 0; i < 24; i++ {
		n := name[:1<<(10+i%13)]
		info, err := c.RunOnce(bg, n)
		if err != nil && !errors.Is(err, altogic.ErrNetwork) {
			t.Fatalf("body of %d bytes: %v", len(n), err)
		}
		if info != nil {
			t.Fatalf("body of %d bytes: info %+v", len(n), info)
		}
	}
}

// The emulator over HTTPS, with a certificate from a CA made for this test run
// (scripts/make-certs.sh): trusted through WithCAFile, refused without it.
func TestEmulatorOverHTTPS(t *testing.T) {
	needOwnPrograms(t)
	certs := t.TempDir()
	if out, err := exec.Command("../../scripts/make-certs.sh", certs).CombinedOutput(); err != nil {
		t.Fatalf("make-certs.sh: %v\n%s", err, out)
	}
	emu, err := startEmulator("--tls-cert", certs+"/server.pem", "--tls-key", certs+"/server.key")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.stop)
	if !strings.HasPrefix(emu.url, "https://") {
		t.Fatalf("the emulator announced %s", emu.url)
	}
	c := newClient(t, emu.url, demoKey, altogic.WithCAFile(certs+"/ca.pem"))
	info := runOnce(t, c, "billOnDemand")
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	done, err := c.Wait(ctx, info.TaskID)
	if err != nil || done.Status != altogic.StatusCompleted {
		t.Fatalf("Wait over HTTPS = %+v, %v", done, err)
	}
	untrusted := newClient(t, emu.url, demoKey)
	if _, err := untrusted.RunOnce(bg, "billOnDemand"); !errors.Is(err, altogic.ErrTLS) {
		t.Fatalf("RunOnce without the CA: %v, want ErrTLS", err)
	}
}
