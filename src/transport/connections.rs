//! The connections of a pool as the log sees them. reqwest's pool says neither when it opens
//! a connection nor when it closes one, so they are followed from the answers: an answer
//! carries the local address of the connection it came on ([`HttpInfo`]), a new address is a
//! connection opened, and one the pool had kept is known closed when
//!
//! - its answer said so (`Connection: close`), or it was a connection kept for no other
//!   request (a GET resent on a connection of its own): `server_asked`, `not_kept`;
//! - the pool opened a new connection to the same place while it was the only call in flight:
//!   it would have reused a kept connection that was still open, so the kept ones it did not
//!   take were closed while idle, by the pool's idle timeout (`idle`) or by the server
//!   (`closed_while_idle`), as their idle time tells;
//! - a call lost its connection (`lost`): reset, closed as the request went out.
//!
//! Under concurrent calls the second rule cannot tell which connection another call holds,
//! so the record waits for a quiet moment. Followed only while someone listens at debug level;
//! calls in flight are counted always (an atomic add).
//!
//! [`HttpInfo`]: hyper_util::client::legacy::connect::HttpInfo

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Beyond this many connections remembered, the record starts over (a reused connection may
/// then be reported new once, and the forgotten ones never closed).
const MAX_REMEMBERED: usize = 4096;

/// The connections of one pool that answers came on, and its calls in flight.
#[derive(Default)]
pub struct Connections {
    in_flight: AtomicUsize,
    kept: Mutex<HashMap<SocketAddr, Kept>>,
}

/// A connection the pool keeps between answers.
struct Kept {
    /// `host:port` it goes to (through the proxy, if any: the pool keeps one per target).
    origin: String,
    last_answer: Instant,
}

/// How a connection known to the pool was closed, with how long it had been idle.
#[derive(Debug, PartialEq)]
pub struct Closed {
    pub reason: &'static str,
    pub idle: Option<Duration>,
}

/// A call in flight on the pool, until dropped.
pub struct InFlight<'a>(&'a Connections);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connections {
    /// Counts a call in flight until the guard is dropped.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    fn alone(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) <= 1
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Kept>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An answer to `origin` came on the connection from `local`: whether that connection is
    /// new, and the kept connections to `origin` found closed (see the module's rules).
    /// `kept_after` is false when the connection ends with this answer.
    pub fn answered(
        &self,
        local: SocketAddr,
        origin: &str,
        idle_timeout: Duration,
        kept_after: bool,
    ) -> (bool, Vec<Closed>) {
        let now = Instant::now();
        let alone = self.alone();
        let mut kept = self.kept();
        let new = !kept.contains_key(&local);
        let mut closed = Vec::new();
        if new && alone {
            kept.retain(|_, connection| {
                if connection.origin != origin {
                    return true;
                }
                let idle = now.saturating_duration_since(connection.last_answer);
                let reason = if idle >= idle_timeout {
                    "idle"
                } else {
                    "closed_while_idle"
                };
                closed.push(Closed {
                    reason,
                    idle: Some(idle),
                });
                false
            });
        }
        if kept_after {
            if kept.len() >= MAX_REMEMBERED {
                kept.clear();
            }
            kept.insert(
                local,
                Kept {
                    origin: origin.to_owned(),
                    last_answer: now,
                },
            );
        } else {
            kept.remove(&local);
        }
        (new, closed)
    }

    /// The connection from `local` ended in the middle of an answer.
    pub fn forget(&self, local: SocketAddr) {
        self.kept().remove(&local);
    }

    /// A call to `origin` lost its connection. Alone, it was on the kept connection to
    /// `origin` answered last, if any (the pool hands out the most recent first), or on a
    /// new one: either way that kept one is forgotten, so that it is not reported twice.
    pub fn lost(&self, origin: &str) {
        if !self.alone() {
            return;
        }
        let mut kept = self.kept();
        let latest = kept
            .iter()
            .filter(|(_, connection)| connection.origin == origin)
            .max_by_key(|(_, connection)| connection.last_answer)
            .map(|(local, _)| *local);
        if let Some(local) = latest {
            kept.remove(&local);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_new_connection_alone_reports_the_kept_ones_it_replaced() {
        let connections = Connections::default();
        let idle = Duration::from_secs(90);
        let _call = connections.start();
        assert_eq!(
            connections.answered(address(1), "a:80", idle, true),
            (true, vec![])
        );
        assert_eq!(
            connections.answered(address(1), "a:80", idle, true),
            (false, vec![])
        );
        // Another origin's kept connection is not touched by a new one to a:80.
        assert_eq!(
            connections.answered(address(2), "b:80", idle, true),
            (true, vec![])
        );
        let (new, closed) = connections.answered(address(3), "a:80", idle, true);
        assert!(new);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].reason, "closed_while_idle");
        // Past the idle timeout, it is the pool that closed it.
        let (_, closed) = connections.answered(address(4), "a:80", Duration::ZERO, false);
        assert_eq!(closed[0].reason, "idle");
        // A connection that ends with its answer is not kept.
        assert_eq!(
            connections.answered(address(5), "a:80", idle, true),
            (true, vec![])
        );
    }

    #[test]
    fn under_concurrent_calls_nothing_is_guessed() {
        let connections = Connections::default();
        let idle = Duration::from_secs(90);
        let first = connections.start();
        connections.answered(address(1), "a:80", idle, true);
        let _second = connections.start();
        let (new, closed) = connections.answered(address(2), "a:80", idle, true);
        assert!(new && closed.is_empty());
        connections.lost("a:80");
        drop(first);
        // Alone again: the lost call took the latest, the earlier one is still kept.
        connections.lost("a:80");
        let (_, closed) = connections.answered(address(3), "a:80", idle, true);
        assert_eq!(closed.len(), 1);
    }
}
