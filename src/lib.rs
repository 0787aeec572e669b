//! A client for Altogic's task manager with a C ABI.
//!
//! The crate reads as its architecture, a one-way stack: each module uses only those
//! listed before it.
//! - [`info`] and [`error`]: TaskInfo, the APIError shape, the library's error codes,
//!   well-formed error items; `process`: which process built some state (fork()).
//! - [`cancel`]: the cancellation token.
//! - `tls` and `proxy`: whom a client trusts, and which proxy carries its requests.
//! - [`client`]: a client's configuration (URL, keys, session, limits) and its options.
//! - `transport`: sending one request under a whole-call deadline, the connection pools,
//!   and the runtimes that drive them (`transport::local`, per calling thread).
//! - `answer`: how an answer from the service becomes a [`TaskResult`].
//! - [`task`]: the task manager calls (`runOnce`, `getTaskStatus`, wait).
//! - `queue`: the completion queue, whose calls run on `transport::background`.
//! - `ffi`: the C ABI, the only place with `unsafe` (but for one `pthread_atfork` in
//!   `process`), and the only place that builds the
//!   `{"info":...,"errors":...}` envelope C callers receive.

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
pub mod task;
mod tls;
mod transport;

pub use cancel::CancelToken;
pub use client::{Client, ClientOptions, CLIENT_NAME};
pub use error::ApiError;
pub use info::TaskInfo;
pub use task::{TaskResult, WatchStatus};
