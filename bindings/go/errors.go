package altogic

import (
	"encoding/json"
	"strconv"
	"strings"
)

// APIError is the error of every failed call: the library's APIError object, or one of the
// same shape made by this package for what never reaches the library (a string holding a
// NUL byte, a closed client, a build without cgo).
//
// Errors that never got a usable HTTP answer have Status 0, StatusText "Client Error" and
// one item with origin "client_error"; errors from the service keep its HTTP status and
// items. Use errors.As to get at it, and errors.Is with the Err sentinels to test its kind:
//
//	var apiErr *altogic.APIError
//	if errors.As(err, &apiErr) && apiErr.Status == 401 { ... }
//	if errors.Is(err, altogic.ErrTimeout) { ... }
//
// An argument error (codes "invalid_argument", "missing_required_value",
// "invalid_env_url") names the argument as this package does, e.g. "WithTimeout must be at
// least 1 millisecond and at most one day (the default is 30 seconds)"; its Details hold the
// library's (C API's) name of the argument and the reason: {"argument":"timeoutMs",
// "reason":"must be at least 1 millisecond ..."}.
//
// A call ended by its context answers an APIError with code "cancelled" (or "timeout" for
// a [Client.Wait] that reached the context's deadline) that also wraps the context's error,
// so errors.Is(err, ctx.Err()) holds.
type APIError struct {
	// Status is the HTTP status of the answer, or 0 when there was no usable answer.
	Status int `json:"status"`
	// StatusText is the standard reason phrase of Status, or "Client Error" for status 0.
	StatusText string `json:"statusText"`
	// Items are the errors; every item has a string origin, code and message.
	Items []ErrorItem `json:"items"`

	// ctxErr and cause are the context's error and cause when the context ended the call.
	ctxErr, cause error
}

// ErrorItem is one error of an [APIError].
type ErrorItem struct {
	// Origin is "client_error" or "server_error".
	Origin string `json:"origin"`
	// Code says what went wrong, e.g. "timeout", "network_error", "invalid_client_key".
	Code string `json:"code"`
	// Message is a human-readable explanation.
	Message string `json:"message"`
	// Details is the item's details as JSON, often "null". For a wait's timeout it holds
	// lastStatus and lastError; for an answer that could not be used, httpStatus.
	Details json.RawMessage `json:"details,omitempty"`
}

// Error formats the status and every item in Go's style (lower case first, no final full
// stop: a message's final full stop is left out), e.g.
// "altogic: 401 Unauthorized: invalid_client_key: The client key is not valid" or
// "altogic: missing_required_value: nameOrID is required but was empty or blank".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("altogic: ")
	if e.Status != 0 {
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteByte(' ')
		b.WriteString(e.StatusText)
		if len(e.Items) > 0 {
			b.WriteString(": ")
		}
	} else if len(e.Items) == 0 {
		b.WriteString(e.StatusText)
	}
	for i, item := range e.Items {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(item.Code)
		b.WriteString(": ")
		b.WriteString(withoutFullStop(item.Message))
	}
	return b.String()
}

// withoutFullStop is message without surrounding white space and its final full stop (an
// ellipsis is kept): the library's and the service's messages are sentences, Go's errors
// are not.
func withoutFullStop(message string) string {
	message = strings.TrimSpace(message)
	if strings.HasSuffix(message, ".") && !strings.HasSuffix(message, "..") {
		message = message[:len(message)-1]
	}
	return message
}

// HasCode reports whether one of the items has the given code.
func (e *APIError) HasCode(code string) bool {
	for _, item := range e.Items {
		if item.Code == code {
			return true
		}
	}
	return false
}

// Is reports whether target is a sentinel of this package matching one of the items'
// codes, so that errors.Is(err, altogic.ErrTimeout) works.
func (e *APIError) Is(target error) bool {
	s, ok := target.(*sentinel)
	if !ok {
		return false
	}
	for _, code := range s.codes {
		if e.HasCode(code) {
			return true
		}
	}
	return false
}

// Unwrap returns the context's error and cause when the context ended the call, so that
// errors.Is(err, context.Canceled) and errors.Is(err, context.DeadlineExceeded) work.
func (e *APIError) Unwrap() []error {
	switch {
	case e.ctxErr == nil:
		return nil
	case e.cause == nil || e.cause == e.ctxErr:
		return []error{e.ctxErr}
	default:
		return []error{e.ctxErr, e.cause}
	}
}

// sentinel is the type of the Err values: an error kind matching one or more codes.
type sentinel struct {
	msg   string
	codes []string
}

func newSentinel(msg string, codes ...string) error { return &sentinel{msg, codes} }

func (s *sentinel) Error() string { return s.msg }

// Sentinels for errors.Is. Each matches an [APIError] having an item with one of its codes.
var (
	// ErrTimeout: code "timeout", the client's timeoutMs passed, or a wait's deadline.
	ErrTimeout = newSentinel("altogic: timeout", "timeout")
	// ErrNetwork: no answer from the service: code "network_error" (connection refused,
	// reset or closed, DNS, a proxy that cannot be reached), and the kinds below, which are
	// network errors too.
	ErrNetwork = newSentinel("altogic: network error", "network_error", "tls_error", "proxy_error")
	// ErrTLS: code "tls_error", a certificate or TLS handshake failure (unknown issuer,
	// expired, wrong name, refused handshake). The message says what to do, typically:
	// trust the CA with [WithCAFile] or SSL_CERT_FILE.
	ErrTLS = newSentinel("altogic: TLS error", "tls_error")
	// ErrProxy: code "proxy_error", the proxy refused to carry the request (407, or a
	// refused tunnel). The message names the proxy, never its password.
	ErrProxy = newSentinel("altogic: proxy refused", "proxy_error")
	// ErrInvalidArgument: codes "invalid_argument", "missing_required_value" and
	// "invalid_env_url" (bad input, refused before anything is sent).
	ErrInvalidArgument = newSentinel("altogic: invalid argument",
		"invalid_argument", "missing_required_value", "invalid_env_url")
	// ErrResponseTooLarge: code "response_too_large", the body exceeded maxResponseBytes.
	ErrResponseTooLarge = newSentinel("altogic: response too large", "response_too_large")
	// ErrRedirectNotFollowed: code "redirect_not_followed", a 3xx answer.
	ErrRedirectNotFollowed = newSentinel("altogic: redirect not followed", "redirect_not_followed")
	// ErrInvalidResponse: code "invalid_response", a 2xx answer that is not a TaskInfo.
	ErrInvalidResponse = newSentinel("altogic: invalid response", "invalid_response")
	// ErrCancelled: code "cancelled", the call's context was done. Such errors also
	// match the context's error (context.Canceled or context.DeadlineExceeded).
	ErrCancelled = newSentinel("altogic: cancelled", "cancelled")
	// ErrExecutionNotFound: code "execution_not_found", a [Client.Wait] for an execution
	// the service does not keep (an unknown id, or one older than its retention); the
	// item's details hold taskId. [Client.GetStatus] answers nil, nil in that case instead.
	ErrExecutionNotFound = newSentinel("altogic: execution not found", "execution_not_found")
	// ErrClosed: code "client_closed" (made by this package), a call on a closed Client.
	ErrClosed = newSentinel("altogic: client is closed", codeClientClosed)
	// ErrCgoRequired: code "cgo_required" (made by this package), the program was built
	// with CGO_ENABLED=0, so the library cannot be called.
	ErrCgoRequired = newSentinel("altogic: cgo is required", codeCgoRequired)
)

// Codes of the errors this package makes itself, beside the library's.
const (
	codeClientClosed = "client_closed"
	codeCgoRequired  = "cgo_required"
)

// goNames maps the library's names of arguments (details.argument of its errors, the C
// API's names) to this package's. The library states what is wrong with an argument in
// details.reason, a phrase that follows the argument's name (quantities in words, no
// language's words), so this package says the same in Go: "{Go name} {reason}".
var goNames = map[string]string{
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

// goName is this package's name of the library's argument name; a name it does not know
// (an environment variable's, such as HTTPS_PROXY) is kept.
func goName(argument string) string {
	if name, ok := goNames[argument]; ok {
		return name
	}
	return argument
}

// argumentDetails is what the library's argument errors carry in details.
type argumentDetails struct {
	Argument string `json:"argument"`
	Reason   string `json:"reason"`
}

// inGoTerms gives the argument errors of the library the messages of this package: its
// name of the argument, then the library's reason ("WithTimeout must be at least 1
// millisecond ..."), composed from details.argument and details.reason, never by
// rewriting the library's message. Other messages are kept as they are.
func (e *APIError) inGoTerms() {
	if e.Status != 0 {
		return
	}
	for i := range e.Items {
		item := &e.Items[i]
		var details argumentDetails
		if len(item.Details) == 0 || json.Unmarshal(item.Details, &details) != nil ||
			details.Argument == "" || details.Reason == "" {
			continue
		}
		item.Message = goName(details.Argument) + " " + details.Reason
	}
}

// clientError makes an error of the library's client-error shape for what the library
// never sees.
func clientError(code, message string) *APIError {
	return &APIError{
		Status:     0,
		StatusText: "Client Error",
		Items: []ErrorItem{{
			Origin:  "client_error",
			Code:    code,
			Message: message,
			Details: json.RawMessage("null"),
		}},
	}
}

// argumentError makes an error of the library's argument-error shape for what this
// package refuses itself: argument is the C API's name (details.argument), reason follows
// it (details.reason), and the message says it with this package's name.
func argumentError(argument, reason string) *APIError {
	e := clientError("invalid_argument", goName(argument)+" "+reason)
	e.Items[0].Details, _ = json.Marshal(argumentDetails{argument, reason})
	return e
}

var errClosed = clientError(codeClientClosed,
	"the client is closed; create a new one with altogic.NewClient")

// closedError returns a fresh copy, so that callers modifying it affect no one else.
func closedError() error {
	e := *errClosed
	e.Items = append([]ErrorItem(nil), errClosed.Items...)
	return &e
}
