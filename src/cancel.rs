//! Cancellation: a token that any thread may trigger to end the calls it was given.
//!
//! A call waits on the token together with its own work (connecting, the answer, the body,
//! the pause between two polls of a wait), so a trigger wakes it at once. A token triggered
//! before a call starts makes it return without sending anything.

use std::time::Duration;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::error::{codes, ApiError};

/// A cancellation token. Cloning gives another handle to the same token.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(CancellationToken);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels every call given this token, now and later. Idempotent; never waits for the
    /// calls to return.
    pub fn trigger(&self) {
        self.0.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Completes once the token is triggered.
    pub(crate) fn triggered(&self) -> WaitForCancellationFuture<'_> {
        self.0.cancelled()
    }
}

/// The error of a call ended by its token.
pub fn cancelled_error(description: &str, elapsed: Duration) -> ApiError {
    ApiError::client(
        codes::CANCELLED,
        format!(
            "{description} was cancelled through its cancellation token after {} ms.",
            elapsed.as_millis()
        ),
        None,
    )
}
