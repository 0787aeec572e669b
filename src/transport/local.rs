//! The blocking calls' runtime: a small current-thread runtime and connection pools per
//! calling thread.
//!
//! Why per thread rather than one shared multi-thread runtime: with a shared runtime, the
//! connection's task runs on the runtime's worker thread, so every call hops from the
//! caller to the worker and back (two cross-thread wake-ups); measured, that halved the
//! calls per second. Here the calling thread drives its own runtime inside `block_on`: no
//! hop, and no thread is started at all, for any number of clients. Each thread keeps its
//! own kept-alive connections (a connection's task lives on the runtime of the thread that
//! opened it), so threads never contend for a pool either. A thread that makes no more
//! calls keeps its idle connections until it exits; the runtime and pools are dropped then.
//!
//! fork(): the child inherits the forking thread's runtime (whose epoll instance it would
//! share with the parent) and kept-alive sockets, but no other thread and no lock matters:
//! the state is per thread and records the process that built it ([`crate::process`]). A
//! call in another process leaks the inherited state and builds a fresh one.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::time::{Duration, Instant};

use crate::cancel::{cancelled_error, CancelToken};
use crate::client::ConnectionSettings;
use crate::error::{codes, ApiError};
use crate::process::{self, ProcessId};
use crate::transport::spin::{spin_then_park, InCall, SpinRecord, SPIN_FOR};
use crate::transport::{build_pool, cancellable, recently_used, Pool};

/// Calls that follow the previous one on this thread more closely than this skip looking
/// for connections the server closed meanwhile (see [`notice_closed_connections`]): a
/// server's idle close comes after far longer, and the look costs about 5% of a call, which
/// a loop of back-to-back calls would pay for nothing.
const NOTICE_CLOSES_AFTER: Duration = Duration::from_micros(200);

/// A thread's runtime and pools.
struct Local {
    process: ProcessId,
    runtime: tokio::runtime::Runtime,
    /// When this thread's last call ended.
    last_call_ended: Instant,
    /// Whether this thread's spins find their answers.
    spin: SpinRecord,
    /// Most recently used last.
    pools: Vec<(ConnectionSettings, Pool)>,
}

/// The thread-local slot of a thread's [`Local`].
struct Slot(RefCell<Option<Local>>);

impl Drop for Slot {
    fn drop(&mut self) {
        // Runs when the thread exits, among other thread-local destructors: a panic here
        // would abort the process, so none may escape.
        let local = self.0.get_mut().take();
        let _ = catch_unwind(AssertUnwindSafe(move || drop(local)));
    }
}

thread_local! {
    static LOCAL: Slot = const { Slot(RefCell::new(None)) };
}

impl Local {
    fn new(process: ProcessId) -> Result<Local, ApiError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| {
                ApiError::client(
                    codes::INTERNAL_ERROR,
                    format!("could not start the HTTP runtime: {err}"),
                    None,
                )
            })?;
        Ok(Local {
            process,
            runtime,
            last_call_ended: Instant::now(),
            spin: SpinRecord::default(),
            pools: Vec::new(),
        })
    }

    fn pool(&mut self, settings: &ConnectionSettings) -> Result<Pool, ApiError> {
        let (_, pool) = recently_used(
            &mut self.pools,
            |(kept, _)| kept == settings,
            || Ok((settings.clone(), build_pool(settings)?)),
        )?;
        Ok(pool.clone())
    }
}

/// Runs `work` with this thread's runtime and pools, building them on first use (and again
/// in a forked child).
fn with_local<R>(work: impl FnOnce(&mut Local) -> Result<R, ApiError>) -> Result<R, ApiError> {
    LOCAL.with(|slot| {
        let this_process = process::current();
        let mut slot = slot.0.borrow_mut();
        let local = match slot.take() {
            Some(local) if local.process == this_process => slot.insert(local),
            inherited => {
                // Inherited across fork(): never touch or drop the parent's runtime.
                std::mem::forget(inherited);
                slot.insert(Local::new(this_process)?)
            }
        };
        work(local)
    })
}

/// Runs the future `work` makes from this thread's pool for `settings` on this thread's
/// runtime, until it completes or `cancel` is triggered. A token triggered before the call
/// makes it return at once, running nothing. `one_request`: the call is a single request,
/// whose answer is worth looking for before parking the thread ([`crate::transport::spin`]).
pub fn block_on<T, F>(
    settings: &ConnectionSettings,
    cancel: Option<&CancelToken>,
    description: &str,
    one_request: bool,
    work: impl FnOnce(Pool) -> F,
) -> Result<T, ApiError>
where
    F: Future<Output = Result<T, ApiError>>,
{
    let started = Instant::now();
    if cancel.is_some_and(CancelToken::is_triggered) {
        return Err(cancelled_error(description, started.elapsed()));
    }
    // A wait spends its time pausing between polls, so it is not counted among the callers.
    let in_call = one_request.then(InCall::enter);
    with_local(|local| {
        let pool = local.pool(settings)?;
        let notice = started.saturating_duration_since(local.last_call_ended) > NOTICE_CLOSES_AFTER;
        let spin = in_call.as_ref().is_some_and(InCall::may_spin) && local.spin.wants_to_spin();
        let result = local.runtime.block_on(async {
            if notice {
                notice_closed_connections().await;
            }
            let mut call = pin!(cancellable(cancel, description, started, work(pool)));
            if !spin {
                return call.await;
            }
            let (result, answered) = spin_then_park(call.as_mut(), SPIN_FOR).await;
            local.spin.record(answered);
            result
        });
        local.last_call_ended = Instant::now();
        result
    })
}

/// Between two calls nobody drives this thread's runtime, so a kept-alive connection the
/// server closed meanwhile still looks open to the pool, and a request sent on it fails
/// (a POST cannot be resent). Yielding twice first lets the runtime poll its sockets (the
/// first yield parks it without waiting) and then run the connection tasks that found an
/// end of stream, which retire their connections; the request then takes a live one or
/// opens a new one. It costs two non-blocking polls per call.
async fn notice_closed_connections() {
    tokio::task::yield_now().await;
    tokio::task::yield_now().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::MAX_POOLS;

    fn pool_count() -> usize {
        LOCAL.with(|slot| {
            slot.0
                .borrow()
                .as_ref()
                .map_or(0, |local| local.pools.len())
        })
    }

    #[test]
    fn pools_stay_bounded_whatever_the_settings() {
        for ms in 1..=(MAX_POOLS as u64 * 3) {
            let settings = ConnectionSettings {
                connect_timeout: Duration::from_millis(ms),
                uses_tls: false,
                extra_trust: None,
                proxy: None,
            };
            with_local(|local| local.pool(&settings)).unwrap();
        }
        assert_eq!(pool_count(), MAX_POOLS);
    }
}
