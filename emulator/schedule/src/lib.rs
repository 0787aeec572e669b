//! Next-run computation for Altogic scheduled tasks.
//!
//! A [`ScheduleConfig`] (as written in the emulator's TOML config) is validated into a
//! [`Schedule`], which answers "when is the first run strictly after this instant?"
//! ([`Schedule::next_after`]) and describes itself in a few words ([`Schedule::describe`]).
//!
//! ```
//! use altogic_schedule::{Schedule, ScheduleConfig};
//! use chrono::{TimeZone, Utc};
//!
//! let config = ScheduleConfig::Daily { at: "02:30".into(), timezone: Some("America/New_York".into()) };
//! let schedule = Schedule::from_config(&config).unwrap();
//! assert_eq!(schedule.describe(), "daily at 02:30 (America/New_York)");
//! // 2026-03-08 has no 02:30 in New York: the run is at 03:00 EDT, 07:00 UTC.
//! let next = schedule.next_after(Utc.with_ymd_and_hms(2026, 3, 7, 12, 0, 0).unwrap());
//! assert_eq!(next, Some(Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap()));
//! ```
//!
//! # Schedules
//!
//! The ones Altogic's service offers:
//!
//! * `interval`: every 5, 10, 15, 20 or 30 minutes (`"5m"` ...), or every 1, 2, 3, 4, 6
//!   or 12 hours (`"1h"` ...). Any other value is refused.
//! * `daily`: every day at a time (`"HH:MM"` or `"HH:MM:SS"`).
//! * `weekly`: on the chosen weekdays (`"mon"`..`"sun"` or full English names, any case)
//!   at a time.
//! * `monthly`: on a day of the month (1..=31, or `"last"`) at a time. A month that has
//!   no such day (day 31 in April, day 30 in February) has no run that month.
//!
//! And, for local work only:
//!
//! * `interval` with `"Ns"`, N in 1..=59: every N seconds.
//! * `cron`: a cron expression of 5 fields (minute first), or 6 fields with seconds
//!   first, evaluated by the [`croner`] crate.
//!
//! Every schedule has a time zone, an IANA name such as `Europe/Istanbul`; UTC when none
//! is given.
//!
//! # Alignment
//!
//! Minute and hour intervals follow the local wall clock of the time zone: every 15
//! minutes fires at :00, :15, :30 and :45 local time, every 6 hours at 00:00, 06:00,
//! 12:00 and 18:00 local time (in a zone such as Asia/Kolkata, that is not on whole UTC
//! hours). Second intervals are aligned to the Unix epoch: every N seconds fires at the
//! instants whose Unix time is a multiple of N, whatever the zone.
//!
//! # Daylight saving time
//!
//! Every wall-clock schedule (minute and hour intervals, daily, weekly, monthly) turns
//! each local run time of a day into one instant by these rules:
//!
//! * A local time that does not exist on that day (it falls in the gap when clocks jump
//!   forward) fires at the first instant after the gap, on that same day: a daily run
//!   at 02:30 in America/New_York fires at 03:00 EDT on 2026-03-08. Several run times
//!   inside one gap (a 15-minute interval) therefore fire once, at the end of the gap.
//!   If the gap runs to the end of the day, that day has no run.
//! * A local time that occurs twice (clocks going back) fires once, at the earlier
//!   instant: a daily run at 01:30 in America/New_York fires at 01:30 EDT on
//!   2026-11-01, not again at 01:30 EST. For an interval, the repeated hour is not run
//!   a second time.
//!
//! Cron expressions follow croner's rules, which agree for fixed times (`30 2 * * *`)
//! and differ for wildcard/step fields: those skip the occurrences inside a gap and run
//! the matching occurrences of both passes of a repeated hour.
//!
//! # Bounds
//!
//! [`Schedule::next_after`] returns a run strictly after the given instant, never equal
//! to it, and `None` when there is none (a cron expression such as `0 0 30 2 *`, or an
//! instant beyond the calendar's range). Every search is bounded: wall-clock schedules
//! look at most 400 local days ahead; cron runs exist in the years 1 to 4999 only (croner's
//! range), so a cron search stops at the year 5000.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Deserialize;

#[cfg(test)]
mod tests;

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
    Daily {
        at: String,
        timezone: Option<String>,
    },
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

/// The minute intervals the service offers.
pub const ALLOWED_MINUTE_INTERVALS: [u32; 5] = [5, 10, 15, 20, 30];
/// The hour intervals the service offers.
pub const ALLOWED_HOUR_INTERVALS: [u32; 6] = [1, 2, 3, 4, 6, 12];

/// How many local days a wall-clock schedule looks ahead before giving up. Every
/// schedule that validates has a run within 62 days; the rest is slack for days lost
/// to time zone changes.
const MAX_SEARCH_DAYS: u64 = 400;

/// A validated schedule in a time zone (UTC when none is given).
#[derive(Debug, Clone)]
pub struct Schedule {
    kind: Kind,
    tz: Tz,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Every `minutes` minutes (a divisor of 60), aligned to the local wall clock.
    Minutes(u32),
    /// Every `hours` hours (a divisor of 24), aligned to local midnight.
    Hours(u32),
    /// Every `seconds` seconds (1..=59), aligned to the Unix epoch.
    Seconds(u32),
    Daily(NaiveTime),
    /// Days in Monday-first order, no duplicates, not empty.
    Weekly(Vec<Weekday>, NaiveTime),
    Monthly(MonthDay, NaiveTime),
    Cron(Box<croner::Cron>, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MonthDay {
    Day(u32),
    Last,
}

impl Schedule {
    /// Validates a config; the error says what is wrong in one sentence.
    pub fn from_config(config: &ScheduleConfig) -> Result<Schedule, String> {
        let (kind, timezone) = match config {
            ScheduleConfig::Interval { every, timezone } => (parse_interval(every)?, timezone),
            ScheduleConfig::Daily { at, timezone } => (Kind::Daily(parse_time(at)?), timezone),
            ScheduleConfig::Weekly { days, at, timezone } => (
                Kind::Weekly(parse_weekdays(days)?, parse_time(at)?),
                timezone,
            ),
            ScheduleConfig::Monthly { day, at, timezone } => (
                Kind::Monthly(parse_month_day(day)?, parse_time(at)?),
                timezone,
            ),
            ScheduleConfig::Cron {
                expression,
                timezone,
            } => (parse_cron(expression)?, timezone),
        };
        let tz = parse_timezone(timezone.as_deref())?;
        Ok(Schedule { kind, tz })
    }

    /// The first run strictly after `after`, or None when there is none.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Seconds(n) => next_epoch_aligned(after, *n),
            Kind::Cron(cron, _) => next_cron(cron, self.tz, after),
            _ => self.next_wall_clock(after),
        }
    }

    /// A short human description, e.g. "every 15 minutes (UTC)".
    pub fn describe(&self) -> String {
        let what = match &self.kind {
            Kind::Minutes(n) => format!("every {n} minutes"),
            Kind::Hours(1) => "every hour".to_string(),
            Kind::Hours(n) => format!("every {n} hours"),
            Kind::Seconds(1) => "every second".to_string(),
            Kind::Seconds(n) => format!("every {n} seconds"),
            Kind::Daily(at) => format!("daily at {}", format_time(*at)),
            Kind::Weekly(days, at) => {
                let names: Vec<&str> = days.iter().map(|d| short_weekday(*d)).collect();
                format!("on {} at {}", names.join(", "), format_time(*at))
            }
            Kind::Monthly(MonthDay::Last, at) => {
                format!("monthly on the last day at {}", format_time(*at))
            }
            Kind::Monthly(MonthDay::Day(d), at) => {
                format!("monthly on day {d} at {}", format_time(*at))
            }
            Kind::Cron(_, expression) => format!("cron `{expression}`"),
        };
        format!("{what} ({})", self.tz.name())
    }

    /// The schedule's time zone (UTC when the config gave none).
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Whether this is one of the schedules Altogic's service offers (not a second-level
    /// interval nor a cron expression, which exist for local work only).
    pub fn is_service_schedule(&self) -> bool {
        !matches!(self.kind, Kind::Seconds(_) | Kind::Cron(..))
    }

    /// How many runs one local date has, and the local time of run `i` of them, in
    /// increasing order (an interval has up to 288 a day).
    fn slots_on(&self, date: NaiveDate) -> (u32, impl Fn(u32) -> Option<NaiveTime> + '_) {
        let count = match &self.kind {
            Kind::Minutes(n) => 24 * 60 / n,
            Kind::Hours(n) => 24 / n,
            Kind::Daily(_) => 1,
            Kind::Weekly(days, _) => u32::from(days.contains(&date.weekday())),
            Kind::Monthly(MonthDay::Day(d), _) => u32::from(date.day() == *d),
            Kind::Monthly(MonthDay::Last, _) => u32::from(is_last_day_of_month(date)),
            Kind::Seconds(_) | Kind::Cron(..) => 0,
        };
        let time = move |i: u32| match &self.kind {
            Kind::Minutes(n) => NaiveTime::from_hms_opt(i * n / 60, i * n % 60, 0),
            Kind::Hours(n) => NaiveTime::from_hms_opt(i * n, 0, 0),
            Kind::Daily(at) | Kind::Weekly(_, at) | Kind::Monthly(_, at) => Some(*at),
            Kind::Seconds(_) | Kind::Cron(..) => None,
        };
        (count, time)
    }

    /// The first run of local `date` strictly after `after`, if any.
    ///
    /// Within one date the resolved instants never decrease with the local time (a gap
    /// moves a time to the gap's end, a repeated time takes its first pass), and a time
    /// that resolves to nothing (a gap running to the end of the day) is only followed by
    /// others like it: so the first run after `after` is found by bisection.
    fn first_on_date_after(&self, date: NaiveDate, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (count, time) = self.slots_on(date);
        let resolve = |i: u32| time(i).and_then(|t| resolve_local(self.tz, date.and_time(t)));
        let past = |i: u32| resolve(i).is_some_and(|at| at <= after);
        let (mut lo, mut hi) = (0u32, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if past(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo < count {
            resolve(lo)
        } else {
            None
        }
    }

    /// Walks local dates from the day before `after`'s local date (a clock going back
    /// over midnight can put a later instant on an earlier local date) and keeps the
    /// earliest run after `after`. Once a date yields one, the next date is still looked
    /// at, then the search stops.
    fn next_wall_clock(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = local_naive(self.tz, after)?.date().pred_opt()?;
        let mut best: Option<DateTime<Utc>> = None;
        let mut looked_one_more = false;
        for offset in 0..MAX_SEARCH_DAYS {
            let date = start.checked_add_days(Days::new(offset))?;
            if let Some(at) = self.first_on_date_after(date, after) {
                if best.is_none_or(|b| at < b) {
                    best = Some(at);
                }
            }
            if best.is_some() {
                if looked_one_more {
                    break;
                }
                looked_one_more = true;
            }
        }
        best
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// One local date and time as one instant: an ambiguous time gives its earlier instant;
/// a time in a gap gives the first instant after the gap when that is on the same local
/// date, else None.
fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => {
            let exists =
                |n: &NaiveDateTime| !matches!(tz.from_local_datetime(n), LocalResult::None);
            // Find the first existing whole minute after `local` on the same date
            // (at most one day of steps), then the first existing second before it.
            let date = local.date();
            let mut hi = local;
            loop {
                hi = hi.checked_add_signed(TimeDelta::minutes(1))?;
                if hi.date() != date {
                    return None;
                }
                if exists(&hi) {
                    break;
                }
            }
            // `local` is in the gap and `hi` exists; a gap is one stretch of local time,
            // so the first existing second is found by bisection over whole seconds.
            let base = if hi - TimeDelta::minutes(1) > local {
                hi - TimeDelta::minutes(1)
            } else {
                local
            };
            let (mut lo, mut up) = (0i64, (hi - base).num_seconds());
            while up - lo > 1 {
                let mid = (lo + up) / 2;
                if exists(&(base + TimeDelta::seconds(mid))) {
                    up = mid;
                } else {
                    lo = mid;
                }
            }
            let hi = base + TimeDelta::seconds(up);
            match tz.from_local_datetime(&hi) {
                LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
                LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
                LocalResult::None => None,
            }
        }
    }
}

/// The first multiple of `n` seconds since the Unix epoch strictly after `after`.
fn next_epoch_aligned(after: DateTime<Utc>, n: u32) -> Option<DateTime<Utc>> {
    let n = i64::from(n);
    let secs = after.timestamp(); // floor of the instant, in whole seconds
    let next = secs.div_euclid(n).checked_add(1)?.checked_mul(n)?;
    DateTime::from_timestamp(next, 0)
}

fn next_cron(cron: &croner::Cron, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // croner covers the years 1 to 4999: start no earlier than its second day, and stop
    // where it stops (it also needs the local time of `from` to be representable).
    let floor = NaiveDate::from_ymd_opt(1, 1, 2)?
        .and_hms_opt(0, 0, 0)?
        .and_utc();
    let mut from = after.max(floor);
    if from.year() >= croner::YEAR_UPPER_LIMIT {
        return None;
    }
    // croner works in whole seconds; guard against an answer not strictly after.
    for _ in 0..3 {
        local_naive(tz, from)?;
        let next = cron
            .find_next_occurrence(&from.with_timezone(&tz), false)
            .ok()?
            .with_timezone(&Utc);
        if next > after {
            return Some(next);
        }
        from = next;
    }
    None
}

/// The local date and time of an instant, or None at the very ends of the calendar
/// where the local time cannot be represented.
fn local_naive(tz: Tz, t: DateTime<Utc>) -> Option<NaiveDateTime> {
    let offset = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    t.naive_utc()
        .checked_add_signed(TimeDelta::seconds(i64::from(offset.local_minus_utc())))
}

fn is_last_day_of_month(date: NaiveDate) -> bool {
    date.succ_opt()
        .is_none_or(|next| next.month() != date.month())
}

fn parse_timezone(name: Option<&str>) -> Result<Tz, String> {
    match name {
        None => Ok(Tz::UTC),
        Some(name) => Tz::from_str(name.trim()).map_err(|_| {
            format!(
                "unknown time zone `{name}`: use an IANA time zone name such as `Europe/Istanbul`, `America/New_York` or `UTC`"
            )
        }),
    }
}

const INTERVAL_HELP: &str =
    "5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h or 12h (or 1s to 59s for local work)";

fn parse_interval(every: &str) -> Result<Kind, String> {
    let text = every.trim();
    let malformed = || {
        format!(
            "interval `{every}` is not valid: write a number and a unit, one of {INTERVAL_HELP}"
        )
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(malformed)?;
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(malformed());
    }
    let n: u32 = digits.parse().map_err(|_| malformed())?;
    match unit {
        "m" if ALLOWED_MINUTE_INTERVALS.contains(&n) => Ok(Kind::Minutes(n)),
        "m" => Err(format!(
            "interval `{every}` is not offered: minute intervals are 5m, 10m, 15m, 20m or 30m, hour intervals 1h, 2h, 3h, 4h, 6h or 12h"
        )),
        "h" if ALLOWED_HOUR_INTERVALS.contains(&n) => Ok(Kind::Hours(n)),
        "h" => Err(format!(
            "interval `{every}` is not offered: hour intervals are 1h, 2h, 3h, 4h, 6h or 12h, minute intervals 5m, 10m, 15m, 20m or 30m"
        )),
        "s" if (1..=59).contains(&n) => Ok(Kind::Seconds(n)),
        "s" => Err(format!(
            "interval `{every}` is out of range: second intervals are 1s to 59s"
        )),
        _ => Err(malformed()),
    }
}

fn parse_time(at: &str) -> Result<NaiveTime, String> {
    let invalid = || {
        format!("time `{at}` is not valid: write HH:MM or HH:MM:SS (24-hour clock, e.g. 09:30 or 23:59:59)")
    };
    let parts: Vec<&str> = at.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(invalid());
    }
    let number = |s: &str, max_len: usize| -> Result<u32, String> {
        if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        s.parse().map_err(|_| invalid())
    };
    let hour = number(parts[0], 2)?;
    if parts[1].len() != 2 || parts.get(2).is_some_and(|s| s.len() != 2) {
        return Err(invalid());
    }
    let minute = number(parts[1], 2)?;
    let second = match parts.get(2) {
        Some(s) => number(s, 2)?,
        None => 0,
    };
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!(
            "time `{at}` is out of range: hours are 00 to 23, minutes and seconds 00 to 59"
        ));
    }
    NaiveTime::from_hms_opt(hour, minute, second).ok_or_else(invalid)
}

fn parse_weekday(name: &str) -> Option<Weekday> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

fn parse_weekdays(days: &[String]) -> Result<Vec<Weekday>, String> {
    if days.is_empty() {
        return Err("a weekly schedule needs at least one day in `days`".to_string());
    }
    let mut seen: Vec<Weekday> = Vec::with_capacity(days.len());
    for name in days {
        let day = parse_weekday(name).ok_or_else(|| {
            format!("unknown weekday `{name}`: use mon, tue, wed, thu, fri, sat, sun or the full English names")
        })?;
        if seen.contains(&day) {
            return Err(format!(
                "weekday `{name}` is listed more than once in `days`"
            ));
        }
        seen.push(day);
    }
    seen.sort_by_key(|d| d.num_days_from_monday());
    Ok(seen)
}

fn parse_month_day(day: &MonthDayConfig) -> Result<MonthDay, String> {
    let out_of_range =
        |d: &dyn fmt::Display| format!("day of month {d} is out of range: use 1 to 31 or \"last\"");
    match day {
        MonthDayConfig::Day(d) if (1..=31).contains(d) => Ok(MonthDay::Day(*d)),
        MonthDayConfig::Day(d) => Err(out_of_range(d)),
        MonthDayConfig::Named(name) => {
            let text = name.trim();
            if text.eq_ignore_ascii_case("last") {
                return Ok(MonthDay::Last);
            }
            match text.parse::<u32>() {
                Ok(d) if (1..=31).contains(&d) => Ok(MonthDay::Day(d)),
                Ok(d) => Err(out_of_range(&d)),
                Err(_) => Err(format!(
                    "day of month `{name}` is not valid: use 1 to 31 or \"last\""
                )),
            }
        }
    }
}

fn parse_cron(expression: &str) -> Result<Kind, String> {
    let text = expression.trim();
    let fields = text.split_whitespace().count();
    if !text.starts_with('@') && !(5..=6).contains(&fields) {
        return Err(format!(
            "cron expression `{expression}` has {fields} fields: write 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)"
        ));
    }
    let cron = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(text)
        .map_err(|e| format!("cron expression `{expression}` is not valid: {e}"))?;
    Ok(Kind::Cron(Box::new(cron), text.to_string()))
}

fn format_time(t: NaiveTime) -> String {
    if t.second() == 0 {
        t.format("%H:%M").to_string()
    } else {
        t.format("%H:%M:%S").to_string()
    }
}

fn short_weekday(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    }
}
