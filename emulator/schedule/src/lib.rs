//! Next-run computation for Altogic scheduled tasks.
//!
//! SKELETON: the public API below is the contract used by the emulator crate.
//! Bodies are filled in by the schedule work; signatures must stay as they are.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// How a schedule is written in the emulator's TOML config, e.g.
/// `schedule = { type = "daily", at = "09:30", timezone = "Europe/Istanbul" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleConfig {
    /// `every`: "5m" "10m" "15m" "20m" "30m" "1h" "2h" "3h" "4h" "6h" "12h" (the service's
    /// intervals) or "Ns" with N in 1..=59 (second-level, for local work).
    Interval {
        every: String,
        timezone: Option<String>,
    },
    /// Every day at `at` ("HH:MM" or "HH:MM:SS").
    Daily { at: String, timezone: Option<String> },
    /// On the chosen weekdays ("mon".."sun", or full English names) at `at`.
    Weekly {
        days: Vec<String>,
        at: String,
        timezone: Option<String>,
    },
    /// On `day` of the month (1..=31, or "last") at `at`. A month without that day is skipped.
    Monthly {
        day: MonthDayConfig,
        at: String,
        timezone: Option<String>,
    },
    /// A cron expression (5 fields, or 6 with seconds first).
    Cron {
        expression: String,
        timezone: Option<String>,
    },
}

/// `day = 15` or `day = "last"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum MonthDayConfig {
    Day(u32),
    Named(String),
}

/// A validated schedule in a time zone (UTC when none is given).
#[derive(Debug, Clone)]
pub struct Schedule {
    _private: (),
}

impl Schedule {
    /// Validates a config; the error says what is wrong in one sentence.
    pub fn from_config(config: &ScheduleConfig) -> Result<Schedule, String> {
        let _ = config;
        todo!()
    }

    /// The first run strictly after `after`, or None when there is none.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let _ = after;
        todo!()
    }

    /// A short human description, e.g. "every 15 minutes (UTC)".
    pub fn describe(&self) -> String {
        todo!()
    }
}
