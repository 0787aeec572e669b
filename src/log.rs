//! The library's events, handed to the host's logging.
//!
//! Each event is a record: a JSON object with named fields (`event`, and as it applies
//! `client`, `method`, `path`, `status`, `code`, `ms`, `attempt`, `connection`, `proxy`,
//! `taskId`...), never a header: keys and session tokens travel only in headers, and a proxy
//! is shown without its credentials. Records go to the sink the host registered
//! (`altogic_set_log_callback`, which each binding points at its language's logging), or,
//! with none, to stderr when `ALTOGIC_LOG` names a level (`debug`: one line per request, as
//! 1.1 wrote them).
//!
//! With no sink and no `ALTOGIC_LOG`, an event costs one atomic load and nothing is built:
//! every record is made by a closure that runs only when someone listens at its level.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, LazyLock};

use arc_swap::ArcSwapOption;
use serde_json::{Map, Value};

/// How much a record matters; the numbers are the C header's `ALTOGIC_LOG_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Something failed that the program should look at.
    Error = 1,
    /// A bound was hit: an answer cut, error items dropped.
    Warn = 2,
    /// A request sent again.
    Info = 3,
    /// Each request and its answer, each connection opened, each poll of a wait, each call
    /// cancelled.
    Debug = 4,
}

impl Level {
    /// The level of a number (`ALTOGIC_LOG_*`); 0 or less is none, more than 4 is Debug.
    pub fn from_number(number: i64) -> Option<Level> {
        match number {
            i64::MIN..=0 => None,
            1 => Some(Level::Error),
            2 => Some(Level::Warn),
            3 => Some(Level::Info),
            _ => Some(Level::Debug),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

/// Where records go: the level, then the record's JSON text.
pub type Sink = dyn Fn(Level, &str) + Send + Sync;

struct Registered {
    level: Level,
    sink: Box<Sink>,
}

static REGISTERED: ArcSwapOption<Registered> = ArcSwapOption::const_empty();

/// The most detailed level anyone listens to (0: nobody); [`UNREAD`] until `ALTOGIC_LOG`
/// was read.
static THRESHOLD: AtomicU8 = AtomicU8::new(UNREAD);
const UNREAD: u8 = u8::MAX;

/// `ALTOGIC_LOG`'s level for stderr: `error`, `warn`, `info` or `debug`; read once.
fn environment_level() -> Option<Level> {
    static LEVEL: LazyLock<Option<Level>> = LazyLock::new(|| {
        let value = std::env::var("ALTOGIC_LOG").ok()?;
        [Level::Error, Level::Warn, Level::Info, Level::Debug]
            .into_iter()
            .find(|level| value.trim().eq_ignore_ascii_case(level.name()))
    });
    *LEVEL
}

fn threshold() -> u8 {
    let threshold = THRESHOLD.load(Ordering::Relaxed);
    if threshold != UNREAD {
        return threshold;
    }
    let read = environment_level().map_or(0, |level| level as u8);
    // A sink registered meanwhile set its own threshold: keep it.
    match THRESHOLD.compare_exchange(UNREAD, read, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => read,
        Err(set) => set,
    }
}

/// Whether anyone listens at `level`.
pub fn enabled(level: Level) -> bool {
    level as u8 <= threshold()
}

/// Sends records of `level` and more important ones to `sink`, replacing any sink before;
/// None goes back to `ALTOGIC_LOG`'s stderr lines. A sink may be called from any of the
/// library's threads, and from calling threads, at once.
pub fn set_sink(sink: Option<(Level, Box<Sink>)>) {
    let threshold = match &sink {
        Some((level, _)) => *level as u8,
        None => environment_level().map_or(0, |level| level as u8),
    };
    REGISTERED.store(sink.map(|(level, sink)| Arc::new(Registered { level, sink })));
    THRESHOLD.store(threshold, Ordering::Relaxed);
}

/// Sends the record of `event` at `level`, its fields filled in by `fields`, if anyone
/// listens: nothing is built otherwise.
pub fn emit(level: Level, event: &'static str, fields: impl FnOnce(&mut Map<String, Value>)) {
    if !enabled(level) {
        return;
    }
    let mut record = Map::new();
    record.insert("event".to_owned(), Value::from(event));
    record.insert("level".to_owned(), Value::from(level.name()));
    fields(&mut record);
    match REGISTERED.load().as_ref() {
        Some(registered) if level <= registered.level => {
            let text = Value::Object(record).to_string();
            // A sink that panics loses its record, never the call that made it.
            let _ = catch_unwind(AssertUnwindSafe(|| (registered.sink)(level, &text)));
        }
        Some(_) => {}
        // Only what ALTOGIC_LOG asks for: a sink removed while this record was on its way
        // must not send it to stderr.
        None if environment_level().is_some_and(|wanted| level <= wanted) => write_stderr(&record),
        None => {}
    }
}

/// One line on stderr: a request as `METHOD PATH [via proxy P] -> OUTCOME in MS ms, N
/// retries`, anything else as its event and record.
fn write_stderr(record: &Map<String, Value>) {
    let text = |key: &str| record.get(key).and_then(Value::as_str).unwrap_or("?");
    let line = if record.get("event").and_then(Value::as_str) == Some("request") {
        let outcome = match record.get("status").and_then(Value::as_u64) {
            Some(status) => status.to_string(),
            None => text("code").to_owned(),
        };
        let through = record
            .get("proxy")
            .and_then(Value::as_str)
            .map(|proxy| format!(" via proxy {proxy}"))
            .unwrap_or_default();
        let retries = record
            .get("attempt")
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .saturating_sub(1);
        format!(
            "altogic: {} {}{through} -> {outcome} in {:.1} ms, {retries} retr{}\n",
            text("method"),
            text("path"),
            record.get("ms").and_then(Value::as_f64).unwrap_or(0.0),
            if retries == 1 { "y" } else { "ies" }
        )
    } else {
        format!(
            "altogic: {} {}\n",
            text("event"),
            Value::Object(record.clone())
        )
    };
    // One write of the whole line, so lines of concurrent calls never interleave.
    let _ = std::io::stderr().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn levels_come_from_numbers_and_gate_what_is_built() {
        assert_eq!(Level::from_number(0), None);
        assert_eq!(Level::from_number(-3), None);
        assert_eq!(Level::from_number(2), Some(Level::Warn));
        assert_eq!(Level::from_number(9), Some(Level::Debug));

        let seen = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&seen);
        set_sink(Some((
            Level::Info,
            Box::new(move |level, text: &str| into.lock().unwrap().push((level, text.to_owned()))),
        )));
        let mut built = 0;
        emit(Level::Debug, "test_poll", |_| built += 1);
        emit(Level::Info, "test_retry", |record| {
            built += 1;
            record.insert("attempt".to_owned(), Value::from(2));
        });
        set_sink(Some((
            Level::Error,
            Box::new(|_, _| panic!("a sink that panics")),
        )));
        emit(Level::Error, "test_still_fine", |_| {});
        set_sink(None);
        assert_eq!(
            built, 1,
            "a Debug record is not even built for an Info sink"
        );
        // Other tests' calls may have logged meanwhile: only this test's records count.
        let seen: Vec<Value> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, text)| serde_json::from_str::<Value>(text).unwrap())
            .filter(|record| record["event"].as_str().unwrap().starts_with("test_"))
            .collect();
        assert_eq!(seen.len(), 1, "{seen:?}");
        let record = &seen[0];
        assert_eq!(record["event"], "test_retry");
        assert_eq!(record["level"], "info");
        assert_eq!(record["attempt"], 2);
    }
}
