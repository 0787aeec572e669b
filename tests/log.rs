//! `ALTOGIC_LOG=debug` writes one line per request to stderr, as 1.1 did, and a line per
//! other record (a retry, a connection opened), and never a key or token. The library reads
//! the variable once per process, so the calls run in a child process: this test binary
//! itself, started again with the variable set.

mod support;

use std::process::Command;

use altogic::{Client, ClientOptions};
use support::fixture::Fixture;

const CHILD: &str = "ALTOGIC_LOG_TEST_CHILD_URL";

#[test]
fn debug_log_has_one_line_per_request_and_no_secrets() {
    if let Ok(url) = std::env::var(CHILD) {
        let options = ClientOptions::from_json(
            r#"{"apiKey":"secret-api-key","session":"secret-session-token"}"#,
        )
        .unwrap();
        let client = Client::new(&url, "secret-client-key", options).unwrap();
        let _ = client.run_once("log-me", None);
        let _ = client.get_task_status("reset-log", None);
        let _ = client.get_task_status("error-array", None);
        return;
    }
    let fixture = Fixture::start();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "debug_log_has_one_line_per_request_and_no_secrets",
        ])
        .env(CHILD, &fixture.url)
        .env("ALTOGIC_LOG", "debug")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("altogic: POST ") || line.starts_with("altogic: GET "))
        .collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    let retry = stderr
        .lines()
        .find(|line| line.starts_with("altogic: retry {"))
        .unwrap_or_else(|| panic!("no retry line in {stderr}"));
    assert!(retry.contains(r#""attempt":2"#), "{retry}");
    assert!(
        stderr.contains(r#"altogic: connection_opened {"#),
        "{stderr}"
    );
    assert!(
        lines[0].starts_with("altogic: POST /_api/rest/v1/task -> 200 in "),
        "{}",
        lines[0]
    );
    assert!(lines[0].ends_with(" ms, 0 retries"), "{}", lines[0]);
    assert!(
        lines[1].starts_with("altogic: GET /_api/rest/v1/task/reset-log -> network_error in "),
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with(" ms, 1 retry"), "{}", lines[1]);
    assert!(lines[2].contains("-> 404 in "), "{}", lines[2]);
    for secret in [
        "secret-api-key",
        "secret-session-token",
        "secret-client-key",
    ] {
        assert!(!stderr.contains(secret), "{secret} leaked: {stderr}");
    }
}
