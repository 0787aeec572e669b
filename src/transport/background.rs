//! The completion queue's runtime: one thread of the library's own, started with the first
//! queue, that drives every started call of the process, with connection pools of its own.
//!
//! Why one thread: the blocking calls ([`super::local`]) keep running on their callers'
//! threads; started calls exist so that a program can have thousands in flight without a
//! thread each, and one current-thread runtime carries thousands of waits (they spend their
//! time waiting for answers and pausing between polls). Host names are resolved with
//! `getaddrinfo`, which blocks, so the runtime may start one more thread for lookups (never
//! for an IP address; it ends after 1 s without lookups): at most two threads in all. Both
//! block SIGPIPE (and every signal but those of faults) in their own signal mask (the hook is
//! the FFI layer's), so a write on a connection the server reset can never end the host
//! process, and the process's signals always go to the program's own threads.
//!
//! Requests to one host take turns ([`HostLimit`], [`MAX_CONNECTIONS_PER_HOST`] of them),
//! so thousands of started calls share a bounded set of connections instead of opening one
//! each; calls beyond that wait their turn, within their deadline.
//!
//! fork(): a child inherits the parent's runtime but not its thread. The runtime records the
//! process that built it ([`crate::process`]); [`current`] in another process builds a fresh
//! one and leaks the inherited one untouched (dropping it would wait for a thread that does
//! not exist there).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwapOption;
use tokio_util::sync::CancellationToken;

use crate::client::ConnectionSettings;
use crate::error::{codes, ApiError};
use crate::process::{self, ProcessId};
use crate::transport::limit::HostLimit;
use crate::transport::{build_pool, recently_used, Pool};

/// How many requests to one host (scheme, host and port) the started calls of a process have
/// in flight at most, hence about how many connections they keep to it; more calls wait
/// their turn. Exported to C as `ALTOGIC_MAX_CONNECTIONS_PER_HOST`.
pub(crate) const MAX_CONNECTIONS_PER_HOST: usize = 64;

/// Beyond this many hosts known to one pool, the turns of those no call is using are
/// forgotten (a host nobody calls has all its turns free, as a new one would), so a process
/// that talks to many hosts over its life keeps no record of each.
const MAX_IDLE_HOSTS: usize = 64;

/// How long the host-name lookup thread outlives its last lookup.
const LOOKUP_THREAD_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(1);

/// The runtime's own thread, as named in `/proc` and debuggers.
const THREAD_NAME: &str = "altogic-queue";

/// A pool for one [`ConnectionSettings`], and the turns of each host it talks to.
struct PoolEntry {
    settings: ConnectionSettings,
    pool: Pool,
    /// By origin, `scheme://host:port`.
    hosts: HashMap<String, Arc<HostLimit>>,
}

/// The process's background runtime.
pub struct Background {
    process: ProcessId,
    handle: tokio::runtime::Handle,
    /// Ends the runtime's thread (only a runtime that lost the race to start is stopped).
    stop: CancellationToken,
    /// Most recently used last.
    pools: Mutex<Vec<PoolEntry>>,
}

/// The runtime of this process, once a queue was made.
static CURRENT: ArcSwapOption<Background> = ArcSwapOption::const_empty();

/// The background runtime of this process, started on first use (in a forked child, again).
/// `on_thread_start` runs first on each thread the runtime starts (the FFI layer blocks
/// SIGPIPE there).
pub fn current(on_thread_start: fn()) -> Result<Arc<Background>, ApiError> {
    let this_process = process::current();
    loop {
        let seen = CURRENT.load_full();
        if let Some(background) = &seen {
            if background.process == this_process {
                return Ok(Arc::clone(background));
            }
        }
        let fresh = Arc::new(Background::start(this_process, on_thread_start)?);
        let previous = CURRENT.compare_and_swap(&seen, Some(Arc::clone(&fresh)));
        let won = match (&*previous, &seen) {
            (Some(previous), Some(seen)) => Arc::ptr_eq(previous, seen),
            (None, None) => true,
            _ => false,
        };
        if won {
            // Never dropped: its thread serves the process until it exits. An inherited
            // runtime keeps the count its parent leaked, so it is never dropped either.
            std::mem::forget(Arc::clone(&fresh));
            return Ok(fresh);
        }
        // Another thread started one first: ours stops (its thread is in this process).
        drop(previous);
        fresh.stop();
    }
}

impl Background {
    fn start(process: ProcessId, on_thread_start: fn()) -> Result<Background, ApiError> {
        let failed = |what: &str, err: std::io::Error| {
            ApiError::client(
                codes::INTERNAL_ERROR,
                format!("could not start the completion queue's {what}: {err}"),
                None,
            )
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            // Host-name lookups (getaddrinfo blocks): one thread at a time, gone 1 s after
            // the last (lookups come once per new connection).
            .max_blocking_threads(1)
            .thread_keep_alive(LOOKUP_THREAD_KEEP_ALIVE)
            .thread_name(THREAD_NAME)
            .on_thread_start(on_thread_start)
            .build()
            .map_err(|err| failed("runtime", err))?;
        let handle = runtime.handle().clone();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || {
                on_thread_start();
                // Drives every spawned call, for as long as the process lives.
                runtime.block_on(stopped.cancelled());
            })
            .map_err(|err| failed("thread", err))?;
        Ok(Background {
            process,
            handle,
            stop,
            pools: Mutex::new(Vec::new()),
        })
    }

    /// Ends the thread of a runtime no queue uses (one that lost the race to start).
    fn stop(&self) {
        self.stop.cancel();
    }

    /// Runs `work` on the runtime; never waits.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        drop(self.handle.spawn(work));
    }

    /// The pool for `settings` and the turns of the host `origin` (`scheme://host:port`).
    pub fn connections(
        &self,
        settings: &ConnectionSettings,
        origin: &str,
    ) -> Result<(Pool, Arc<HostLimit>), ApiError> {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = recently_used(
            &mut pools,
            |entry| entry.settings == *settings,
            || {
                Ok(PoolEntry {
                    settings: settings.clone(),
                    pool: build_pool(settings)?,
                    hosts: HashMap::new(),
                })
            },
        )?;
        let limit = match entry.hosts.get(origin) {
            Some(limit) => Arc::clone(limit),
            None => {
                if entry.hosts.len() >= MAX_IDLE_HOSTS {
                    // Only the map holds the turns of a host no call is using.
                    entry.hosts.retain(|_, limit| Arc::strong_count(limit) > 1);
                }
                let limit = Arc::new(HostLimit::new(MAX_CONNECTIONS_PER_HOST));
                entry.hosts.insert(origin.to_owned(), Arc::clone(&limit));
                limit
            }
        };
        Ok((entry.pool.clone(), limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::MAX_POOLS;
    use std::time::Duration;

    fn nothing() {}

    fn settings_with_connect_timeout(ms: u64) -> ConnectionSettings {
        let options = crate::client::ClientOptions {
            connect_timeout_ms: Some(ms),
            ..Default::default()
        };
        let client = crate::client::Client::new("http://127.0.0.1:9", "k", options).unwrap();
        client.connection().clone()
    }

    #[test]
    fn one_runtime_per_process_with_pools_and_turns_per_host() {
        let first = current(nothing).unwrap();
        let again = current(nothing).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let settings = settings_with_connect_timeout(1234);
        let (_, limit_a) = first.connections(&settings, "http://127.0.0.1:9").unwrap();
        let (_, limit_a_again) = first.connections(&settings, "http://127.0.0.1:9").unwrap();
        let (_, limit_b) = first.connections(&settings, "http://127.0.0.1:10").unwrap();
        assert!(
            Arc::ptr_eq(&limit_a, &limit_a_again),
            "one host, one set of turns"
        );
        assert!(!Arc::ptr_eq(&limit_a, &limit_b), "each host its own");
    }

    #[test]
    fn pools_stay_bounded_whatever_the_settings() {
        let background = current(nothing).unwrap();
        for ms in 1..=(MAX_POOLS as u64 * 3) {
            let settings = settings_with_connect_timeout(100_000 + ms);
            background
                .connections(&settings, "http://127.0.0.1:9")
                .unwrap();
        }
        assert!(background.pools.lock().unwrap().len() <= MAX_POOLS);
    }

    #[test]
    fn hosts_no_call_uses_are_forgotten_beyond_a_bound() {
        let background = current(nothing).unwrap();
        let settings = settings_with_connect_timeout(4321);
        let url = |port: usize| format!("http://127.0.0.1:{port}");
        let (_, in_use) = background.connections(&settings, &url(1)).unwrap();
        for port in 2..=MAX_IDLE_HOSTS * 3 {
            background.connections(&settings, &url(port)).unwrap();
        }
        let (_, again) = background.connections(&settings, &url(1)).unwrap();
        assert!(
            Arc::ptr_eq(&in_use, &again),
            "a host in use keeps its turns"
        );
        let pools = background.pools.lock().unwrap();
        let entry = pools
            .iter()
            .find(|entry| entry.settings == settings)
            .unwrap();
        assert!(
            entry.hosts.len() <= MAX_IDLE_HOSTS,
            "{} hosts kept",
            entry.hosts.len()
        );
    }

    #[test]
    fn spawned_work_runs_on_the_runtime_thread() {
        let background = current(nothing).unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        background.spawn(async move {
            let name = std::thread::current().name().map(str::to_owned);
            sender.send(name).unwrap();
        });
        let name = receiver.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(name.as_deref(), Some(THREAD_NAME));
    }
}
