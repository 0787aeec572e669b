//! Bounds that hold whatever a server sends or a caller passes: huge error bodies cost
//! memory and time in proportion to their size and stay inside the call's deadline (for
//! runOnce, getTaskStatus and every poll of a wait), credentials in envUrl are refused and
//! never echoed, oversized task ids are refused before sending, blank tokens are refused.
//!
//! One test binary of its own, and the memory checks in one test, so the peak resident
//! size it reads is theirs alone.

mod support;

use std::time::{Duration, Instant};

use altogic::error::codes;
use altogic::{ApiError, Client, ClientOptions};
use support::fixture::Fixture;

fn peak_resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

fn client(url: &str) -> Client {
    let options = ClientOptions {
        timeout_ms: Some(2_000),
        ..ClientOptions::default()
    };
    Client::new(url, "k", options).unwrap()
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Linux only: measures the peak memory in /proc/self/status"
)]
fn huge_error_bodies_cost_little_memory_and_time() {
    let fixture = Fixture::start();
    let client = client(&fixture.url);
    // Warm up: the fixture builds its 8 MB body once, and a first exchange sets up the pool.
    let _ = client.run_once("zeros-400", None);
    let before = peak_resident_mib();
    for (call, key) in [
        ("runOnce", "zeros-400"),
        ("getTaskStatus", "zeros-503"),
        ("runOnce", "many-items-400"),
        ("getTaskStatus", "huge-item"),
    ] {
        let started = Instant::now();
        let error = match call {
            "runOnce" => client.run_once(key, None),
            _ => client.get_task_status(key, None),
        }
        .unwrap_err();
        let took = started.elapsed();
        let result_bytes = error.to_json().len();
        println!(
            "{call} {key}: {took:?}, result {result_bytes} bytes, {} items",
            error.items.len()
        );
        assert!(took < Duration::from_secs(2), "{call} {key} took {took:?}");
        assert!(error.items.len() <= 101, "{} items", error.items.len());
        assert!(
            result_bytes < 64 * 1024,
            "{call} {key}: {result_bytes} bytes"
        );
        for item in &error.items {
            assert!(item["message"].as_str().unwrap().chars().count() <= 2001);
        }
    }
    let many = client.run_once("many-items-400", None).unwrap_err();
    assert_eq!(many.items.len(), 101);
    assert_eq!(many.items[0]["code"], "bad");
    assert_eq!(many.items[100]["code"], "error_items_dropped");
    assert_eq!(many.items[100]["details"]["droppedItems"], 99_900);
    let huge = client.get_task_status("huge-item", None).unwrap_err();
    assert_eq!(huge.items[0]["code"], "huge");
    assert_eq!(huge.items[0]["details"]["truncated"], true);
    let zeros = client.run_once("zeros-400", None).unwrap_err();
    assert_eq!(zeros.items.len(), 101);
    assert_eq!(zeros.items[0]["message"], "0");

    // A wait against a 503 with that body: every poll is bounded the same way.
    let started = Instant::now();
    let waited = client
        .wait_for_task("zeros-503", Some(Duration::from_secs(3)), None)
        .unwrap_err();
    let took = started.elapsed();
    println!(
        "wait zeros-503 for 3 s: {took:?}, result {} bytes",
        waited.to_json().len()
    );
    assert!(
        waited.is_client(codes::TIMEOUT),
        "{}",
        waited.first_code().unwrap_or_default()
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(waited.to_json().len() < 64 * 1024);

    let grown = peak_resident_mib() - before;
    println!("peak resident size grew {grown:.1} MiB");
    assert!(grown < 200.0, "peak resident size grew {grown:.1} MiB");
}

fn message_of(error: &ApiError) -> String {
    error.to_json()
}

#[test]
fn credentials_in_env_url_are_refused_and_never_echoed() {
    for url in [
        "http://user:PASSWORD@127.0.0.1:1",
        "https://user:PASSWORD@app.example.com/",
        "https://:PASSWORD@app.example.com",
        "https://PASSWORD@app.example.com",
    ] {
        let error = Client::new(url, "k", ClientOptions::default()).unwrap_err();
        assert_eq!(error.first_code(), Some(codes::INVALID_ENV_URL), "{url}");
        let text = message_of(&error);
        assert!(!text.contains("PASSWORD"), "{text}");
        assert!(text.contains("user name or password"), "{text}");
    }
    // Other refusals never repeat a password either.
    let error = Client::new(
        "http://user:PASSWORD@host/?q=1",
        "k",
        ClientOptions::default(),
    )
    .unwrap_err();
    assert!(
        !message_of(&error).contains("PASSWORD"),
        "{}",
        message_of(&error)
    );
}

#[test]
fn task_ids_too_long_for_a_url_are_refused_before_sending_and_never_retried() {
    let fixture = Fixture::start();
    let client = client(&fixture.url);
    let long = "a".repeat(70_000);
    for result in [
        client.get_task_status(&long, None),
        client.wait_for_task(&long, None, None),
    ] {
        let error = result.unwrap_err();
        assert_eq!(error.first_code(), Some(codes::INVALID_ARGUMENT));
        let text = message_of(&error);
        assert!(text.len() < 1_000, "{} bytes", text.len());
        assert!(text.contains("4096"), "{text}");
    }
    // A few thousand characters still go out.
    let fits = format!("counted-{}", "b".repeat(4_000));
    let info = client.get_task_status(&fits, None).unwrap().unwrap();
    assert_eq!(info.status(), Some("completed"));
}

#[test]
fn blank_tokens_and_names_are_refused_like_empty_ones() {
    let fixture = Fixture::start();
    let client = client(&fixture.url);
    for blank in ["   ", "\t", " \t "] {
        assert_eq!(
            client.set_session(Some(blank)).unwrap_err().first_code(),
            Some(codes::MISSING_REQUIRED_VALUE)
        );
        assert_eq!(
            client.run_once(blank, None).unwrap_err().first_code(),
            Some(codes::MISSING_REQUIRED_VALUE)
        );
        assert_eq!(
            client
                .get_task_status(blank, None)
                .unwrap_err()
                .first_code(),
            Some(codes::MISSING_REQUIRED_VALUE)
        );
        let options = ClientOptions {
            session: Some(blank.to_owned()),
            ..ClientOptions::default()
        };
        assert!(Client::new(&fixture.url, "k", options).is_err());
        assert!(Client::new(&fixture.url, blank, ClientOptions::default()).is_err());
    }
}
