//go:build cgo

package altogic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

// badInputTable is the table of bad input shared by the Rust, C, Python and Go suites
// (read its "about" notes). What only Go can pass (a NUL byte, bytes that are not UTF-8, a
// negative duration) is tested in TestGoOnlyBadInput instead.
const badInputTable = "../../tests/data/bad_input.json"

type badInputCase struct {
	Create *struct {
		EnvURL    string                     `json:"env_url"`
		ClientKey string                     `json:"client_key"`
		Options   map[string]json.RawMessage `json:"options"`
	} `json:"create"`
	Call *struct {
		Name     string `json:"name"`
		Argument string `json:"argument"`
	} `json:"call"`
	Code     string `json:"code"`
	Argument string `json:"argument"`
	Never    string `json:"never"`
}

// goArgumentNames: what this package calls the library's arguments (details.argument), as
// the messages of its errors must start. Written out here, not taken from the package, so
// that the test says what users read.
var goArgumentNames = map[string]string{
	"env_url":          "envURL",
	"client_key":       "clientKey",
	"apiKey":           "WithAPIKey",
	"session":          "WithSession",
	"session_token":    "token",
	"timeoutMs":        "WithTimeout",
	"connectTimeoutMs": "WithConnectTimeout",
	"idleTimeoutMs":    "WithIdleTimeout",
	"maxResponseBytes": "WithMaxResponseBytes",
	"caFile":           "WithCAFile",
	"proxy":            "WithProxy",
	"task_name_or_id":  "nameOrID",
	"task_id":          "taskID",
}

// sentinelOf is the sentinel an error of each code the table may name must match.
var sentinelOf = map[string]error{
	"missing_required_value": altogic.ErrInvalidArgument,
	"invalid_argument":       altogic.ErrInvalidArgument,
	"invalid_env_url":        altogic.ErrInvalidArgument,
	"network_error":          altogic.ErrNetwork,
	"tls_error":              altogic.ErrTLS,
	"proxy_error":            altogic.ErrProxy,
	"timeout":                altogic.ErrTimeout,
	"execution_not_found":    altogic.ErrExecutionNotFound,
}

// optionOf makes the Go option of one entry of a case's options (altogic_client_new's
// options_json): durations in milliseconds become time.Duration.
func optionOf(name string, value json.RawMessage) (altogic.Option, error) {
	switch name {
	case "apiKey", "session", "caFile", "proxy":
		var text string
		if err := json.Unmarshal(value, &text); err != nil {
			return nil, err
		}
		return map[string]func(string) altogic.Option{
			"apiKey":  altogic.WithAPIKey,
			"session": altogic.WithSession,
			"caFile":  altogic.WithCAFile,
			"proxy":   altogic.WithProxy,
		}[name](text), nil
	case "timeoutMs", "connectTimeoutMs", "idleTimeoutMs", "maxResponseBytes":
		var number int64
		if err := json.Unmarshal(value, &number); err != nil {
			return nil, err
		}
		ms := time.Duration(number) * time.Millisecond
		return map[string]altogic.Option{
			"timeoutMs":        altogic.WithTimeout(ms),
			"connectTimeoutMs": altogic.WithConnectTimeout(ms),
			"idleTimeoutMs":    altogic.WithIdleTimeout(ms),
			"maxResponseBytes": altogic.WithMaxResponseBytes(number),
		}[name], nil
	}
	return nil, fmt.Errorf("an option this test does not know: %s", name)
}

func TestSharedBadInput(t *testing.T) {
	data, err := os.ReadFile(badInputTable)
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		About []string       `json:"about"`
		Cases []badInputCase `json:"cases"`
	}
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields() // a new kind of case must be taught to this test
	if err := decoder.Decode(&table); err != nil {
		t.Fatalf("%s: %v", badInputTable, err)
	}
	if len(table.Cases) == 0 {
		t.Fatalf("%s has no cases", badInputTable)
	}
	// Calls are made on a client of a port where nothing is expected to listen: bad
	// arguments are refused before anything is sent. The deadline only bounds a failure
	// of this test.
	c := newClient(t, "http://127.0.0.1:9", "k")
	for i, tc := range table.Cases {
		name := fmt.Sprintf("case %d (%s %s)", i, tc.Code, tc.Argument)
		err := runBadInputCase(t, c, tc)
		checkBadInputError(t, name, tc, err)
	}
}

func runBadInputCase(t *testing.T, c *altogic.Client, tc badInputCase) error {
	t.Helper()
	switch {
	case tc.Create != nil && tc.Call == nil:
		var opts []altogic.Option
		for name, value := range tc.Create.Options {
			opt, err := optionOf(name, value)
			if err != nil {
				t.Fatalf("option %s: %v", name, err)
			}
			opts = append(opts, opt)
		}
		client, err := altogic.NewClient(tc.Create.EnvURL, tc.Create.ClientKey, opts...)
		if client != nil {
			client.Close()
			return nil
		}
		return err
	case tc.Call != nil && tc.Create == nil:
		ctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		var info *altogic.TaskInfo
		var err error
		switch arg := tc.Call.Argument; tc.Call.Name {
		case "run_once":
			info, err = c.RunOnce(ctx, arg)
		case "get_status":
			info, err = c.GetStatus(ctx, arg)
		case "wait":
			info, err = c.Wait(ctx, arg)
		case "set_session":
			err = c.SetSession(arg)
		default:
			t.Fatalf("a call this test does not know: %s", tc.Call.Name)
		}
		if info != nil {
			t.Errorf("%s(%q): a TaskInfo beside the error: %+v", tc.Call.Name, tc.Call.Argument, info)
		}
		return err
	}
	t.Fatalf("a case is neither a create nor a call: %+v", tc)
	return nil
}

func checkBadInputError(t *testing.T, name string, tc badInputCase, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", name)
		return
	}
	sentinel, ok := sentinelOf[tc.Code]
	if !ok {
		t.Fatalf("%s: a code this test does not know: %s", name, tc.Code)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: %v does not match %v", name, err, sentinel)
	}
	var apiErr *altogic.APIError
	if !errors.As(err, &apiErr) || len(apiErr.Items) != 1 {
		t.Errorf("%s: %#v is not an APIError of one item", name, err)
		return
	}
	item := apiErr.Items[0]
	if apiErr.Status != 0 || item.Code != tc.Code {
		t.Errorf("%s: status %d, code %s", name, apiErr.Status, item.Code)
	}
	var details struct{ Argument, Reason string }
	if json.Unmarshal(item.Details, &details) != nil || details.Argument != tc.Argument || details.Reason == "" {
		t.Errorf("%s: details %s, want the argument %s and a reason", name, item.Details, tc.Argument)
	}
	goName, ok := goArgumentNames[tc.Argument]
	if !ok {
		t.Fatalf("%s: no Go name for the argument %s", name, tc.Argument)
	}
	// The message is Go's: its name of the argument, the library's reason, no full stop.
	if want := goName + " " + details.Reason; item.Message != want {
		t.Errorf("%s: message %q, want %q", name, item.Message, want)
	}
	text := err.Error()
	if want := "altogic: " + tc.Code + ": " + goName + " "; !strings.HasPrefix(text, want) {
		t.Errorf("%s: Error() = %q, want it to start with %q", name, text, want)
	}
	if strings.HasSuffix(text, ".") || strings.ContainsAny(text, "\r\n") {
		t.Errorf("%s: Error() = %q ends with a full stop or has a line break", name, text)
	}
	if tc.Never != "" && strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), tc.Never) {
		t.Errorf("%s: the error shows %q: %v", name, tc.Never, err)
	}
}

// Bad input only Go passes this way: a NUL byte (a C string cannot hold it), bytes that
// are not UTF-8, durations and sizes below zero.
func TestGoOnlyBadInput(t *testing.T) {
	const url, key = "http://127.0.0.1:9", "k"
	for _, tc := range []struct {
		name, url, key string
		opt            altogic.Option
		prefix         string
	}{
		{"NUL in envURL", url + "\x00x", key, nil, "envURL contains a NUL byte"},
		{"NUL in clientKey", url, "demo\x00key", nil, "clientKey contains a NUL byte"},
		{"envURL not UTF-8", url + "/\xff", key, nil, "envURL is not valid UTF-8"},
		{"clientKey not UTF-8", url, "k\xff", nil, "clientKey is not valid UTF-8"},
		{"NUL in API key", url, key, altogic.WithAPIKey("a\x00b"), "WithAPIKey contains"},
		{"API key not UTF-8", url, key, altogic.WithAPIKey("a\xffb"), "WithAPIKey is not valid UTF-8"},
		{"session not UTF-8", url, key, altogic.WithSession("\xff"), "WithSession is not valid UTF-8"},
		{"CA file not UTF-8", url, key, altogic.WithCAFile("/tmp/\xff"), "WithCAFile is not valid UTF-8"},
		{"proxy not UTF-8", url, key, altogic.WithProxy("http://\xff"), "WithProxy is not valid UTF-8"},
		{"negative timeout", url, key, altogic.WithTimeout(-time.Second), "WithTimeout must be at least 1 millisecond"},
		{"negative connect timeout", url, key, altogic.WithConnectTimeout(-1), "WithConnectTimeout must be at least 1 millisecond"},
		{"negative idle timeout", url, key, altogic.WithIdleTimeout(-time.Second), "WithIdleTimeout must be at least 1 millisecond"},
		{"negative max response", url, key, altogic.WithMaxResponseBytes(-1), "WithMaxResponseBytes must be at least 1 byte"},
	} {
		var opts []altogic.Option
		if tc.opt != nil {
			opts = append(opts, tc.opt)
		}
		c, err := altogic.NewClient(tc.url, tc.key, opts...)
		if c != nil || !errors.Is(err, altogic.ErrInvalidArgument) {
			t.Errorf("%s: NewClient = %v, %v; want nil and ErrInvalidArgument", tc.name, c, err)
			continue
		}
		apiErr := asAPIError(t, err)
		if apiErr.Status != 0 || apiErr.StatusText != "Client Error" ||
			!strings.HasPrefix(apiErr.Items[0].Message, tc.prefix) || strings.HasSuffix(err.Error(), ".") {
			t.Errorf("%s: %v, want a message starting with %q", tc.name, err, tc.prefix)
		}
	}

	c := newClient(t, url, key)
	for name, call := range map[string]func() error{
		"RunOnce":         func() error { _, err := c.RunOnce(bg, "a\x00b"); return err },
		"GetStatus":       func() error { _, err := c.GetStatus(bg, "a\x00b"); return err },
		"Wait":            func() error { _, err := c.Wait(bg, "a\x00b"); return err },
		"SetSession":      func() error { return c.SetSession("a\x00b") },
		"RunOnce/UTF-8":   func() error { _, err := c.RunOnce(bg, "\xff"); return err },
		"GetStatus/UTF-8": func() error { _, err := c.GetStatus(bg, "\xff"); return err },
	} {
		err := call()
		if !errors.Is(err, altogic.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", name, err)
			continue
		}
		var details struct{ Argument, Reason string }
		item := asAPIError(t, err).Items[0]
		if json.Unmarshal(item.Details, &details) != nil || details.Reason == "" ||
			item.Message != goArgumentNames[details.Argument]+" "+details.Reason {
			t.Errorf("%s: message %q, details %s", name, item.Message, item.Details)
		}
	}
}
