//! A client for Altogic's task manager with a C ABI.
//!
//! The crate reads as its architecture:
//! - [`client`]: a client's configuration (URL, keys, session, limits) and its options.
//! - [`transport`]: the one HTTP runtime and connection pool shared by every client of the
//!   process, and sending one request under a whole-call deadline.
//! - [`task`]: the task manager calls (`runOnce`, `getTaskStatus`, wait) and how an
//!   answer from the service becomes a result.
//! - [`outcome`]: the `{"info":...,"errors":...}` envelope and the APIError shape.
//! - [`ffi`]: the C ABI, the only place with `unsafe`.

pub mod client;
pub mod ffi;
pub mod outcome;
pub mod task;
pub mod transport;

pub use client::{Client, ClientOptions};
pub use outcome::{ApiError, Outcome};

/// The value sent in the `X-Client` header, naming this library on the wire.
pub const CLIENT_NAME: &str = "altogic-c";
