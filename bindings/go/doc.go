// Package altogic is the Go binding of libaltogic, the native client of Altogic's task
// manager: run a scheduled task ahead of its schedule ([Client.RunOnce]), read the status
// of an execution ([Client.GetStatus]), wait for it to end ([Client.Wait]) or follow it to
// its end ([Client.Watch]).
//
// Import path: github.com/altogic/altogic-ffi/bindings/go (package name altogic).
//
// The package is a thin layer over the library's C ABI (include/altogic.h) through cgo: the
// HTTP work, retries, validation and error shapes are the library's. What the package adds
// is what makes it native to Go: typed results ([TaskInfo]), errors usable with errors.Is
// and errors.As ([APIError] and the Err sentinels), and [context.Context] support through
// the library's cancellation tokens.
//
// Every task call takes a [context.Context] (never nil): when it is done, the call returns
// at once with an error matching ctx.Err(), and the library's call is ended behind it
// through its cancellation token. With context.Background() no token is made at all.
//
// # Linking
//
// By default the package links the repository's static library
// (target/release/libaltogic.a, built with `cargo build --release -p altogic --lib` in the
// repository root), so programs built with it need no shared library at run time. With the
// build tag altogic_pkgconfig it links an installed copy found through
// `pkg-config altogic` instead. Built with CGO_ENABLED=0 the package still compiles, and
// every call returns an error for which errors.Is(err, [ErrCgoRequired]) holds.
//
// # Following an execution
//
// [Client.Watch] is [Client.Wait] showing the execution as it goes: ranging over it yields
// each status as the wait's polls find it change, then what Wait would return. It makes no
// request beyond the wait's own polls, and leaving the loop early cancels the wait.
//
// # Logging
//
// The library's log records (each request and poll, connections opened, retries,
// cancelled calls, bounds hit) become [log/slog] records: level Debug, Info, Warn or Error
// as the library's; the message is the event ("retry", "poll", "connection_opened"...) or,
// for a request, its method and path ("POST /_api/rest/v1/task"); the record's fields are
// attributes (event, client, method, path, status or code, ms, attempt, connection, proxy,
// taskId, reason), numbers as numbers. A record never holds a key, a session token or a
// proxy's password. The records of a client made with [WithLogger] go to its logger, the
// others to slog.Default() as it is when the record is made (records about no client in
// particular, such as "cancelled", go there too).
//
// The library builds a record only when some logger is enabled for its level: the level
// it is told follows slog.Default() and the loggers of the live clients, looked at when a
// client is made or freed and at each call (a change of a logger's level counts from the
// next call of its client). So with no logger enabled for Debug, requests and polls cost
// no record at all. The records are made on the library's threads, several at once:
// handlers must be safe for concurrent use, as slog requires, and should return quickly.
//
// # Concurrency
//
// A [Client] may be shared by any number of goroutines; their calls run at the same time.
// [Client.Close] may race with calls: calls in flight finish normally, later calls fail with
// [ErrClosed], and the library's client is freed when the last call in flight returns.
package altogic
