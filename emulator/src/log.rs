//! One line per event on stderr, prefixed with an ISO 8601 UTC timestamp.

use std::io::Write;

/// Writes one log line to stderr in a single write, so lines from concurrent tasks never mix.
pub fn line(args: std::fmt::Arguments<'_>) {
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let text = format!("{ts} {args}\n");
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// `log!("...", args)`: one line on stderr.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::line(format_args!($($arg)*))
    };
}
