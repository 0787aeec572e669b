package altogic

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

// decodeResult and the error helpers need no library: these tests also run without cgo.

func TestDecodeResult(t *testing.T) {
	info, err := decodeResult([]byte(`{"info":null,"errors":null}`))
	if info != nil || err != nil {
		t.Fatalf("expired execution: %+v, %v", info, err)
	}

	// A wait's timeout answers the last TaskInfo beside the error.
	info, err = decodeResult([]byte(`{"info":{"taskId":"a","status":"processing"},"errors":{"status":0,` +
		`"statusText":"Client Error","items":[{"origin":"client_error","code":"timeout","message":"slow",` +
		`"details":{"lastStatus":"processing","lastError":null}}]}}`))
	var apiErr *APIError
	if info == nil || info.Status != StatusProcessing || !errors.As(err, &apiErr) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("wait timeout: %+v, %v", info, err)
	}
	if string(apiErr.Items[0].Details) != `{"lastStatus":"processing","lastError":null}` {
		t.Errorf("details %s", apiErr.Items[0].Details)
	}

	// Not what the library answers: an internal_error, not a panic.
	for _, text := range []string{``, `nonsense`, `{"info":{"taskId":1},"errors":null}`} {
		if _, err := decodeResult([]byte(text)); !errors.As(err, &apiErr) || !apiErr.HasCode("internal_error") {
			t.Errorf("%q: %v", text, err)
		}
	}
}

// The one-pass reading of a successful answer gives what the envelope's reading gives, and
// leaves every other answer to it.
func TestSuccessfulAnswersReadInOnePass(t *testing.T) {
	successes := []string{
		`{"info":{"taskId":"a","status":"pending","triggeredAt":"2026-11-28T16:20:08.160Z"},"errors":null}`,
		`{"info":{"taskId":"b","status":"completed","startedAt":"2026-11-28T16:20:08Z",` +
			`"completedAt":null,"errors":null,"extra":[1,{"x":"}"}]},"errors":null}`,
		// The tail inside the TaskInfo, and escapes.
		`{"info":{"taskId":"c\",\"errors\":null}","status":"errors","errors":[{"m":"\u00e9"}]},"errors":null}`,
		`{"info":{},"errors":null}`,
	}
	for _, text := range successes {
		if successInfo([]byte(text)) == nil {
			t.Errorf("not read in one pass: %s", text)
		}
		info, err := decodeResult([]byte(text))
		want, wantErr := decodeEnvelope([]byte(text))
		if err != nil || wantErr != nil {
			t.Fatalf("%s: %v / %v", text, err, wantErr)
		}
		if !reflect.DeepEqual(info, want) {
			t.Errorf("%s:\n one pass %+v\n envelope %+v", text, info, want)
		}
	}
	others := []string{
		`{"info":null,"errors":null}`,
		`{"info":{"taskId":"a"},"errors":{"status":404,"statusText":"Not Found","items":[]}}`,
		`{"info":{"taskId":"a"},"x":1,"errors":null}`,
		`{"info":{"taskId":"a"}},"errors":null}`,
		`{"info":`,
		``,
	}
	for _, text := range others {
		raw := successInfo([]byte(text))
		if raw == nil {
			continue
		}
		// Only a shape that is not one whole object may get this far; decode refuses it.
		if (&TaskInfo{}).decode(raw) == nil {
			t.Errorf("%s: read as a success", text)
		}
	}
}

func TestTaskInfoJSON(t *testing.T) {
	// Raw is written as it came, unknown fields and number spelling included.
	in := `{"taskId":"a","status":"completed","triggeredAt":"2022-03-20T23:00:53.966Z","x":1.50}`
	var info TaskInfo
	if err := json.Unmarshal([]byte(in), &info); err != nil {
		t.Fatal(err)
	}
	if out, _ := json.Marshal(info); string(out) != in || !info.Done() {
		t.Fatalf("round trip: %s", out)
	}
	// A TaskInfo made in Go is written from its fields.
	at := time.Date(2022, 3, 20, 23, 0, 53, 966e6, time.UTC)
	made := TaskInfo{TaskID: "b", Status: StatusPending, TriggeredAt: at, StartedAt: &at}
	want := `{"taskId":"b","scheduledTaskId":"","scheduledTaskName":"","triggeredAt":"2022-03-20T23:00:53.966Z",` +
		`"startedAt":"2022-03-20T23:00:53.966Z","status":"pending"}`
	if out, _ := json.Marshal(made); string(out) != want {
		t.Fatalf("json.Marshal = %s, want %s", out, want)
	}
}

func TestSentinels(t *testing.T) {
	for code, want := range map[string]error{
		"timeout":                ErrTimeout,
		"network_error":          ErrNetwork,
		"invalid_argument":       ErrInvalidArgument,
		"missing_required_value": ErrInvalidArgument,
		"invalid_env_url":        ErrInvalidArgument,
		"response_too_large":     ErrResponseTooLarge,
		"redirect_not_followed":  ErrRedirectNotFollowed,
		"invalid_response":       ErrInvalidResponse,
		"cancelled":              ErrCancelled,
		"client_closed":          ErrClosed,
		"cgo_required":           ErrCgoRequired,
		"execution_not_found":    ErrExecutionNotFound,
	} {
		err := error(clientError(code, "m"))
		if !errors.Is(err, want) {
			t.Errorf("%s does not match %v", code, want)
		}
		if errors.Is(err, context.Canceled) {
			t.Errorf("%s matches context.Canceled", code)
		}
	}
	if errors.Is(clientError("internal_error", "m"), ErrTimeout) {
		t.Error("internal_error matches ErrTimeout")
	}
	e := clientError("cancelled", "m")
	e.ctxErr, e.cause = context.Canceled, errors.New("cause")
	if !errors.Is(e, context.Canceled) || !errors.Is(e, e.cause) || !errors.Is(e, ErrCancelled) {
		t.Error("a cancelled error does not match its context error, cause and ErrCancelled")
	}
}

// Error() reads as Go's errors do: no final full stop, whoever wrote the message.
func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  *APIError
		want string
	}{
		{&APIError{Status: 404, StatusText: "Not Found", Items: []ErrorItem{{Code: "a", Message: "b."},
			{Code: "c", Message: "d"}}}, "altogic: 404 Not Found: a: b; c: d"},
		{&APIError{Status: 502, StatusText: "Bad Gateway"}, "altogic: 502 Bad Gateway"},
		{&APIError{StatusText: "Client Error"}, "altogic: Client Error"},
		{clientError("network_error", "No answer from http://127.0.0.1:1.\n"),
			"altogic: network_error: No answer from http://127.0.0.1:1"},
		{clientError("internal_error", "wait..."), "altogic: internal_error: wait..."},
		{argumentError("task_id", "contains a NUL byte"), "altogic: invalid_argument: taskID contains a NUL byte"},
		{argumentError("HTTPS_PROXY", "is not a valid URL"), "altogic: invalid_argument: HTTPS_PROXY is not a valid URL"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// The library's argument errors get Go's name of the argument, composed from
// details.argument and details.reason; other messages are left as they are.
func TestArgumentErrorsInGoTerms(t *testing.T) {
	err := decodeError([]byte(`{"status":0,"statusText":"Client Error","items":[` +
		`{"origin":"client_error","code":"invalid_argument","message":"timeoutMs must be positive.",` +
		`"details":{"argument":"timeoutMs","reason":"must be positive"}},` +
		`{"origin":"client_error","code":"invalid_argument","message":"HTTPS_PROXY is odd.",` +
		`"details":{"argument":"HTTPS_PROXY","reason":"is odd"}},` +
		`{"origin":"client_error","code":"invalid_argument","message":"Something timeoutMs.","details":null},` +
		`{"origin":"client_error","code":"invalid_argument","message":"m.","details":{"argument":"x"}}]}`))
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatal(err)
	}
	var got []string
	for _, item := range apiErr.Items {
		got = append(got, item.Message)
	}
	want := []string{"WithTimeout must be positive", "HTTPS_PROXY is odd", "Something timeoutMs.", "m."}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}
	// A service's error keeps its messages.
	err = decodeError([]byte(`{"status":400,"statusText":"Bad Request","items":[{"origin":"client_error",` +
		`"code":"x","message":"timeoutMs.","details":{"argument":"timeoutMs","reason":"r"}}]}`))
	if err.(*APIError).Items[0].Message != "timeoutMs." {
		t.Errorf("a service's message was changed: %v", err)
	}
}
