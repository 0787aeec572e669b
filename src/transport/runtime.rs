//! The library's one runtime for the process, and its connection pools.
//!
//! Every call runs here: a blocking call is spawned on the runtime and its calling thread
//! waits for the result (`Client::block_on` in `task`), and a completion queue's started
//! calls are spawned the same way. So every thread of the program, and every queue, shares
//! one pool of kept-alive connections per [`ConnectionSettings`]: a program whose threads
//! take turns calling the service opens one connection, not one per thread, and pays one TLS
//! handshake.
//!
//! Threads: [`WORKER_THREADS`] worker drives the calls and the connections (a connection's
//! task runs between calls too, so a close by the server is seen when it arrives and the
//! connection leaves the pool), and host-name lookups (`getaddrinfo` blocks) take at most
//! [`LOOKUP_THREADS`] more, which end [`LOOKUP_THREAD_KEEP_ALIVE`] after their last lookup.
//! All of them block SIGPIPE and the process's other signals ([`crate::signals`]): every
//! socket is read and written on them only.
//!
//! Requests of started calls to one host take turns ([`HostLimit`],
//! [`MAX_CONNECTIONS_PER_HOST`] of them), so thousands of started calls share a bounded set
//! of connections instead of opening one each; calls beyond that wait their turn, within
//! their deadline.
//!
//! fork(): a child inherits the parent's runtime but none of its threads. The runtime records
//! the process that built it ([`crate::process`]); [`current`] in another process builds a
//! fresh runtime with fresh pools and leaks the inherited one untouched (dropping it would
//! wait for threads that do not exist there).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::client::ConnectionSettings;
use crate::error::{codes, ApiError};
use crate::process::{self, ProcessId};
use crate::transport::limit::HostLimit;
use crate::transport::{build_pool, Pool};

/// How many requests to one host (scheme, host and port) the started calls of a process have
/// in flight at most, hence about how many connections they keep to it; more calls wait
/// their turn. Exported to C as `ALTOGIC_MAX_CONNECTIONS_PER_HOST`.
pub(crate) const MAX_CONNECTIONS_PER_HOST: usize = 64;

/// The runtime's worker threads. One: measured against nginx on 127.0.0.1 with 4 calling
/// threads on 2 CPUs, a second worker made each call cost 10-40% more CPU (the two stole
/// calls and connections from each other, and woke each other to do it), while one does
/// some 20,000 calls a second, far beyond what a program calling a service tens of
/// milliseconds away asks of it.
pub const WORKER_THREADS: usize = 1;
/// Threads for host-name lookups at most; with the worker, at most 3 library threads.
pub const LOOKUP_THREADS: usize = 2;
/// How long a lookup thread outlives its last lookup.
const LOOKUP_THREAD_KEEP_ALIVE: Duration = Duration::from_secs(1);

/// Beyond this many pools the least recently used one is closed, so memory stays bounded
/// whatever settings a program uses. Most programs use one.
pub(crate) const MAX_POOLS: usize = 8;

/// Beyond this many hosts known to the runtime, the turns of those no call is using are
/// forgotten (a host nobody calls has all its turns free, as a new one would).
const MAX_IDLE_HOSTS: usize = 64;

/// The threads' name, as shown in `/proc` and debuggers.
const THREAD_NAME: &str = "altogic-runtime";

/// A pool: the settings its connections were made with, and how long they stay idle.
struct PoolEntry {
    settings: ConnectionSettings,
    idle_timeout: Duration,
    pool: Pool,
}

/// The process's runtime.
pub struct Runtime {
    process: ProcessId,
    runtime: tokio::runtime::Runtime,
    /// Most recently used last.
    pools: Mutex<Vec<PoolEntry>>,
    /// The turns of each host started calls talk to, by origin (`scheme://host:port`).
    hosts: Mutex<HashMap<String, Arc<HostLimit>>>,
}

/// The runtime of this process, once a call was made.
static CURRENT: ArcSwapOption<Runtime> = ArcSwapOption::const_empty();

/// The runtime of this process, started on first use (in a forked child, again).
pub fn current() -> Result<Arc<Runtime>, ApiError> {
    let this_process = process::current();
    loop {
        let seen = CURRENT.load_full();
        if let Some(runtime) = &seen {
            if runtime.process == this_process {
                return Ok(Arc::clone(runtime));
            }
        }
        let fresh = Arc::new(Runtime::start(this_process)?);
        let previous = CURRENT.compare_and_swap(&seen, Some(Arc::clone(&fresh)));
        let won = match (&*previous, &seen) {
            (Some(previous), Some(seen)) => Arc::ptr_eq(previous, seen),
            (None, None) => true,
            _ => false,
        };
        if won {
            // Never dropped: its threads serve the process until it exits. An inherited
            // runtime keeps the count its parent leaked, so it is never dropped either.
            std::mem::forget(Arc::clone(&fresh));
            return Ok(fresh);
        }
        // Another thread started one first: ours stops, without waiting for its threads.
        drop(previous);
        if let Some(fresh) = Arc::into_inner(fresh) {
            fresh.runtime.shutdown_background();
        }
    }
}

impl Runtime {
    fn start(process: ProcessId) -> Result<Runtime, ApiError> {
        // A thread starts with its creator's signal mask: started under the library's, no
        // signal can reach a new thread before it blocks them itself.
        let runtime = crate::signals::with_library_thread_mask(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(WORKER_THREADS)
                .max_blocking_threads(LOOKUP_THREADS)
                .thread_keep_alive(LOOKUP_THREAD_KEEP_ALIVE)
                .thread_name(THREAD_NAME)
                .on_thread_start(crate::signals::block_in_this_thread)
                .enable_all()
                .build()
        })
        .map_err(|err| {
            ApiError::client(
                codes::INTERNAL_ERROR,
                format!("could not start the library's runtime: {err}"),
                None,
            )
        })?;
        Ok(Runtime {
            process,
            runtime,
            pools: Mutex::new(Vec::new()),
            hosts: Mutex::new(HashMap::new()),
        })
    }

    /// Runs `work` on the runtime; never waits.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        drop(self.runtime.spawn(work));
    }

    /// The pool for `settings` whose connections stay idle at most `idle_timeout`.
    pub fn pool(
        &self,
        settings: &ConnectionSettings,
        idle_timeout: Duration,
    ) -> Result<Pool, ApiError> {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        let found = pools
            .iter()
            .rposition(|entry| entry.idle_timeout == idle_timeout && entry.settings == *settings);
        let index = match found {
            // Most programs use one pool: it is last already.
            Some(index) if index + 1 == pools.len() => index,
            Some(index) => {
                let entry = pools.remove(index);
                pools.push(entry);
                pools.len() - 1
            }
            None => {
                // Built inside the runtime: the pool's timers and tasks belong to it.
                let pool = {
                    let _entered = self.runtime.enter();
                    build_pool(settings, idle_timeout)?
                };
                if pools.len() >= MAX_POOLS {
                    pools.remove(0);
                }
                pools.push(PoolEntry {
                    settings: settings.clone(),
                    idle_timeout,
                    pool,
                });
                pools.len() - 1
            }
        };
        Ok(pools[index].pool.clone())
    }

    /// The turns that started calls to `origin` (`scheme://host:port`) take.
    pub fn host_limit(&self, origin: &str) -> Arc<HostLimit> {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(limit) = hosts.get(origin) {
            return Arc::clone(limit);
        }
        if hosts.len() >= MAX_IDLE_HOSTS {
            // Only the map holds the turns of a host no call is using.
            hosts.retain(|_, limit| Arc::strong_count(limit) > 1);
        }
        let limit = Arc::new(HostLimit::new(MAX_CONNECTIONS_PER_HOST));
        hosts.insert(origin.to_owned(), Arc::clone(&limit));
        limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_with_connect_timeout(ms: u64) -> ConnectionSettings {
        let options = crate::client::ClientOptions {
            connect_timeout_ms: Some(ms),
            ..Default::default()
        };
        let client = crate::client::Client::new("http://127.0.0.1:9", "k", options).unwrap();
        client.connection().clone()
    }

    #[test]
    fn one_runtime_per_process_with_turns_per_host() {
        let first = current().unwrap();
        let again = current().unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let limit_a = first.host_limit("http://127.0.0.1:9");
        let limit_a_again = first.host_limit("http://127.0.0.1:9");
        let limit_b = first.host_limit("http://127.0.0.1:10");
        assert!(
            Arc::ptr_eq(&limit_a, &limit_a_again),
            "one host, one set of turns"
        );
        assert!(!Arc::ptr_eq(&limit_a, &limit_b), "each host its own");
    }

    #[test]
    fn pools_are_shared_by_equal_settings_and_stay_bounded() {
        let runtime = current().unwrap();
        let idle = Duration::from_secs(90);
        let settings = settings_with_connect_timeout(1234);
        runtime.pool(&settings, idle).unwrap();
        let count = || runtime.pools.lock().unwrap().len();
        let before = count();
        runtime.pool(&settings, idle).unwrap();
        assert_eq!(count(), before, "the same settings, the same pool");
        for ms in 1..=(MAX_POOLS as u64 * 3) {
            let settings = settings_with_connect_timeout(100_000 + ms);
            runtime.pool(&settings, idle).unwrap();
        }
        assert!(count() <= MAX_POOLS);
    }

    #[test]
    fn hosts_no_call_uses_are_forgotten_beyond_a_bound() {
        let runtime = current().unwrap();
        let url = |port: usize| format!("http://127.0.0.2:{port}");
        let in_use = runtime.host_limit(&url(1));
        for port in 2..=MAX_IDLE_HOSTS * 3 {
            runtime.host_limit(&url(port));
        }
        assert!(
            Arc::ptr_eq(&in_use, &runtime.host_limit(&url(1))),
            "a host in use keeps its turns"
        );
        let hosts = runtime.hosts.lock().unwrap().len();
        assert!(hosts <= MAX_IDLE_HOSTS + 1, "{hosts} hosts kept");
    }

    #[test]
    fn spawned_work_runs_on_a_library_thread() {
        let runtime = current().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let name = std::thread::current().name().map(str::to_owned);
            sender.send(name).unwrap();
        });
        let name = receiver.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(name.as_deref(), Some(THREAD_NAME));
    }
}
