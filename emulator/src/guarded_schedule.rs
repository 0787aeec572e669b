//! A task's schedule as the emulator holds it: an `altogic_schedule::Schedule` whose
//! computations are guarded, so that a panic inside one becomes a config error (at start),
//! "no next run" (at run time) or a placeholder description instead of taking the emulator
//! down.

use altogic_schedule::{Schedule, ScheduleConfig};
use chrono::{DateTime, Utc};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[derive(Debug, Clone)]
pub struct GuardedSchedule(Schedule);

impl GuardedSchedule {
    /// Validates a schedule; the error says what is wrong.
    pub fn build(config: &ScheduleConfig) -> Result<GuardedSchedule, String> {
        match catch_unwind(AssertUnwindSafe(|| Schedule::from_config(config))) {
            Ok(Ok(s)) => Ok(GuardedSchedule(s)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the schedule computation failed on this schedule".into()),
        }
    }

    /// The first run strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        catch_unwind(AssertUnwindSafe(|| self.0.next_after(after)))
            .ok()
            .flatten()
    }

    pub fn describe(&self) -> String {
        catch_unwind(AssertUnwindSafe(|| self.0.describe()))
            .unwrap_or_else(|_| "(no description)".into())
    }
}
