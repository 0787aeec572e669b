//! Waiting for a quick answer on a running CPU rather than an idle one.
//!
//! Why: when a blocking call's thread parks in `epoll_wait` for its answer, its CPU goes
//! idle, and waking an idle CPU when the answer comes costs tens of microseconds (on a
//! virtual machine the idle CPU halts, and its wake-up goes through the host). Against a
//! server a few tens of microseconds away (the same host, the same rack) that wake-up is
//! most of the call: measured on a 2-core VM against nginx on 127.0.0.1, parking at once
//! made 9,600 sequential runOnce calls per second, looking for the answer for up to
//! [`SPIN_FOR`] first made 18,500. Go's scheduler does the same thing for the same reason
//! (its idle threads spin before they sleep), which is why Go net/http was ahead.
//!
//! Spinning costs CPU, so it is bounded three ways:
//! - only single-request calls (runOnce, getTaskStatus) spin, never a wait's pauses;
//! - only while at most half the CPUs' worth of threads are inside blocking calls (as Go
//!   lets at most half its processors spin): with more, the CPUs have other callers' work
//!   to do, and spinning took it from them (4 threads on 2 CPUs made half the calls);
//! - a thread whose spins keep ending without the answer (a server farther away than
//!   [`SPIN_FOR`]) stops spinning for [`PAUSE_CALLS`] calls, then tries once more: against a
//!   distant server that wastes [`SPIN_FOR`] once per few hundred calls.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::task::Poll;
use std::time::{Duration, Instant};

/// How long a call looks for its answer before it parks its thread.
pub const SPIN_FOR: Duration = Duration::from_micros(100);
/// After this many spins in a row that ended without the answer, a thread pauses spinning.
const MISSES_BEFORE_PAUSE: u32 = 8;
/// How many calls a pause lasts.
const PAUSE_CALLS: u32 = 256;

/// Threads inside a blocking single-request call, in the whole process.
static CALLERS: AtomicUsize = AtomicUsize::new(0);

/// How many threads in blocking calls still spin: half the CPUs, at least one.
fn callers_that_spin() -> usize {
    static ALLOWED: OnceLock<usize> = OnceLock::new();
    *ALLOWED.get_or_init(|| {
        std::thread::available_parallelism().map_or(1, |cpus| (cpus.get() / 2).max(1))
    })
}

/// Counts its thread among [`CALLERS`] while it lives.
pub struct InCall {
    /// How many threads were in calls when this one entered, itself included.
    callers: usize,
}

impl InCall {
    pub fn enter() -> InCall {
        InCall {
            callers: CALLERS.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }

    /// Whether few enough threads are in calls for this one to spin.
    pub fn may_spin(&self) -> bool {
        self.callers <= callers_that_spin()
    }
}

impl Drop for InCall {
    fn drop(&mut self) {
        CALLERS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One thread's record of whether its spins find their answers.
#[derive(Default)]
pub struct SpinRecord {
    /// Spins in a row that ended without the answer.
    misses: u32,
    /// Calls left before this thread spins again.
    paused_for: u32,
}

impl SpinRecord {
    /// Whether this call should spin, as far as this thread's record goes; counts the call
    /// against a pause.
    pub fn wants_to_spin(&mut self) -> bool {
        if self.paused_for > 0 {
            self.paused_for -= 1;
            return false;
        }
        true
    }

    /// Records whether a spin found its answer.
    pub fn record(&mut self, answered: bool) {
        if answered {
            self.misses = 0;
            return;
        }
        self.misses += 1;
        if self.misses >= MISSES_BEFORE_PAUSE {
            // One more miss after the pause pauses again at once.
            self.misses = MISSES_BEFORE_PAUSE - 1;
            self.paused_for = PAUSE_CALLS;
        }
    }
}

/// Runs `work` on the current-thread runtime, first for up to `spin_for` polling it and
/// the runtime's sockets without parking (each turn is one non-blocking `epoll_wait`), then
/// parking as usual. Answers the output and whether it came while spinning. `work` is
/// pinned by the caller: taken by value, it would be kept twice in this future.
pub async fn spin_then_park<F: Future>(
    mut work: Pin<&mut F>,
    spin_for: Duration,
) -> (F::Output, bool) {
    let until = Instant::now() + spin_for;
    loop {
        let polled = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await;
        if let Poll::Ready(output) = polled {
            return (output, true);
        }
        if Instant::now() >= until {
            return (work.await, false);
        }
        // Lets the runtime poll its sockets without waiting (a yielded task makes it
        // look and come straight back) and run the connection task that got the answer.
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;

    #[test]
    fn a_thread_whose_spins_miss_pauses_then_tries_again() {
        let mut record = SpinRecord::default();
        for _ in 0..MISSES_BEFORE_PAUSE {
            assert!(record.wants_to_spin());
            record.record(false);
        }
        let paused = (0..PAUSE_CALLS).filter(|_| !record.wants_to_spin()).count();
        assert_eq!(paused, PAUSE_CALLS as usize);
        assert!(record.wants_to_spin(), "tries again after the pause");
        record.record(false);
        assert!(!record.wants_to_spin(), "one more miss pauses again");
    }

    #[test]
    fn an_answered_spin_clears_the_misses() {
        let mut record = SpinRecord::default();
        for _ in 0..MISSES_BEFORE_PAUSE - 1 {
            record.record(false);
        }
        record.record(true);
        record.record(false);
        assert!(record.wants_to_spin());
    }

    #[test]
    fn an_answer_that_comes_later_is_awaited_after_the_spin() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let later = pin!(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            7
        });
        let (output, answered) = runtime.block_on(spin_then_park(later, Duration::from_micros(50)));
        assert_eq!((output, answered), (7, false));
        let (output, answered) =
            runtime.block_on(spin_then_park(pin!(async { 8 }), Duration::from_micros(50)));
        assert_eq!((output, answered), (8, true));
    }
}
