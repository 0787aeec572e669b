//! A client for Altogic's task manager with a C ABI.
//!
//! The crate reads as its architecture:
//! - [`client`]: a client's configuration (URL, keys, session, limits) and its options.
//! - `transport`: the small runtime and connection pools of each calling thread, and sending
//!   one request under a whole-call deadline and a cancellation token.
//! - [`task`]: the task manager calls (`runOnce`, `getTaskStatus`, wait), typed as
//!   [`task::TaskResult`], and how an answer from the service becomes one.
//! - [`error`]: the APIError shape, the library's error codes, well-formed error items.
//! - [`cancel`]: the cancellation token.
//! - `ffi`: the C ABI, the only place with `unsafe`, and the only place that builds the
//!   `{"info":...,"errors":...}` envelope C callers receive.

#![deny(unsafe_code)]

pub mod cancel;
pub mod client;
pub mod error;
#[allow(unsafe_code)]
mod ffi;
mod log;
pub mod task;
mod transport;

pub use cancel::CancelToken;
pub use client::{Client, ClientOptions};
pub use error::ApiError;
pub use task::{TaskInfo, TaskResult};
pub use transport::pool_count;

/// The value sent in the `X-Client` header, naming this library on the wire.
pub const CLIENT_NAME: &str = "altogic-c";
