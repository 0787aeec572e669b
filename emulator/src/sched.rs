//! The emulator's view of a task's schedule: `altogic_schedule::Schedule`, guarded.
//!
//! The schedule crate is developed alongside the emulator. While its functions are not
//! implemented yet (they panic with `todo!()`), second-level and minute/hour intervals
//! fall back to a small built-in computation (runs at multiples of the interval since the
//! Unix epoch) so that local work and tests keep going; every other kind is refused.

use altogic_schedule::{Schedule, ScheduleConfig};
use chrono::{DateTime, Utc};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[derive(Debug, Clone)]
pub enum Sched {
    Real(Schedule),
    /// Built-in fallback: every `secs` seconds, aligned on the epoch.
    Interval {
        secs: i64,
        text: String,
    },
}

/// Runs `f`, turning a panic into None without printing the panic message.
fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = catch_unwind(AssertUnwindSafe(f)).ok();
    std::panic::set_hook(hook);
    out
}

impl Sched {
    /// Validates a schedule; call before the runtime starts (it swaps the panic hook).
    pub fn build(config: &ScheduleConfig) -> Result<Sched, String> {
        match quietly(|| Schedule::from_config(config)) {
            Some(Ok(s)) => Ok(Sched::Real(s)),
            Some(Err(e)) => Err(e),
            None => fallback(config),
        }
    }

    /// The first run strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Sched::Real(s) => catch_unwind(AssertUnwindSafe(|| s.next_after(after)))
                .ok()
                .flatten(),
            Sched::Interval { secs, .. } => {
                let ms = secs * 1000;
                let t = after.timestamp_millis();
                DateTime::from_timestamp_millis((t.div_euclid(ms) + 1) * ms)
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Sched::Real(s) => catch_unwind(AssertUnwindSafe(|| s.describe()))
                .unwrap_or_else(|_| "(schedule description unavailable)".into()),
            Sched::Interval { text, .. } => text.clone(),
        }
    }
}

fn fallback(config: &ScheduleConfig) -> Result<Sched, String> {
    let ScheduleConfig::Interval { every, timezone } = config else {
        return Err(
            "this schedule kind needs the altogic-schedule crate, which is not implemented in this build"
                .into(),
        );
    };
    if let Some(tz) = timezone {
        if tz != "UTC" {
            return Err(format!(
                "time zone {tz:?} needs the altogic-schedule crate, which is not implemented in this build"
            ));
        }
    }
    let bad = || {
        format!("interval {every:?} is not one of 5m 10m 15m 20m 30m 1h 2h 3h 4h 6h 12h or 1s..59s")
    };
    let (num, unit) = every.split_at(every.len().saturating_sub(1));
    let n: i64 = num.parse().map_err(|_| bad())?;
    let (secs, text) = match unit {
        "s" if (1..=59).contains(&n) => (n, format!("every {n} seconds (UTC)")),
        "m" if [5, 10, 15, 20, 30].contains(&n) => (n * 60, format!("every {n} minutes (UTC)")),
        "h" if [1, 2, 3, 4, 6, 12].contains(&n) => (n * 3600, format!("every {n} hours (UTC)")),
        _ => return Err(bad()),
    };
    Ok(Sched::Interval { secs, text })
}
