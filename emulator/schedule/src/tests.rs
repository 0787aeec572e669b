use super::*;
use chrono::SecondsFormat;
use std::time::Instant;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad test instant {s}: {e}"))
        .with_timezone(&Utc)
}

fn z(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A schedule from a TOML table, as the emulator's config writes it.
fn from_toml(text: &str) -> Schedule {
    let config: ScheduleConfig =
        toml::from_str(text).unwrap_or_else(|e| panic!("bad TOML {text}: {e}"));
    Schedule::from_config(&config).unwrap_or_else(|e| panic!("refused {text}: {e}"))
}

fn interval(every: &str, tz: Option<&str>) -> Result<Schedule, String> {
    Schedule::from_config(&ScheduleConfig::Interval {
        every: every.to_string(),
        timezone: tz.map(str::to_string),
    })
}

fn daily(at: &str, tz: Option<&str>) -> Schedule {
    Schedule::from_config(&ScheduleConfig::Daily {
        at: at.to_string(),
        timezone: tz.map(str::to_string),
    })
    .unwrap()
}

fn monthly(day: MonthDayConfig, at: &str, tz: Option<&str>) -> Result<Schedule, String> {
    Schedule::from_config(&ScheduleConfig::Monthly {
        day,
        at: at.to_string(),
        timezone: tz.map(str::to_string),
    })
}

fn weekly(days: &[&str], at: &str) -> Result<Schedule, String> {
    Schedule::from_config(&ScheduleConfig::Weekly {
        days: days.iter().map(|d| d.to_string()).collect(),
        at: at.to_string(),
        timezone: None,
    })
}

fn cron(expression: &str, tz: Option<&str>) -> Result<Schedule, String> {
    Schedule::from_config(&ScheduleConfig::Cron {
        expression: expression.to_string(),
        timezone: tz.map(str::to_string),
    })
}

/// The next `n` runs after `from`, as UTC RFC 3339 strings.
fn runs(s: &Schedule, from: &str, n: usize) -> Vec<String> {
    let mut t = utc(from);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let next = s.next_after(t).expect("a next run");
        assert!(next > t, "{} gave {next} after {t}", s.describe());
        out.push(z(next));
        t = next;
    }
    out
}

/// The next `n` runs after `from`, in the schedule's local time with its offset.
fn local_runs(s: &Schedule, from: &str, n: usize) -> Vec<String> {
    runs(s, from, n)
        .iter()
        .map(|r| {
            utc(r)
                .with_timezone(&s.timezone())
                .to_rfc3339_opts(SecondsFormat::Secs, false)
        })
        .collect()
}

fn err(result: Result<Schedule, String>) -> String {
    match result {
        Ok(s) => panic!("accepted: {}", s.describe()),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------- intervals

#[test]
fn every_offered_interval_is_accepted_and_aligned() {
    let after = "2026-01-01T10:07:30Z";
    let cases = [
        ("5m", "2026-01-01T10:10:00Z", "every 5 minutes (UTC)"),
        ("10m", "2026-01-01T10:10:00Z", "every 10 minutes (UTC)"),
        ("15m", "2026-01-01T10:15:00Z", "every 15 minutes (UTC)"),
        ("20m", "2026-01-01T10:20:00Z", "every 20 minutes (UTC)"),
        ("30m", "2026-01-01T10:30:00Z", "every 30 minutes (UTC)"),
        ("1h", "2026-01-01T11:00:00Z", "every hour (UTC)"),
        ("2h", "2026-01-01T12:00:00Z", "every 2 hours (UTC)"),
        ("3h", "2026-01-01T12:00:00Z", "every 3 hours (UTC)"),
        ("4h", "2026-01-01T12:00:00Z", "every 4 hours (UTC)"),
        ("6h", "2026-01-01T12:00:00Z", "every 6 hours (UTC)"),
        ("12h", "2026-01-01T12:00:00Z", "every 12 hours (UTC)"),
    ];
    for (every, next, text) in cases {
        let s = interval(every, None).unwrap();
        assert_eq!(z(s.next_after(utc(after)).unwrap()), next, "{every}");
        assert_eq!(s.describe(), text);
        assert!(s.is_service_schedule());
    }
}

#[test]
fn interval_sequences_wrap_over_day_month_and_year() {
    let s = interval("20m", None).unwrap();
    assert_eq!(
        runs(&s, "2026-12-31T23:20:00Z", 3),
        [
            "2026-12-31T23:40:00Z",
            "2027-01-01T00:00:00Z",
            "2027-01-01T00:20:00Z"
        ]
    );
    let s = interval("12h", None).unwrap();
    assert_eq!(
        runs(&s, "2026-01-31T11:59:59Z", 3),
        [
            "2026-01-31T12:00:00Z",
            "2026-02-01T00:00:00Z",
            "2026-02-01T12:00:00Z"
        ]
    );
    let s = interval("3h", None).unwrap();
    assert_eq!(
        runs(&s, "2026-02-28T22:00:00Z", 2),
        ["2026-03-01T00:00:00Z", "2026-03-01T03:00:00Z"]
    );
}

#[test]
fn next_run_is_strictly_after_never_equal() {
    let s = interval("15m", None).unwrap();
    assert_eq!(
        z(s.next_after(utc("2026-01-01T10:15:00Z")).unwrap()),
        "2026-01-01T10:30:00Z"
    );
    assert_eq!(
        z(s.next_after(utc("2026-01-01T10:14:59.999Z")).unwrap()),
        "2026-01-01T10:15:00Z"
    );
    let s = daily("09:30", None);
    assert_eq!(
        z(s.next_after(utc("2026-01-01T09:30:00Z")).unwrap()),
        "2026-01-02T09:30:00Z"
    );
    assert_eq!(
        z(s.next_after(utc("2026-01-01T09:29:59Z")).unwrap()),
        "2026-01-01T09:30:00Z"
    );
    let s = interval("5s", None).unwrap();
    assert_eq!(
        z(s.next_after(utc("2026-01-01T00:00:05Z")).unwrap()),
        "2026-01-01T00:00:10Z"
    );
    let s = cron("0 9 * * *", None).unwrap();
    assert_eq!(
        z(s.next_after(utc("2026-01-01T09:00:00Z")).unwrap()),
        "2026-01-02T09:00:00Z"
    );
    assert_eq!(
        z(s.next_after(utc("2026-01-01T08:59:59.500Z")).unwrap()),
        "2026-01-01T09:00:00Z"
    );
}

#[test]
fn intervals_follow_the_local_wall_clock() {
    // Asia/Kolkata is UTC+05:30: local whole hours are UTC half hours.
    let s = interval("1h", Some("Asia/Kolkata")).unwrap();
    assert_eq!(s.describe(), "every hour (Asia/Kolkata)");
    assert_eq!(
        runs(&s, "2026-01-01T10:07:00Z", 2),
        ["2026-01-01T10:30:00Z", "2026-01-01T11:30:00Z"]
    );
    // Every 6 hours in Istanbul (UTC+3): 00, 06, 12, 18 local.
    let s = interval("6h", Some("Europe/Istanbul")).unwrap();
    assert_eq!(
        local_runs(&s, "2026-01-01T00:00:00Z", 4),
        [
            "2026-01-01T06:00:00+03:00",
            "2026-01-01T12:00:00+03:00",
            "2026-01-01T18:00:00+03:00",
            "2026-01-02T00:00:00+03:00"
        ]
    );
    // Asia/Kathmandu is UTC+05:45: :00/:15/:30/:45 local stay on quarter hours.
    let s = interval("30m", Some("Asia/Kathmandu")).unwrap();
    assert_eq!(
        runs(&s, "2026-01-01T00:00:00Z", 2),
        ["2026-01-01T00:15:00Z", "2026-01-01T00:45:00Z"]
    );
}

#[test]
fn intervals_across_new_york_dst_changes() {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT. 02:00 and 02:30 do not exist; they
    // fire once, at 03:00 EDT, with the 03:00 run itself.
    let s = interval("30m", Some("America/New_York")).unwrap();
    assert_eq!(
        local_runs(&s, "2026-03-08T06:00:00Z", 4),
        [
            "2026-03-08T01:30:00-05:00",
            "2026-03-08T03:00:00-04:00",
            "2026-03-08T03:30:00-04:00",
            "2026-03-08T04:00:00-04:00"
        ]
    );
    // 2026-11-01: 02:00 EDT goes back to 01:00 EST. The repeated hour runs once.
    let s = interval("1h", Some("America/New_York")).unwrap();
    assert_eq!(
        local_runs(&s, "2026-11-01T04:30:00Z", 3),
        [
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T02:00:00-05:00",
            "2026-11-01T03:00:00-05:00"
        ]
    );
    // A start inside the second pass of the repeated hour still moves forward.
    assert_eq!(
        local_runs(&s, "2026-11-01T06:10:00Z", 1),
        ["2026-11-01T02:00:00-05:00"]
    );
}

#[test]
fn bad_intervals_are_refused_with_the_allowed_list() {
    for every in ["7m", "45m", "60m", "0m", "1m", "90m"] {
        assert_eq!(
            err(interval(every, None)),
            format!("interval `{every}` is not offered: minute intervals are 5m, 10m, 15m, 20m or 30m, hour intervals 1h, 2h, 3h, 4h, 6h or 12h")
        );
    }
    for every in ["5h", "8h", "24h", "0h"] {
        assert_eq!(
            err(interval(every, None)),
            format!("interval `{every}` is not offered: hour intervals are 1h, 2h, 3h, 4h, 6h or 12h, minute intervals 5m, 10m, 15m, 20m or 30m")
        );
    }
    for every in ["0s", "60s", "120s"] {
        assert_eq!(
            err(interval(every, None)),
            format!("interval `{every}` is out of range: second intervals are 1s to 59s")
        );
    }
    for every in [
        "",
        "m",
        "15",
        "15x",
        "1.5h",
        "-5m",
        "15 m",
        "15M",
        "1d",
        "99999999999m",
    ] {
        assert_eq!(
            err(interval(every, None)),
            format!("interval `{every}` is not valid: write a number and a unit, one of 5m, 10m, 15m, 20m, 30m, 1h, 2h, 3h, 4h, 6h or 12h (or 1s to 59s for local work)")
        );
    }
    // Surrounding white space is fine.
    assert_eq!(
        interval(" 15m ", None).unwrap().describe(),
        "every 15 minutes (UTC)"
    );
}

#[test]
fn second_intervals_are_aligned_to_the_epoch() {
    // 2026-01-01T00:00:00Z is 1767225600, a multiple of 7 (and of 1, 5, 10, 30).
    let s = interval("7s", Some("Asia/Kolkata")).unwrap();
    assert_eq!(s.describe(), "every 7 seconds (Asia/Kolkata)");
    assert!(!s.is_service_schedule());
    assert_eq!(
        runs(&s, "2025-12-31T23:59:58Z", 3),
        [
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:07Z",
            "2026-01-01T00:00:14Z"
        ]
    );
    let s = interval("1s", None).unwrap();
    assert_eq!(s.describe(), "every second (UTC)");
    assert_eq!(
        z(s.next_after(utc("2026-01-01T00:00:00.250Z")).unwrap()),
        "2026-01-01T00:00:01Z"
    );
    let s = interval("59s", None).unwrap();
    let next = s.next_after(utc("2026-05-05T12:34:56Z")).unwrap();
    assert_eq!(next.timestamp() % 59, 0);
    assert!(next > utc("2026-05-05T12:34:56Z"));
    assert!(next <= utc("2026-05-05T12:35:55Z"));
    // Before the epoch too.
    let s = interval("30s", None).unwrap();
    assert_eq!(
        z(s.next_after(utc("1969-12-31T23:59:10Z")).unwrap()),
        "1969-12-31T23:59:30Z"
    );
}

// ---------------------------------------------------------------- daily

#[test]
fn daily_in_utc_across_month_and_year_ends() {
    let s = daily("09:30", None);
    assert_eq!(s.describe(), "daily at 09:30 (UTC)");
    assert_eq!(
        runs(&s, "2026-01-31T10:00:00Z", 2),
        ["2026-02-01T09:30:00Z", "2026-02-02T09:30:00Z"]
    );
    assert_eq!(
        runs(&s, "2026-12-31T09:30:00Z", 1),
        ["2027-01-01T09:30:00Z"]
    );
    assert_eq!(
        runs(&s, "2028-02-28T12:00:00Z", 2),
        ["2028-02-29T09:30:00Z", "2028-03-01T09:30:00Z"]
    );
    let s = daily("23:59:59", None);
    assert_eq!(s.describe(), "daily at 23:59:59 (UTC)");
    assert_eq!(
        runs(&s, "2026-04-30T23:59:59Z", 1),
        ["2026-05-01T23:59:59Z"]
    );
}

#[test]
fn daily_in_a_zone() {
    let s = daily("09:30", Some("Europe/Istanbul"));
    assert_eq!(s.describe(), "daily at 09:30 (Europe/Istanbul)");
    assert_eq!(
        runs(&s, "2026-06-01T06:30:00Z", 2),
        ["2026-06-02T06:30:00Z", "2026-06-03T06:30:00Z"]
    );
    // 00:30 in Tokyo on Jan 1 is still Dec 31 in UTC.
    let s = daily("00:30", Some("Asia/Tokyo"));
    assert_eq!(
        runs(&s, "2026-12-31T12:00:00Z", 1),
        ["2026-12-31T15:30:00Z"]
    );
}

#[test]
fn daily_new_york_spring_forward_fires_after_the_gap() {
    let s = daily("02:30", Some("America/New_York"));
    assert_eq!(
        local_runs(&s, "2026-03-07T00:00:00Z", 3),
        [
            "2026-03-07T02:30:00-05:00",
            "2026-03-08T03:00:00-04:00",
            "2026-03-09T02:30:00-04:00"
        ]
    );
    assert_eq!(
        runs(&s, "2026-03-07T12:00:00Z", 2),
        ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]
    );
}

#[test]
fn daily_new_york_fall_back_fires_once_at_the_earlier_instant() {
    let s = daily("01:30", Some("America/New_York"));
    assert_eq!(
        local_runs(&s, "2026-10-31T12:00:00Z", 2),
        ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
    );
    assert_eq!(
        runs(&s, "2026-10-31T12:00:00Z", 2),
        ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
    );
    // Asked from inside the repeated hour, after the first 01:30: no second run.
    assert_eq!(
        runs(&s, "2026-11-01T06:15:00Z", 1),
        ["2026-11-02T06:30:00Z"]
    );
}

#[test]
fn daily_europe_berlin_dst_changes() {
    // 2026-03-29 02:00 CET -> 03:00 CEST; 2026-10-25 03:00 CEST -> 02:00 CET.
    let s = daily("02:30", Some("Europe/Berlin"));
    assert_eq!(
        local_runs(&s, "2026-03-27T12:00:00Z", 3),
        [
            "2026-03-28T02:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00"
        ]
    );
    assert_eq!(
        local_runs(&s, "2026-10-24T12:00:00Z", 2),
        ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
    );
    assert_eq!(
        runs(&s, "2026-10-24T12:00:00Z", 2),
        ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
    );
}

#[test]
fn gaps_at_midnight_and_a_skipped_day() {
    // Sao Paulo 2018-11-04: 00:00 jumped to 01:00.
    let s = daily("00:00", Some("America/Sao_Paulo"));
    assert_eq!(
        local_runs(&s, "2018-11-03T12:00:00Z", 2),
        ["2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"]
    );
    // Sao Paulo 2019-02-17: 00:00 went back to 23:00 on the 16th: 23:30 on the 16th
    // happens twice and runs once, at the earlier instant.
    let s = daily("23:30", Some("America/Sao_Paulo"));
    assert_eq!(
        runs(&s, "2019-02-16T12:00:00Z", 2),
        ["2019-02-17T01:30:00Z", "2019-02-18T02:30:00Z"]
    );
    assert_eq!(
        runs(&s, "2019-02-17T02:00:00Z", 1),
        ["2019-02-18T02:30:00Z"]
    );
    // Samoa skipped 2011-12-30 entirely: no run that day.
    let s = daily("12:00", Some("Pacific/Apia"));
    assert_eq!(
        runs(&s, "2011-12-29T12:00:00Z", 2),
        ["2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z"]
    );
    assert_eq!(
        local_runs(&s, "2011-12-29T12:00:00Z", 2),
        ["2011-12-29T12:00:00-10:00", "2011-12-31T12:00:00+14:00"]
    );
    // Lord Howe Island moves its clocks by 30 minutes (2026-10-04 02:00 -> 02:30).
    let s = daily("02:10", Some("Australia/Lord_Howe"));
    assert_eq!(
        local_runs(&s, "2026-10-03T12:00:00Z", 1),
        ["2026-10-04T02:30:00+11:00"]
    );
}

// ---------------------------------------------------------------- weekly

#[test]
fn weekly_across_a_week_boundary() {
    // 2026-01-01 is a Thursday.
    let s = weekly(&["wed", "Monday"], "09:30").unwrap();
    assert_eq!(s.describe(), "on Mon, Wed at 09:30 (UTC)");
    assert_eq!(
        runs(&s, "2026-01-01T00:00:00Z", 4),
        [
            "2026-01-05T09:30:00Z",
            "2026-01-07T09:30:00Z",
            "2026-01-12T09:30:00Z",
            "2026-01-14T09:30:00Z"
        ]
    );
    // From a Wednesday run to the next Monday, across a month end.
    assert_eq!(
        runs(&s, "2025-12-31T09:30:00Z", 1),
        ["2026-01-05T09:30:00Z"]
    );
    let s = weekly(&["SUN", "sat", "Friday"], "23:00").unwrap();
    assert_eq!(s.describe(), "on Fri, Sat, Sun at 23:00 (UTC)");
    assert_eq!(
        runs(&s, "2026-01-30T23:00:00Z", 3),
        [
            "2026-01-31T23:00:00Z",
            "2026-02-01T23:00:00Z",
            "2026-02-06T23:00:00Z"
        ]
    );
}

#[test]
fn weekly_in_a_zone_uses_the_local_weekday() {
    // Monday 08:00 in Tokyo is Sunday 23:00 UTC.
    let s = Schedule::from_config(&ScheduleConfig::Weekly {
        days: vec!["mon".into()],
        at: "08:00".into(),
        timezone: Some("Asia/Tokyo".into()),
    })
    .unwrap();
    assert_eq!(s.describe(), "on Mon at 08:00 (Asia/Tokyo)");
    assert_eq!(
        runs(&s, "2026-01-01T00:00:00Z", 2),
        ["2026-01-04T23:00:00Z", "2026-01-11T23:00:00Z"]
    );
}

#[test]
fn weekday_errors() {
    assert_eq!(
        err(weekly(&[], "09:30")),
        "a weekly schedule needs at least one day in `days`"
    );
    assert_eq!(
        err(weekly(&["mon", "funday"], "09:30")),
        "unknown weekday `funday`: use mon, tue, wed, thu, fri, sat, sun or the full English names"
    );
    assert_eq!(
        err(weekly(&["mo"], "09:30")),
        "unknown weekday `mo`: use mon, tue, wed, thu, fri, sat, sun or the full English names"
    );
    assert_eq!(
        err(weekly(&["mon", "tue", "MONDAY"], "09:30")),
        "weekday `MONDAY` is listed more than once in `days`"
    );
    let all = weekly(
        &["monday", "TUESDAY", "Wed", "thu", "fri", "sat", "sun"],
        "06:00",
    )
    .unwrap();
    assert_eq!(
        all.describe(),
        "on Mon, Tue, Wed, Thu, Fri, Sat, Sun at 06:00 (UTC)"
    );
}

// ---------------------------------------------------------------- monthly

#[test]
fn monthly_last_day_including_leap_years() {
    let s = monthly(MonthDayConfig::Named("last".into()), "00:00", None).unwrap();
    assert_eq!(s.describe(), "monthly on the last day at 00:00 (UTC)");
    assert_eq!(
        runs(&s, "2026-01-31T00:00:00Z", 4),
        [
            "2026-02-28T00:00:00Z",
            "2026-03-31T00:00:00Z",
            "2026-04-30T00:00:00Z",
            "2026-05-31T00:00:00Z"
        ]
    );
    assert_eq!(
        runs(&s, "2028-01-31T00:00:00Z", 2),
        ["2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z"]
    );
    assert_eq!(
        runs(&s, "2026-12-15T00:00:00Z", 2),
        ["2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z"]
    );
    // 2100 is not a leap year.
    assert_eq!(
        runs(&s, "2100-02-01T00:00:00Z", 1),
        ["2100-02-28T00:00:00Z"]
    );
    let s = monthly(MonthDayConfig::Named(" LAST ".into()), "18:45", None).unwrap();
    assert_eq!(s.describe(), "monthly on the last day at 18:45 (UTC)");
}

#[test]
fn monthly_day_31_skips_shorter_months() {
    let s = monthly(MonthDayConfig::Day(31), "12:00", None).unwrap();
    assert_eq!(s.describe(), "monthly on day 31 at 12:00 (UTC)");
    assert_eq!(
        runs(&s, "2026-01-31T12:00:00Z", 6),
        [
            "2026-03-31T12:00:00Z",
            "2026-05-31T12:00:00Z",
            "2026-07-31T12:00:00Z",
            "2026-08-31T12:00:00Z",
            "2026-10-31T12:00:00Z",
            "2026-12-31T12:00:00Z"
        ]
    );
    let s = monthly(MonthDayConfig::Day(30), "12:00", None).unwrap();
    assert_eq!(
        runs(&s, "2026-01-30T12:00:00Z", 2),
        ["2026-03-30T12:00:00Z", "2026-04-30T12:00:00Z"]
    );
}

#[test]
fn monthly_day_29_and_leap_years() {
    let s = monthly(MonthDayConfig::Day(29), "08:00", None).unwrap();
    assert_eq!(
        runs(&s, "2027-01-29T08:00:00Z", 1),
        ["2027-03-29T08:00:00Z"]
    );
    assert_eq!(
        runs(&s, "2028-01-29T08:00:00Z", 2),
        ["2028-02-29T08:00:00Z", "2028-03-29T08:00:00Z"]
    );
    let s = monthly(MonthDayConfig::Day(1), "00:00", None).unwrap();
    assert_eq!(s.describe(), "monthly on day 1 at 00:00 (UTC)");
    assert_eq!(
        runs(&s, "2026-12-01T00:00:00Z", 1),
        ["2027-01-01T00:00:00Z"]
    );
}

#[test]
fn monthly_in_a_zone() {
    // The last day of the month at 23:30 Istanbul time (UTC+3) is 20:30 UTC.
    let s = monthly(
        MonthDayConfig::Named("last".into()),
        "23:30",
        Some("Europe/Istanbul"),
    )
    .unwrap();
    assert_eq!(
        runs(&s, "2026-02-01T00:00:00Z", 2),
        ["2026-02-28T20:30:00Z", "2026-03-31T20:30:00Z"]
    );
    // Day 1 at 00:30 in Tokyo is the last day of the previous month in UTC.
    let s = monthly(MonthDayConfig::Day(1), "00:30", Some("Asia/Tokyo")).unwrap();
    assert_eq!(
        runs(&s, "2026-02-01T00:00:00Z", 1),
        ["2026-02-28T15:30:00Z"]
    );
}

#[test]
fn month_day_errors() {
    for d in [0, 32, 100] {
        assert_eq!(
            err(monthly(MonthDayConfig::Day(d), "09:30", None)),
            format!("day of month {d} is out of range: use 1 to 31 or \"last\"")
        );
    }
    assert_eq!(
        err(monthly(
            MonthDayConfig::Named("first".into()),
            "09:30",
            None
        )),
        "day of month `first` is not valid: use 1 to 31 or \"last\""
    );
    assert_eq!(
        err(monthly(MonthDayConfig::Named("32".into()), "09:30", None)),
        "day of month 32 is out of range: use 1 to 31 or \"last\""
    );
    let s = monthly(MonthDayConfig::Named("15".into()), "09:30", None).unwrap();
    assert_eq!(s.describe(), "monthly on day 15 at 09:30 (UTC)");
}

// ---------------------------------------------------------------- times and zones

#[test]
fn time_errors() {
    for at in [
        "",
        "0930",
        "09:3",
        "09:300",
        "9",
        "09:30:5",
        "09:30:00:00",
        "ab:cd",
        "-1:30",
        "09 :30",
        "+9:30",
    ] {
        assert_eq!(
            err(Schedule::from_config(&ScheduleConfig::Daily {
                at: at.into(),
                timezone: None
            })),
            format!("time `{at}` is not valid: write HH:MM or HH:MM:SS (24-hour clock, e.g. 09:30 or 23:59:59)")
        );
    }
    for at in ["24:00", "23:60", "23:59:60", "99:00"] {
        assert_eq!(
            err(Schedule::from_config(&ScheduleConfig::Daily {
                at: at.into(),
                timezone: None
            })),
            format!(
                "time `{at}` is out of range: hours are 00 to 23, minutes and seconds 00 to 59"
            )
        );
    }
    // A one-digit hour is fine.
    assert_eq!(daily("9:05", None).describe(), "daily at 09:05 (UTC)");
    // The time is checked in every kind that has one.
    assert!(weekly(&["mon"], "25:00")
        .unwrap_err()
        .starts_with("time `25:00`"));
    assert!(monthly(MonthDayConfig::Day(1), "x", None)
        .unwrap_err()
        .starts_with("time `x`"));
}

#[test]
fn time_zone_errors_and_defaults() {
    let message = |name: &str| {
        format!("unknown time zone `{name}`: use an IANA time zone name such as `Europe/Istanbul`, `America/New_York` or `UTC`")
    };
    for name in ["Mars/Olympus", "", "europe/istanbul", "GMT+25"] {
        assert_eq!(err(interval("15m", Some(name))), message(name), "{name}");
        assert_eq!(err(cron("* * * * *", Some(name))), message(name), "{name}");
    }
    assert_eq!(interval("15m", None).unwrap().timezone(), Tz::UTC);
    assert_eq!(
        interval("15m", Some("UTC")).unwrap().describe(),
        "every 15 minutes (UTC)"
    );
    assert_eq!(
        daily("09:30", Some("America/New_York")).describe(),
        "daily at 09:30 (America/New_York)"
    );
}

// ---------------------------------------------------------------- cron

#[test]
fn cron_five_fields() {
    let s = cron("*/15 * * * *", None).unwrap();
    assert_eq!(s.describe(), "cron `*/15 * * * *` (UTC)");
    assert!(!s.is_service_schedule());
    assert_eq!(
        runs(&s, "2026-01-31T23:50:00Z", 2),
        ["2026-02-01T00:00:00Z", "2026-02-01T00:15:00Z"]
    );
    // Weekdays at 09:00: 2026-01-02 is a Friday, so the next one is Monday the 5th.
    let s = cron("0 9 * * MON-FRI", None).unwrap();
    assert_eq!(
        runs(&s, "2026-01-02T09:00:00Z", 2),
        ["2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"]
    );
    // The last day of February, croner's L.
    let s = cron("0 0 L 2 *", None).unwrap();
    assert_eq!(
        runs(&s, "2027-03-01T00:00:00Z", 2),
        ["2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z"]
    );
}

#[test]
fn cron_six_fields_with_seconds() {
    let s = cron("0 */5 * * * *", None).unwrap();
    assert_eq!(s.describe(), "cron `0 */5 * * * *` (UTC)");
    assert_eq!(
        runs(&s, "2026-01-01T10:02:30Z", 2),
        ["2026-01-01T10:05:00Z", "2026-01-01T10:10:00Z"]
    );
    let s = cron("*/10 * * * * *", None).unwrap();
    assert_eq!(
        runs(&s, "2026-01-01T10:00:55Z", 3),
        [
            "2026-01-01T10:01:00Z",
            "2026-01-01T10:01:10Z",
            "2026-01-01T10:01:20Z"
        ]
    );
}

#[test]
fn cron_in_a_zone_and_across_dst() {
    let s = cron("0 9 * * *", Some("Europe/Berlin")).unwrap();
    assert_eq!(s.describe(), "cron `0 9 * * *` (Europe/Berlin)");
    assert_eq!(
        runs(&s, "2026-03-28T12:00:00Z", 2),
        ["2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"]
    );
    // A fixed time inside the New York gap fires after it, like the other schedules.
    let s = cron("30 2 * * *", Some("America/New_York")).unwrap();
    assert_eq!(
        local_runs(&s, "2026-03-07T12:00:00Z", 2),
        ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]
    );
}

#[test]
fn impossible_cron_has_no_next_run_and_returns_quickly() {
    let started = Instant::now();
    let s = cron("0 0 30 2 *", None).unwrap();
    assert_eq!(s.next_after(utc("2026-01-01T00:00:00Z")), None);
    let s = cron("0 0 31 4,6,9,11 *", Some("Europe/Berlin")).unwrap();
    assert_eq!(s.next_after(utc("2026-01-01T00:00:00Z")), None);
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn cron_errors() {
    assert_eq!(
        err(cron("* * * *", None)),
        "cron expression `* * * *` has 4 fields: write 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)"
    );
    assert_eq!(
        err(cron("0 0 0 1 1 * 2030", None)),
        "cron expression `0 0 0 1 1 * 2030` has 7 fields: write 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)"
    );
    assert_eq!(
        err(cron("", None)),
        "cron expression `` has 0 fields: write 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)"
    );
    for bad in ["61 * * * *", "a b c d e", "* 24 * * *", "* * * 13 *"] {
        let e = err(cron(bad, None));
        assert!(
            e.starts_with(&format!("cron expression `{bad}` is not valid: ")),
            "{e}"
        );
    }
}

// ---------------------------------------------------------------- TOML

#[test]
fn schedules_from_toml() {
    let s = from_toml(
        r#"
        type = "daily"
        at = "09:30"
        timezone = "Europe/Istanbul"
        "#,
    );
    assert_eq!(s.describe(), "daily at 09:30 (Europe/Istanbul)");

    let s = from_toml(
        r#"type = "interval"
every = "15m""#,
    );
    assert_eq!(s.describe(), "every 15 minutes (UTC)");

    let s = from_toml(
        r#"
        type = "weekly"
        days = ["mon", "wed"]
        at = "09:30"
        "#,
    );
    assert_eq!(s.describe(), "on Mon, Wed at 09:30 (UTC)");

    let s = from_toml("type = \"monthly\"\nday = \"last\"\nat = \"00:00\"");
    assert_eq!(s.describe(), "monthly on the last day at 00:00 (UTC)");
    assert_eq!(
        runs(&s, "2028-01-31T00:00:00Z", 1),
        ["2028-02-29T00:00:00Z"]
    );

    let s = from_toml("type = \"monthly\"\nday = 15\nat = \"06:00\"\ntimezone = \"UTC\"");
    assert_eq!(s.describe(), "monthly on day 15 at 06:00 (UTC)");

    let s = from_toml("type = \"cron\"\nexpression = \"0 */5 * * * *\"");
    assert_eq!(s.describe(), "cron `0 */5 * * * *` (UTC)");

    // The inline-table form the emulator config uses.
    #[derive(Deserialize)]
    struct Task {
        schedule: ScheduleConfig,
    }
    let task: Task = toml::from_str(
        r#"schedule = { type = "daily", at = "09:30", timezone = "Europe/Istanbul" }"#,
    )
    .unwrap();
    assert_eq!(
        task.schedule,
        ScheduleConfig::Daily {
            at: "09:30".into(),
            timezone: Some("Europe/Istanbul".into())
        }
    );
}

#[test]
fn toml_shape_errors_are_refused_by_serde() {
    for text in [
        "type = \"daily\"\nat = \"09:30\"\ncolour = \"red\"",
        "type = \"hourly\"\nat = \"09:30\"",
        "type = \"daily\"",
        "at = \"09:30\"",
        "type = \"monthly\"\nday = -1\nat = \"09:30\"",
    ] {
        assert!(
            toml::from_str::<ScheduleConfig>(text).is_err(),
            "accepted {text}"
        );
    }
    // Well-formed TOML with a bad value reaches from_config and its message.
    let config: ScheduleConfig = toml::from_str("type = \"interval\"\nevery = \"7m\"").unwrap();
    assert!(Schedule::from_config(&config)
        .unwrap_err()
        .starts_with("interval `7m` is not offered"));
}

// ---------------------------------------------------------------- properties

#[test]
fn long_walks_are_strictly_increasing_and_on_schedule() {
    let zones = [
        None,
        Some("America/New_York"),
        Some("Europe/Berlin"),
        Some("Australia/Lord_Howe"),
    ];
    for tz in zones {
        let mut schedules = vec![
            interval("5m", tz).unwrap(),
            interval("1h", tz).unwrap(),
            interval("3h", tz).unwrap(),
            daily("02:30", tz),
            daily("01:30", tz),
            weekly(&["sun"], "02:00").unwrap(),
            monthly(MonthDayConfig::Day(31), "02:30", tz).unwrap(),
            monthly(MonthDayConfig::Named("last".into()), "01:30", tz).unwrap(),
        ];
        schedules.push(cron("*/20 * * * *", tz).unwrap());
        for s in &schedules {
            let mut t = utc("2026-01-01T00:00:00Z");
            let end = utc("2027-01-01T00:00:00Z");
            let mut count = 0;
            while t < end && count < 120_000 {
                let next = s.next_after(t).unwrap();
                assert!(next > t, "{}: {next} after {t}", s.describe());
                t = next;
                count += 1;
            }
        }
    }
    // 2026 has 365 days: a daily schedule in UTC runs exactly 365 times in it.
    let s = daily("00:00", None);
    let mut t = utc("2025-12-31T23:59:59Z");
    let mut count = 0;
    loop {
        t = s.next_after(t).unwrap();
        if t >= utc("2027-01-01T00:00:00Z") {
            break;
        }
        count += 1;
    }
    assert_eq!(count, 365);
    // Every 5 minutes in New York during 2026 loses the skipped hour (12 runs) and
    // does not repeat the repeated one.
    let s = interval("5m", Some("America/New_York")).unwrap();
    let mut t = utc("2026-01-01T05:00:00Z"); // local midnight
    let mut count = 0;
    while t < utc("2027-01-01T05:00:00Z") {
        t = s.next_after(t).unwrap();
        count += 1;
    }
    assert_eq!(count, 365 * 288 - 12);
}

#[test]
fn far_future_ends_with_none_not_a_loop() {
    let max = DateTime::<Utc>::MAX_UTC;
    assert_eq!(daily("09:30", None).next_after(max), None);
    assert_eq!(interval("30s", None).unwrap().next_after(max), None);
    assert_eq!(interval("15m", None).unwrap().next_after(max), None);
    assert_eq!(cron("* * * * *", None).unwrap().next_after(max), None);
}

#[test]
fn calendar_edges_in_any_zone_do_not_panic() {
    let edges = [
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC - TimeDelta::days(2),
        DateTime::<Utc>::MIN_UTC + TimeDelta::days(2),
    ];
    for tz in [
        None,
        Some("Asia/Tokyo"),
        Some("America/New_York"),
        Some("Pacific/Kiritimati"),
    ] {
        let schedules = [
            interval("15m", tz).unwrap(),
            interval("12h", tz).unwrap(),
            interval("30s", tz).unwrap(),
            daily("23:59:59", tz),
            monthly(MonthDayConfig::Named("last".into()), "00:00", tz).unwrap(),
            cron("0 0 * * *", tz).unwrap(),
        ];
        for s in &schedules {
            for t in edges {
                if let Some(next) = s.next_after(t) {
                    assert!(next > t, "{}: {next} after {t}", s.describe());
                }
            }
        }
    }
    // Far beyond croner's year 5000 there is no cron run, but daily ones go on.
    let t = utc("6000-01-01T00:00:00Z");
    assert_eq!(cron("0 0 * * *", None).unwrap().next_after(t), None);
    assert_eq!(
        z(daily("00:00", None).next_after(t).unwrap()),
        "6000-01-02T00:00:00Z"
    );
}
