//! Connection pools stay bounded whatever `connectTimeoutMs` values a process uses (the
//! count itself is checked by a unit test of the transport; this one measures memory).
//! A test binary of its own, so the memory it measures is this test's alone.

mod support;

use altogic::{Client, ClientOptions};
use support::fixture::Fixture;

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Linux only: measures the memory in /proc/self/status"
)]
fn ten_thousand_connect_timeouts_keep_memory_and_pools_bounded() {
    let fixture = Fixture::start();
    let warm = Client::new(&fixture.url, "k", ClientOptions::default()).unwrap();
    warm.get_task_status("warm-up", None).unwrap();
    let before = resident_kib();
    for ms in 1..=10_000u64 {
        let options = ClientOptions {
            connect_timeout_ms: Some(1_000 + ms),
            ..ClientOptions::default()
        };
        let client = Client::new(&fixture.url, "k", options).unwrap();
        let result = client.get_task_status("echo-pool", None);
        assert!(result.is_ok(), "call {ms}: {result:?}");
    }
    let grown_mib = resident_kib().saturating_sub(before) as f64 / 1024.0;
    println!("10000 clients, 10000 connect timeouts: memory grew {grown_mib:.1} MiB");
    // The README says "about 1 MiB"; allocator noise stays well under 4.
    assert!(grown_mib < 4.0, "memory grew {grown_mib:.1} MiB");
}
