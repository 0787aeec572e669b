//! `ALTOGIC_LOG=debug`: one line per request on stderr, for finding out what the library
//! did on the wire. It names the method, the path, the outcome, the duration and the
//! retries, and never a header: keys and session tokens travel only in headers.

use std::io::Write;
use std::sync::LazyLock;
use std::time::Duration;

static ENABLED: LazyLock<bool> = LazyLock::new(|| {
    std::env::var("ALTOGIC_LOG").is_ok_and(|level| level.eq_ignore_ascii_case("debug"))
});

pub fn enabled() -> bool {
    *ENABLED
}

/// Writes the line of one request. `outcome` is the HTTP status or the error code; `via`
/// the proxy it went through, shown without credentials.
pub fn request(
    method: &str,
    path: &str,
    via: Option<&str>,
    outcome: &str,
    elapsed: Duration,
    retries: u32,
) {
    let through = via
        .map(|proxy| format!(" via proxy {proxy}"))
        .unwrap_or_default();
    let line = format!(
        "altogic: {method} {path}{through} -> {outcome} in {:.1} ms, {retries} retr{}\n",
        elapsed.as_secs_f64() * 1000.0,
        if retries == 1 { "y" } else { "ies" }
    );
    // One write of the whole line, so lines of concurrent calls never interleave.
    let _ = std::io::stderr().write_all(line.as_bytes());
}
