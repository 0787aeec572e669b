package altogic

import (
	"encoding/json"
	"log/slog"
	"time"
	"unicode/utf8"
)

// Option configures a [Client] made by [NewClient]. Options are passed to the library as
// altogic_client_new's options_json; the library checks them, and refuses bad values
// (a negative or zero duration, a limit of zero or less) with an error matching
// [ErrInvalidArgument] whose message names the option, e.g. "WithTimeout must be at least
// 1 millisecond and at most one day (the default is 30 seconds)".
type Option func(*clientOptions)

// clientOptions is the JSON object altogic_client_new reads; nil fields are left out so
// that the library's defaults apply.
type clientOptions struct {
	APIKey           *string `json:"apiKey,omitempty"`
	Session          *string `json:"session,omitempty"`
	TimeoutMs        *int64  `json:"timeoutMs,omitempty"`
	ConnectTimeoutMs *int64  `json:"connectTimeoutMs,omitempty"`
	IdleTimeoutMs    *int64  `json:"idleTimeoutMs,omitempty"`
	MaxResponseBytes *int64  `json:"maxResponseBytes,omitempty"`
	CAFile           *string `json:"caFile,omitempty"`
	Proxy            *string `json:"proxy,omitempty"`

	// logger is WithLogger's, kept in Go: it is no option of the library's.
	logger *slog.Logger
}

// WithAPIKey sets the API key, sent as-is in the Authorization header of every request.
func WithAPIKey(key string) Option {
	return func(o *clientOptions) { o.APIKey = &key }
}

// WithSession sets the initial session token, sent in the Session header. See
// [Client.SetSession] to change it later.
func WithSession(token string) Option {
	return func(o *clientOptions) { o.Session = &token }
}

// WithTimeout bounds each whole call (connecting, sending, reading the answer); the
// library's default is 30 s. d must be at least 1 ms (a fraction of a millisecond rounds
// up) and at most one day: there is no "no timeout" value, and WithTimeout(0) or a negative
// d makes [NewClient] fail with [ErrInvalidArgument]. A [Client.Wait] is bounded by its
// context instead; each of its polls is bounded by this timeout.
func WithTimeout(d time.Duration) Option {
	return func(o *clientOptions) { o.TimeoutMs = millis(d) }
}

// WithConnectTimeout bounds connecting to the service; the library's default is 10 s. As
// for [WithTimeout], d must be at least 1 ms and at most one day: zero or a negative d
// makes [NewClient] fail with [ErrInvalidArgument].
func WithConnectTimeout(d time.Duration) Option {
	return func(o *clientOptions) { o.ConnectTimeoutMs = millis(d) }
}

// WithIdleTimeout sets how long an idle connection is kept for reuse; the library's default
// is 90 s, and a server that announces Keep-Alive: timeout=N is followed. As for
// [WithTimeout], d must be at least 1 ms and at most one day: zero or a negative d makes
// [NewClient] fail with [ErrInvalidArgument].
func WithIdleTimeout(d time.Duration) Option {
	return func(o *clientOptions) { o.IdleTimeoutMs = millis(d) }
}

// WithMaxResponseBytes bounds the size of an answer's body; the library's default is
// 10 MiB. A larger body fails with [ErrResponseTooLarge]. n must be at least 1: zero or a
// negative n makes [NewClient] fail with [ErrInvalidArgument].
func WithMaxResponseBytes(n int64) Option {
	return func(o *clientOptions) { o.MaxResponseBytes = atLeastZero(n) }
}

// WithCAFile trusts the CA certificates of the PEM file at path besides the system's
// trust store (which the library reads as OpenSSL and Go do: SSL_CERT_FILE, SSL_CERT_DIR,
// the system bundle). A file that is missing, unreadable or holds no certificate makes
// [NewClient] fail with [ErrInvalidArgument] naming it.
func WithCAFile(path string) Option {
	return func(o *clientOptions) { o.CAFile = &path }
}

// WithProxy sends every request through the proxy at url (http://[user:password@]host:port
// or https://…), or through none when url is "", whatever the environment says. Without
// it, HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY decide, and loopback is never
// proxied. A malformed url makes [NewClient] fail with [ErrInvalidArgument].
func WithProxy(url string) Option {
	return func(o *clientOptions) { o.Proxy = &url }
}

// WithLogger sends the library's log records about this client to logger, as slog records
// (see the package documentation, "Logging"); without it, or with nil, they go to
// slog.Default() as it is when each record is made. Records about no client in particular
// go to slog.Default() whatever the option.
func WithLogger(logger *slog.Logger) Option {
	return func(o *clientOptions) { o.logger = logger }
}

// millis converts d to whole milliseconds for the library, rounding a positive fraction
// up so that a positive duration never becomes 0. A negative d becomes 0, which the library
// refuses naming the option ("... must be at least 1 millisecond ..."): a negative number
// is no valid options_json, which it would refuse as a whole.
func millis(d time.Duration) *int64 {
	ms := d.Milliseconds()
	if d > 0 && d%time.Millisecond != 0 {
		ms++
	}
	return atLeastZero(ms)
}

// atLeastZero is n, or 0 for a negative n (see millis).
func atLeastZero(n int64) *int64 {
	n = max(n, 0)
	return &n
}

// optionsJSON is the options_json text of opts, or "" when they set none of the
// library's options (NULL is passed then).
func optionsJSON(opts []Option) (string, error) {
	if len(opts) == 0 {
		return "", nil
	}
	var o clientOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	// encoding/json would silently replace invalid UTF-8 with U+FFFD and send another key
	// than the caller's; refuse it as the library refuses a string argument that is not
	// UTF-8.
	for argument, s := range map[string]*string{
		"apiKey": o.APIKey, "session": o.Session, "caFile": o.CAFile, "proxy": o.Proxy,
	} {
		if s != nil && !utf8.ValidString(*s) {
			return "", argumentError(argument, "is not valid UTF-8; pass UTF-8 text")
		}
	}
	text, err := json.Marshal(&o)
	if err != nil {
		return "", clientError("invalid_argument", "the options could not be encoded: "+err.Error())
	}
	if string(text) == "{}" { // only options of this package's (WithLogger)
		return "", nil
	}
	return string(text), nil
}

// loggerOf is the logger opts set with WithLogger, or nil.
func loggerOf(opts []Option) *slog.Logger {
	var o clientOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o.logger
}
