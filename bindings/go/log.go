//go:build cgo

package altogic

/*
#include "altogic.h"

// The Go callback (logexport.go), declared as _cgo_export.h declares it.
extern void altogicGoLog(int, char *, void *);

// altogic_go_set_log registers the Go callback at level (no userdata: nothing of Go's is
// kept in C).
static void altogic_go_set_log(int level) {
	altogic_set_log_callback(level, (AltogicLogCallback)altogicGoLog, NULL);
}
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The library's log records become slog records.
//
// The library has one log callback for the process (altogic_set_log_callback); this
// package registers altogicGoLog (logexport.go) as that callback when the first client is
// made, and keeps it. Each record names its client by number (altogic_client_id): records
// of a client made with WithLogger go to its logger, found in logs.loggers by that number;
// all others (clients without WithLogger, records about no client) go to slog.Default() as
// it is when the record is made.
//
// The library builds no record below the level it was registered at, so that level follows
// what the loggers are enabled for: the most detailed level that slog.Default() or the
// logger of a live client is enabled for (at least ALTOGIC_LOG_ERROR: once registered, the
// callback stays, so that ALTOGIC_LOG in the environment does not bring the library's own
// lines on stderr back). The loggers are looked at when a client is made or freed and at
// each call, for the caller's logger and slog.Default() only: a few Enabled calls, and the
// library is told only when the level changes. So with no logger enabled for debug, the
// library builds no debug record at all (one per request, poll and connection).

// Library levels (ALTOGIC_LOG_*), as indexes.
const (
	logOff   = 0
	logError = 1
	logDebug = 4
)

// slogLevels maps the library's levels to slog's.
var slogLevels = [...]slog.Level{
	1: slog.LevelError,
	2: slog.LevelWarn,
	3: slog.LevelInfo,
	4: slog.LevelDebug,
}

var logs struct {
	// loggers holds the logger of each client made with WithLogger, by the client's
	// number, from NewClient until the library's client is freed. Read by the callback:
	// lock-free reads, and no lock of this package is ever held by the callback.
	loggers sync.Map // uint64 → *slog.Logger
	// defaultLevel is the library level slog.Default() was last found enabled for.
	defaultLevel atomic.Int32

	mu sync.Mutex
	// clients counts the live clients made with WithLogger by the level their logger was
	// last found enabled for (Client.logLevel).
	clients [logDebug + 1]int
	// registered is the level the callback is registered at; logOff before the first
	// registration.
	registered int
}

// enabledLevel is the most detailed library level h is enabled for, logOff for none.
func enabledLevel(h slog.Handler) int32 {
	ctx := context.Background()
	for level := int32(logDebug); level >= logError; level-- {
		if h.Enabled(ctx, slogLevels[level]) {
			return level
		}
	}
	return logOff
}

// logStart registers c's logger, when it has one, and updates the library's level.
func (c *Client) logStart() {
	c.id = uint64(C.altogic_client_id(c.ptr))
	c.logLevel.Store(-1)
	if c.logger != nil {
		logs.loggers.Store(c.id, c.logger)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	logs.defaultLevel.Store(enabledLevel(slog.Default().Handler()))
	if c.logger != nil {
		level := enabledLevel(c.logger.Handler())
		logs.clients[level]++
		c.logLevel.Store(level)
	}
	applyLogLevel()
}

// logEnd forgets c's logger once the library's client was freed, and updates the library's
// level. Records made after (by calls cancelled behind their callers, whose end the library
// reports) go to slog.Default().
func (c *Client) logEnd() {
	if c.logger == nil {
		return
	}
	logs.loggers.Delete(c.id)
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if level := c.logLevel.Swap(-1); level >= 0 {
		logs.clients[level]--
	}
	applyLogLevel()
}

// syncLogLevel follows a change of the level c's logger (or slog.Default()) is enabled for
// since it was last looked at; called by every call, it costs a few Enabled calls when
// nothing changed.
func (c *Client) syncLogLevel() {
	def := enabledLevel(slog.Default().Handler())
	own := int32(-1)
	if c.logger != nil {
		own = enabledLevel(c.logger.Handler())
	}
	if def == logs.defaultLevel.Load() && (c.logger == nil || own == c.logLevel.Load()) {
		return
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	logs.defaultLevel.Store(def)
	if level := c.logLevel.Load(); c.logger != nil && level >= 0 {
		logs.clients[level]--
		logs.clients[own]++
		c.logLevel.Store(own)
	}
	applyLogLevel()
}

// applyLogLevel registers the callback at the level the loggers need, when it changed.
// logs.mu is held.
func applyLogLevel() {
	level := max(int(logs.defaultLevel.Load()), logError)
	for l := logDebug; l > level; l-- {
		if logs.clients[l] > 0 {
			level = l
			break
		}
	}
	if level != logs.registered {
		C.altogic_go_set_log(C.int(level))
		logs.registered = level
	}
}

// logRecord hands one of the library's records (JSON text) to its logger.
func logRecord(level int, text []byte) {
	if level < logError || level > logDebug {
		level = logDebug
	}
	sl := slogLevels[level]
	attrs, event, method, path, client := recordAttrs(text)
	logger := slog.Default()
	if client != 0 {
		if l, ok := logs.loggers.Load(client); ok {
			logger = l.(*slog.Logger)
		}
	}
	ctx := context.Background()
	h := logger.Handler()
	if !h.Enabled(ctx, sl) {
		return
	}
	msg := event
	if event == "request" && method != "" {
		msg = method + " " + path
	}
	// No PC: the source of the record is the library, not this function.
	r := slog.NewRecord(time.Now(), sl, msg, 0)
	r.AddAttrs(attrs...)
	_ = h.Handle(ctx, r)
}

// recordAttrs reads a record: its fields as attributes, in order (numbers as numbers; the
// level, which the slog record's level says, and null fields left out), and the fields the
// message and the routing use.
func recordAttrs(text []byte) (attrs []slog.Attr, event, method, path string, client uint64) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return []slog.Attr{slog.String("record", string(text))}, "altogic", "", "", 0
	}
	attrs = make([]slog.Attr, 0, 10)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		switch v := v.(type) {
		case nil:
		case string:
			switch key {
			case "level":
				continue
			case "event":
				event = v
			case "method":
				method = v
			case "path":
				path = v
			}
			attrs = append(attrs, slog.String(key, v))
		case json.Number:
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				if key == "client" {
					client = uint64(n)
				}
				attrs = append(attrs, slog.Int64(key, n))
			} else if n, err := strconv.ParseUint(string(v), 10, 64); err == nil {
				if key == "client" {
					client = n
				}
				attrs = append(attrs, slog.Uint64(key, n))
			} else if f, err := v.Float64(); err == nil {
				attrs = append(attrs, slog.Float64(key, f))
			} else {
				attrs = append(attrs, slog.String(key, string(v)))
			}
		case bool:
			attrs = append(attrs, slog.Bool(key, v))
		default:
			attrs = append(attrs, slog.Any(key, v))
		}
	}
	if event == "" {
		event = "altogic"
	}
	return attrs, event, method, path, client
}
