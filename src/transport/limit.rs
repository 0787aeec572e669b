//! A bound on the requests in flight to one host: a completion queue may have thousands of
//! calls running at once, and without a bound each would open a connection of its own.
//!
//! Each request takes a turn (a semaphore permit) for as long as it is in flight, from
//! connecting to the last byte of its answer, and gives it back before a wait pauses between
//! two polls. With HTTP/1.1 a request in flight holds one connection, so at most as many
//! connections are busy as there are turns; idle ones are reused by the next request.
//! Waiting for a turn counts against the request's deadline, so a call never outlives its
//! `timeoutMs` (or its wait's deadline) because other calls held the connections.

use std::time::Duration;

use serde_json::json;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::{codes, ApiError};

/// The turns of one host. Turns are given in the order they were asked for.
#[derive(Debug)]
pub struct HostLimit {
    turns: Semaphore,
    size: usize,
}

impl HostLimit {
    pub fn new(size: usize) -> HostLimit {
        HostLimit {
            turns: Semaphore::new(size),
            size,
        }
    }

    /// Waits at most `deadline` for a turn; answers it and the time left of `deadline`.
    pub async fn turn(
        &self,
        deadline: Duration,
        description: &str,
        url: &url::Url,
    ) -> Result<(SemaphorePermit<'_>, Duration), ApiError> {
        let started = tokio::time::Instant::now();
        let waited = tokio::time::timeout(deadline, self.turns.acquire()).await;
        match waited {
            Ok(Ok(permit)) => Ok((permit, deadline.saturating_sub(started.elapsed()))),
            // The semaphore is never closed; treat it like no turn in time.
            Ok(Err(_)) | Err(_) => Err(ApiError::client(
                codes::TIMEOUT,
                format!(
                    "{description} waited {} ms for one of the {} connections to {} that \
                     started calls share, all busy with other calls. Start fewer calls at \
                     once, or raise timeoutMs in the client options.",
                    deadline.as_millis(),
                    self.size,
                    url.origin().ascii_serialization(),
                ),
                Some(json!({ "timeoutMs": deadline.as_millis() as u64 })),
            )),
        }
    }

    /// Turns not taken now.
    #[cfg(test)]
    pub fn available(&self) -> usize {
        self.turns.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn turns_are_bounded_and_given_back() {
        let url = url::Url::parse("http://127.0.0.1:9/x").unwrap();
        let limit = HostLimit::new(2);
        runtime().block_on(async {
            let long = Duration::from_secs(5);
            let (first, left) = limit.turn(long, "runOnce", &url).await.unwrap();
            assert!(left <= long);
            let (second, _) = limit.turn(long, "runOnce", &url).await.unwrap();
            assert_eq!(limit.available(), 0);
            let refused = limit
                .turn(Duration::from_millis(20), "runOnce", &url)
                .await
                .unwrap_err();
            assert_eq!(refused.first_code(), Some(codes::TIMEOUT));
            let message = refused.items[0]["message"].as_str().unwrap();
            assert!(
                message.contains("2 connections to http://127.0.0.1:9"),
                "{message}"
            );
            drop(first);
            let (third, _) = limit.turn(long, "wait", &url).await.unwrap();
            drop((second, third));
            assert_eq!(limit.available(), 2);
        });
    }
}
