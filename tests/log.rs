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

const CLOSED_CHILD: &str = "ALTOGIC_LOG_TEST_CLOSED_CHILD_URL";

/// The `connection_closed` records of one run: each line's JSON.
fn closed_records(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("altogic: connection_closed "))
        .map(|json| serde_json::from_str(json).unwrap())
        .collect()
}

/// Each way a kept connection ends shows as a `connection_closed` record with its reason:
/// the server said `Connection: close`; it closed an idle one unannounced (seen when the next
/// call opens another); the pool's idle timeout passed; an answer refused half-read; a call
/// that lost its connection; and the connection of a resent GET, kept for nothing else.
#[test]
fn closed_connections_are_recorded_with_their_reason() {
    if let Ok(url) = std::env::var(CLOSED_CHILD) {
        let client = |options: &str| {
            Client::new(&url, "k", ClientOptions::from_json(options).unwrap()).unwrap()
        };
        // Written as the library writes its lines: eprintln! is captured by the test harness.
        let stage = |name: &str| {
            let line = format!("altogic: stage {name}\n");
            std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes()).unwrap();
        };
        let kept = client("{}");
        kept.run_once("log-a", None).unwrap();
        stage("server_asked");
        kept.run_once("says-close-1", None).unwrap();
        stage("closed_while_idle");
        kept.run_once("close-after-1", None).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        kept.run_once("log-b", None).unwrap();
        stage("idle");
        let brief = client(r#"{"idleTimeoutMs":100}"#);
        brief.run_once("log-c", None).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        brief.run_once("log-d", None).unwrap();
        stage("unfinished_answer");
        let small = client(r#"{"maxResponseBytes":1000,"idleTimeoutMs":60000}"#);
        small.run_once("log-e", None).unwrap();
        assert!(small.get_task_status("big", None).is_err());
        stage("lost");
        assert!(kept.get_task_status("reset-closed", None).is_err());
        return;
    }
    let fixture = Fixture::start();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "closed_connections_are_recorded_with_their_reason",
        ])
        .env(CLOSED_CHILD, &fixture.url)
        .env("ALTOGIC_LOG", "debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    // The records between one stage line and the next.
    let stages: Vec<(&str, Vec<serde_json::Value>)> = stderr
        .split("altogic: stage ")
        .skip(1)
        .map(|part| {
            let (name, rest) = part.split_once('\n').unwrap();
            (name, closed_records(rest))
        })
        .collect();
    let reasons = |name: &str| -> Vec<String> {
        let (_, records) = stages.iter().find(|(stage, _)| *stage == name).unwrap();
        records
            .iter()
            .map(|record| record["reason"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(reasons("server_asked"), ["server_asked"], "{stderr}");
    assert_eq!(
        reasons("closed_while_idle"),
        ["closed_while_idle"],
        "{stderr}"
    );
    assert_eq!(reasons("idle"), ["idle"], "{stderr}");
    assert_eq!(
        reasons("unfinished_answer"),
        ["unfinished_answer"],
        "{stderr}"
    );
    // The first GET loses its connection; the resent one, on a connection of its own, loses
    // it too (the fixture resets every `reset-` request).
    assert_eq!(reasons("lost"), ["lost", "lost"], "{stderr}");
    for (_, records) in &stages {
        for record in records {
            assert_eq!(record["host"], "127.0.0.1", "{record}");
            assert!(record["client"].as_u64().unwrap() > 0, "{record}");
        }
    }
    let (_, idle) = stages.iter().find(|(stage, _)| *stage == "idle").unwrap();
    assert!(idle[0]["idleMs"].as_f64().unwrap() >= 100.0, "{stderr}");
}
