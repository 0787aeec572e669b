//! A client for Altogic's task manager with a C ABI.
//!
//! The crate reads as its architecture, a one-way stack: each module uses only those
//! listed before it.
//! - [`info`] and [`error`]: TaskInfo, the APIError shape, the library's error codes,
//!   well-formed error items; `process`: which process built some state (fork());
//!   `signals`: the signal mask of the library's threads.
//! - [`cancel`]: the cancellation token.
//! - `proxy` and `tls`: which proxy carries a client's requests, and whom it trusts.
//! - [`client`]: a client's configuration (URL, keys, session, limits) and its options.
//! - `transport`: sending one request on reqwest under a whole-call deadline, and the
//!   process's one runtime with its connection pools (`transport::runtime`).
//! - `answer`: how an answer from the service becomes a [`TaskResult`].
//! - [`task`]: the task manager calls (`runOnce`, `getTaskStatus`, wait).
//! - `queue`: the completion queue, whose calls run on the same runtime.
//! - `ffi`: the C ABI, the only place with `unsafe` (but for one `pthread_atfork` in
//!   `process` and the threads' signal mask in `signals`), and the only place that builds
//!   the `{"info":...,"errors":...}` envelope C callers receive.

#![deny(unsafe_code)]

mod answer;
pub mod cancel;
pub mod client;
pub mod error;
#[allow(unsafe_code)]
mod ffi;
pub mod info;
mod log;
mod process;
mod proxy;
mod queue;
#[cfg(unix)]
mod signals;
// Signal masks exist only on Unix.
#[cfg(not(unix))]
mod signals {
    pub fn block_in_this_thread() {}
    pub fn with_library_thread_mask<R>(work: impl FnOnce() -> R) -> R {
        work()
    }
}
pub mod task;
mod tls;
mod transport;

pub use cancel::CancelToken;
pub use client::{Client, ClientOptions, ClientState, CLIENT_NAME};
pub use error::ApiError;
pub use info::TaskInfo;
pub use task::{TaskResult, WatchStatus};
