//! A completion queue: calls started on the library's runtime
//! ([`crate::transport::runtime`]) deliver their results here, each with the tag its
//! caller gave, exactly once; the caller takes them with [`Queue::next`], from any thread.
//!
//! A readiness signal ([`Readiness`], an eventfd in C) is raised when the queue goes from
//! empty to non-empty and cleared when it is drained, both under the queue's lock: so it is
//! raised exactly while a result waits (what poll and epoll see, level-triggered), and every
//! empty → non-empty transition raises it anew (what an edge-triggered poller such as Go's
//! needs). Except for a result that comes while a taker is blocked in [`Queue::next`]: that
//! taker is woken and takes it, and raises the signal only if it leaves more results behind.
//! Raising it too would cost two system calls per result (raise, then clear when taken),
//! and wake any poller, for a result already spoken for.
//!
//! Closing a queue ([`Queue::close`]) refuses new calls, cancels the running ones, drops the
//! results nobody took, wakes the threads waiting in `next`, and waits (bounded) for the
//! running calls to end and for those threads to leave.
//!
//! fork(): a child inherits the queue's memory but not the runtime's thread, and its lock
//! may have been held by a thread that does not exist there. Every operation first compares
//! the process that made the queue ([`crate::process`]) with its own: in another process `start` is refused, `next`
//! answers nothing at once, and [`Queue::abandon`] frees what it can without waiting for
//! anything or taking the lock.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cancel::CancelToken;
use crate::client::Client;
use crate::error::{codes, ApiError};
use crate::info::TaskInfo;
use crate::process::{self, ProcessId};
use crate::task::{Call, TaskResult, WatchStatus};
use crate::transport::cancellable;
use crate::transport::runtime::Runtime;

/// The queue's readiness signal, raised and cleared under the queue's lock.
pub trait Readiness: Send + Sync {
    /// The queue went from empty to non-empty.
    fn raise(&self);
    /// The queue is empty again.
    fn clear(&self);
    /// The descriptor a poller watches; -1 when there is none.
    fn fd(&self) -> i32;
}

/// What a result is to its call: its only one, or, for a watched wait, one status of the
/// execution as it changes, then the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finality {
    /// The result of a call that has one.
    Only,
    /// A status a watched wait found; more results come with the same tag.
    Progress,
    /// The last result of a watched wait: the wait's own result.
    Last,
}

/// A result and its tag, as [`Queue::next`] hands it out.
pub type Taken = (u64, TaskResult, Finality);

/// The results waiting, and what `close` waits for.
#[derive(Default)]
struct State {
    results: VecDeque<Taken>,
    closed: bool,
    /// Calls started and not yet delivered.
    running: usize,
    /// Threads inside `next`.
    takers: usize,
    /// Takers blocked on `arrived` (a notification is a system call: only for them).
    sleepers: usize,
    /// Whether the readiness signal is raised.
    announced: bool,
}

struct Shared {
    state: Mutex<State>,
    /// A result arrived, or the queue was closed.
    arrived: Condvar,
    /// A call ended or a taker left while the queue is closed.
    left: Condvar,
    readiness: Box<dyn Readiness>,
    /// Triggered by `close`: ends every call still running.
    closing: CancelToken,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a result, or drops it when the queue is closed; unless it is `Progress`, the call
    /// is no longer running.
    fn deliver(&self, tag: u64, result: TaskResult, finality: Finality) {
        let mut state = self.lock();
        if finality != Finality::Progress {
            state.running -= 1;
        }
        if state.closed {
            let quiet = state.running == 0 && state.takers == 0;
            drop(state);
            if quiet {
                self.left.notify_all();
            }
            // `result` is dropped here, outside the lock.
            return;
        }
        state.results.push_back((tag, result, finality));
        let sleepers = state.sleepers;
        if state.results.len() == 1 && sleepers == 0 {
            state.announced = true;
            self.readiness.raise();
        }
        drop(state);
        if sleepers > 0 {
            self.arrived.notify_one();
        }
    }
}

/// Delivers a call's result exactly once: by [`Delivery::deliver`], or, should the call's
/// future be dropped without a result (a panic inside it), an `internal_error` on drop.
struct Delivery {
    shared: Arc<Shared>,
    tag: u64,
    delivered: bool,
    /// The last result's finality: `Last` for a watched wait, else `Only`.
    finality: Finality,
}

impl Delivery {
    fn deliver(mut self, result: TaskResult) {
        self.delivered = true;
        self.shared.deliver(self.tag, result, self.finality);
    }

    /// A status a watched wait found, before its last result.
    fn progress(&self, info: &TaskInfo) {
        self.shared
            .deliver(self.tag, Ok(Some(info.clone())), Finality::Progress);
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if !self.delivered {
            self.shared.deliver(
                self.tag,
                Err(ApiError::client(
                    codes::INTERNAL_ERROR,
                    "internal error in the altogic library (please report it): the started \
                     call ended without a result",
                    None,
                )),
                self.finality,
            );
        }
    }
}

/// A completion queue.
pub struct Queue {
    process: ProcessId,
    shared: Arc<Shared>,
    runtime: Arc<Runtime>,
}

fn refused(message: &str) -> ApiError {
    ApiError::client(
        codes::INVALID_ARGUMENT,
        message,
        Some(json!({ "argument": "queue" })),
    )
}

impl Queue {
    pub fn new(runtime: Arc<Runtime>, readiness: Box<dyn Readiness>) -> Queue {
        Queue {
            process: process::current(),
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                arrived: Condvar::new(),
                left: Condvar::new(),
                readiness,
                closing: CancelToken::new(),
            }),
            runtime,
        }
    }

    /// Whether this process did not make the queue (it was inherited across fork()).
    pub fn inherited(&self) -> bool {
        self.process != process::current()
    }

    /// The readiness descriptor; -1 when there is none.
    pub fn fd(&self) -> i32 {
        self.shared.readiness.fd()
    }

    /// Starts a call whose result, or the argument error in `job`, comes out of
    /// [`Queue::next`] with `tag`. Never waits for the network. Refused (and nothing will
    /// come) when the queue is closing or was inherited from another process.
    ///
    /// `watched`: a wait whose every status change comes out too, each as a `Progress`
    /// result, before its own result, which is then `Last` (else `Only`).
    pub fn start(
        &self,
        job: Result<(Client, Call), ApiError>,
        tag: u64,
        cancel: Option<CancelToken>,
        watched: bool,
    ) -> Result<(), ApiError> {
        if self.inherited() {
            return Err(refused(
                "this queue was made by another process (it was inherited across fork()), \
                 where the library's threads that run its calls live; make a new queue in \
                 this process and only free this one.",
            ));
        }
        {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(refused(
                    "this queue is being freed (altogic_queue_free), so it takes no new calls.",
                ));
            }
            state.running += 1;
        }
        let delivery = Delivery {
            shared: Arc::clone(&self.shared),
            tag,
            delivered: false,
            finality: if watched {
                Finality::Last
            } else {
                Finality::Only
            },
        };
        let (client, call) = match job {
            Ok(job) => job,
            Err(error) => {
                delivery.deliver(Err(error));
                return Ok(());
            }
        };
        let closing = self.shared.closing.clone();
        let runtime = Arc::clone(&self.runtime);
        let started = Instant::now();
        // The whole call in one allocation, the runtime's task: a few hundred bytes while it
        // waits for a turn or pauses between polls (execute_started boxes each request).
        self.runtime.spawn(async move {
            let description = call.description();
            let report = |info: &TaskInfo| delivery.progress(info);
            let watch: Option<&WatchStatus<'_>> = watched.then_some(&report);
            let work = client.execute_started(&runtime, &call, started, watch);
            let id = client.id();
            let cancellable_work = cancellable(cancel.as_ref(), description, started, id, work);
            let result =
                cancellable(Some(&closing), description, started, id, cancellable_work).await;
            delivery.deliver(result);
        });
        Ok(())
    }

    /// The next result and its tag, waiting up to `timeout` (zero: only looks; None: until
    /// one comes or the queue is closed). None when nothing came in time, the queue is
    /// closing, or it was inherited from another process.
    pub fn next(&self, timeout: Option<Duration>) -> Option<Taken> {
        if self.inherited() {
            return None;
        }
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        // A reference of our own: `close` may free the queue once we left, and wakes us
        // while it is freed.
        let shared = Arc::clone(&self.shared);
        let mut state = shared.lock();
        state.takers += 1;
        let taken = loop {
            if let Some(taken) = state.results.pop_front() {
                if state.results.is_empty() {
                    if state.announced {
                        state.announced = false;
                        shared.readiness.clear();
                    }
                } else if !state.announced {
                    state.announced = true;
                    shared.readiness.raise();
                }
                break Some(taken);
            }
            if state.closed {
                break None;
            }
            // None: wait until notified.
            let left = match deadline {
                None => None,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break None;
                    }
                    Some(left)
                }
            };
            state.sleepers += 1;
            state = match left {
                None => shared
                    .arrived
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(left) => {
                    shared
                        .arrived
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            state.sleepers -= 1;
        };
        state.takers -= 1;
        let quiet = state.closed && state.running == 0 && state.takers == 0;
        drop(state);
        if quiet {
            shared.left.notify_all();
        }
        taken
    }

    /// Closes the queue: refuses new calls, cancels the running ones, drops the results
    /// nobody took, wakes the threads in `next` (they answer None), then waits at most
    /// `grace` for the calls to end and those threads to leave. Answers whether they all did.
    pub fn close(&self, grace: Duration) -> bool {
        let shared = &self.shared;
        let dropped;
        {
            let mut state = shared.lock();
            state.closed = true;
            dropped = std::mem::take(&mut state.results);
            state.announced = false;
            shared.readiness.clear();
        }
        shared.closing.trigger();
        shared.arrived.notify_all();
        drop(dropped);
        let until = Instant::now() + grace;
        let mut state = shared.lock();
        while state.running > 0 || state.takers > 0 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = shared
                .left
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// Frees a queue inherited across fork() ([`Queue::inherited`]) without waiting or
    /// taking its lock: the results, when the lock is free, and the queue itself and its
    /// descriptor when no call of the parent held on to it.
    pub fn abandon(self) {
        // The runtime and the calls of the parent are not in this process: never touch them.
        let Queue {
            shared, runtime, ..
        } = self;
        std::mem::forget(runtime);
        if let Ok(mut state) = shared.state.try_lock() {
            let results = std::mem::take(&mut state.results);
            drop(state);
            drop(results);
        }
        // When calls of the parent were running, they hold counts that will never be
        // released here: then the queue's memory and descriptor are left as they are.
        if let Some(shared) = Arc::into_inner(shared) {
            drop(shared);
        }
    }

    /// Results waiting now (for tests).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.shared.lock().results.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use crate::client::ClientOptions;
    use crate::transport::runtime;

    /// Records what the queue did to its signal.
    #[derive(Default)]
    struct Recorder {
        raised: AtomicBool,
        raises: AtomicUsize,
    }

    impl Readiness for Arc<Recorder> {
        fn raise(&self) {
            assert!(
                !self.raised.swap(true, Ordering::SeqCst),
                "raised twice in a row"
            );
            self.raises.fetch_add(1, Ordering::SeqCst);
        }
        fn clear(&self) {
            self.raised.store(false, Ordering::SeqCst);
        }
        fn fd(&self) -> i32 {
            -1
        }
    }

    fn queue() -> (Queue, Arc<Recorder>) {
        let recorder = Arc::new(Recorder::default());
        let runtime = runtime::current().unwrap();
        (
            Queue::new(runtime, Box::new(Arc::clone(&recorder))),
            recorder,
        )
    }

    fn client() -> Client {
        // A port nothing listens on: connecting fails at once.
        Client::new("http://127.0.0.1:9", "k", ClientOptions::default()).unwrap()
    }

    fn code(result: &TaskResult) -> Option<&str> {
        result.as_ref().err().and_then(ApiError::first_code)
    }

    #[test]
    fn argument_errors_come_out_once_with_their_tag_and_raise_the_signal() {
        let (queue, recorder) = queue();
        assert!(queue.next(Some(Duration::ZERO)).is_none());
        let missing = crate::error::missing_value("task_id");
        queue.start(Err(missing.clone()), 7, None, false).unwrap();
        queue.start(Err(missing), 8, None, false).unwrap();
        assert!(recorder.raised.load(Ordering::SeqCst));
        assert_eq!(recorder.raises.load(Ordering::SeqCst), 1);
        let (tag, result, _) = queue.next(Some(Duration::ZERO)).unwrap();
        assert_eq!(
            (tag, code(&result)),
            (7, Some(codes::MISSING_REQUIRED_VALUE))
        );
        assert!(recorder.raised.load(Ordering::SeqCst), "one still waits");
        assert_eq!(queue.next(None).unwrap().0, 8);
        assert!(
            !recorder.raised.load(Ordering::SeqCst),
            "cleared once drained"
        );
        assert!(queue.next(Some(Duration::from_millis(20))).is_none());
        queue
            .start(Err(crate::error::missing_value("x")), 9, None, false)
            .unwrap();
        assert_eq!(recorder.raises.load(Ordering::SeqCst), 2, "raised anew");
        assert!(queue.close(Duration::from_millis(100)));
    }

    #[test]
    fn started_calls_run_on_the_runtime_and_end_with_their_token() {
        let (queue, _) = queue();
        let client = client();
        let call = client.run_once_call("x").unwrap();
        queue
            .start(Ok((client.clone(), call)), 1, None, false)
            .unwrap();
        let (tag, result, _) = queue.next(Some(Duration::from_secs(10))).unwrap();
        assert_eq!((tag, code(&result)), (1, Some(codes::NETWORK_ERROR)));

        let token = CancelToken::new();
        token.trigger();
        let call = client.wait_call("id", None).unwrap();
        queue
            .start(Ok((client, call)), 2, Some(token), false)
            .unwrap();
        let (tag, result, _) = queue.next(Some(Duration::from_secs(10))).unwrap();
        assert_eq!((tag, code(&result)), (2, Some(codes::CANCELLED)));
        assert_eq!(queue.waiting(), 0);
    }

    #[test]
    fn takers_blocked_on_several_threads_share_the_results_once_each() {
        let (queue, recorder) = queue();
        let queue = Arc::new(queue);
        let takers: Vec<_> = (0..4)
            .map(|_| {
                let queue = Arc::clone(&queue);
                std::thread::spawn(move || {
                    let mut tags = Vec::new();
                    while let Some((tag, _, _)) = queue.next(None) {
                        tags.push(tag);
                    }
                    tags
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        for tag in 0..1000 {
            let missing = crate::error::missing_value("task_id");
            queue.start(Err(missing), tag, None, false).unwrap();
            if tag % 100 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        while queue.waiting() > 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(queue.close(Duration::from_secs(1)), "the takers left");
        let mut tags: Vec<u64> = takers
            .into_iter()
            .flat_map(|taker| taker.join().unwrap())
            .collect();
        tags.sort_unstable();
        assert_eq!(tags, (0..1000).collect::<Vec<u64>>());
        assert!(!recorder.raised.load(Ordering::SeqCst));
    }

    /// Starts a thread blocked in `next`, once it is.
    fn blocked_taker(queue: &Arc<Queue>) -> std::thread::JoinHandle<Option<u64>> {
        let taker = {
            let queue = Arc::clone(queue);
            std::thread::spawn(move || queue.next(Some(Duration::from_secs(10))).map(|(t, _, _)| t))
        };
        while queue.shared.lock().sleepers == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        taker
    }

    #[test]
    fn a_result_for_a_blocked_taker_raises_the_signal_only_for_what_it_leaves() {
        let (queue, recorder) = queue();
        let queue = Arc::new(queue);
        let missing = || Err(crate::error::missing_value("task_id"));

        let taker = blocked_taker(&queue);
        queue.start(missing(), 1, None, false).unwrap();
        assert_eq!(taker.join().unwrap(), Some(1));
        assert_eq!(recorder.raises.load(Ordering::SeqCst), 0, "spoken for");

        let taker = blocked_taker(&queue);
        queue.start(missing(), 2, None, false).unwrap();
        queue.start(missing(), 3, None, false).unwrap();
        assert_eq!(taker.join().unwrap(), Some(2));
        assert!(recorder.raised.load(Ordering::SeqCst), "3 waits: raised");
        assert_eq!(queue.next(Some(Duration::ZERO)).unwrap().0, 3);
        assert!(!recorder.raised.load(Ordering::SeqCst), "drained: cleared");
        assert!(queue.close(Duration::from_millis(100)));
    }

    /// A started wait's timeout counts from its start, not from when the queue's thread first
    /// gets to it: one whose timeout passed meanwhile ends without a poll. (Counted from the
    /// first poll, it would poll the refusing port until its timeout, and report its
    /// network_error as the last error.)
    #[test]
    fn a_wait_counts_from_its_start() {
        let client = client();
        let call = client
            .wait_call("id", Some(Duration::from_millis(500)))
            .unwrap();
        let library = runtime::current().unwrap();
        let started = Instant::now() - Duration::from_secs(1);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = runtime.block_on(client.execute_started(&library, &call, started, None));
        let error = result.unwrap_err();
        assert_eq!(error.first_code(), Some(codes::TIMEOUT));
        assert_eq!(
            error.items[0]["details"]["lastError"],
            serde_json::Value::Null,
            "{error:?}"
        );
    }

    #[test]
    fn close_refuses_new_calls_drops_results_and_wakes_takers() {
        let (queue, recorder) = queue();
        let queue = Arc::new(queue);
        queue
            .start(Err(crate::error::missing_value("x")), 1, None, false)
            .unwrap();
        // A wait with no deadline of its own on a port that refuses: it retries until closed.
        let client = client();
        let call = client.wait_call("id", None).unwrap();
        queue.start(Ok((client, call)), 2, None, false).unwrap();
        let taker = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                // Takes the argument error, then blocks until the queue closes.
                let first = queue.next(None).map(|(tag, _, _)| tag);
                (first, queue.next(None).map(|(tag, _, _)| tag))
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        assert!(queue.close(Duration::from_secs(1)), "calls and takers left");
        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(taker.join().unwrap(), (Some(1), None));
        assert!(!recorder.raised.load(Ordering::SeqCst));
        let refused = queue
            .start(Err(crate::error::missing_value("x")), 3, None, false)
            .unwrap_err();
        assert_eq!(refused.first_code(), Some(codes::INVALID_ARGUMENT));
        assert!(queue.next(None).is_none(), "a closed queue answers at once");
    }

    #[test]
    fn a_queue_of_another_process_refuses_and_answers_nothing() {
        let (mut queue, _) = queue();
        queue
            .start(Err(crate::error::missing_value("x")), 1, None, false)
            .unwrap();
        queue.process = queue.process.other();
        assert!(queue.inherited());
        let refused = queue
            .start(Err(crate::error::missing_value("x")), 2, None, false)
            .unwrap_err();
        assert!(refused.items[0]["message"]
            .as_str()
            .unwrap()
            .contains("another process"));
        let started = Instant::now();
        assert!(queue.next(Some(Duration::from_secs(1))).is_none());
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "answers at once"
        );
        queue.abandon();
    }
}
