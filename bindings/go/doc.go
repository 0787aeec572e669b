// Package altogic is the Go binding of libaltogic, the native client of Altogic's task
// manager: run a scheduled task ahead of its schedule ([Client.RunOnce]), read the status
// of an execution ([Client.GetStatus]) and wait for it to end ([Client.Wait]).
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
// # Concurrency
//
// A [Client] may be shared by any number of goroutines; their calls run at the same time.
// [Client.Close] may race with calls: calls in flight finish normally, later calls fail with
// [ErrClosed], and the library's client is freed when the last call in flight returns.
package altogic
