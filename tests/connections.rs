//! Servers that close kept-alive connections: the library notices a close when it arrives
//! (the connection leaves the pool), as Go's net/http and urllib3 do, so no call fails for
//! a connection closed while idle; it follows a server's announced `Keep-Alive: timeout=N`,
//! so a program calling at the server's own interval never races its close. A runOnce is
//! never sent twice.

mod support;

use std::time::Duration;

use altogic::{Client, ClientOptions};
use support::fixture::Fixture;

fn client(url: &str) -> Client {
    Client::new(url, "k", ClientOptions::default()).unwrap()
}

#[test]
fn connections_closed_while_idle_are_not_reused() {
    let fixture = Fixture::start_closing_idle_after(Duration::from_millis(300));
    let client = client(&fixture.url);
    let mut failures = Vec::new();
    for call in 0..12 {
        if call > 0 {
            std::thread::sleep(Duration::from_millis(600));
        }
        if let Err(error) = client.run_once(&format!("counted-idle-{call}"), None) {
            failures.push(error.to_json());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 12 failed: {failures:?}",
        failures.len()
    );
    for call in 0..12 {
        let seen = client
            .run_once(&format!("count-of-counted-idle-{call}"), None)
            .unwrap()
            .unwrap();
        assert_eq!(
            seen.fields()["seen"],
            1,
            "runOnce {call} was sent more than once"
        );
    }
}

/// Failures of runOnce and of getTaskStatus calls against a server that closes after every
/// answer while saying keep-alive.
#[derive(Default, Debug)]
struct Failures {
    run_once: Vec<String>,
    get_status: Vec<String>,
}

/// `calls` calls alternating runOnce and getTaskStatus, 2 ms apart (a program that does
/// anything between two calls).
fn alternate_calls(client: &Client, prefix: &str, calls: usize) -> Failures {
    let mut failures = Failures::default();
    for call in 0..calls {
        std::thread::sleep(Duration::from_millis(2));
        let name = format!("close-after-{prefix}{call}");
        if call % 2 == 0 {
            if let Err(error) = client.run_once(&name, None) {
                failures.run_once.push(error.to_json());
            }
        } else if let Err(error) = client.get_task_status(&name, None) {
            failures.get_status.push(error.to_json());
        }
    }
    failures
}

/// A close on its way while a request goes out is a race no client wins every time: a
/// runOnce that may have reached the server is never resent (it could run the task twice),
/// so some may fail, far fewer than Go's net/http loses (a quarter in one measurement); a
/// getTaskStatus is sent again and always succeeds.
fn check(failures: &Failures, calls: usize) {
    println!(
        "{calls} calls: {} runOnce failed (never resent), {} getTaskStatus failed",
        failures.run_once.len(),
        failures.get_status.len()
    );
    assert!(
        failures.get_status.is_empty(),
        "{} getTaskStatus failed: {:?}",
        failures.get_status.len(),
        failures.get_status.first()
    );
    assert!(
        failures.run_once.len() * 20 <= calls / 2,
        "{} of {} runOnce failed: {:?}",
        failures.run_once.len(),
        calls / 2,
        failures.run_once.first()
    );
}

#[test]
fn a_server_that_closes_after_every_answer() {
    let fixture = Fixture::start();
    let client = client(&fixture.url);
    check(&alternate_calls(&client, "", 200), 200);
}

#[test]
fn four_threads_against_a_server_that_closes_after_every_answer() {
    let fixture = Fixture::start();
    let client = client(&fixture.url);
    let mut all = Failures::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|thread| {
                let client = &client;
                scope.spawn(move || alternate_calls(client, &format!("{thread}-"), 180))
            })
            .collect();
        for worker in workers {
            let failures = worker.join().unwrap();
            all.run_once.extend(failures.run_once);
            all.get_status.extend(failures.get_status);
        }
    });
    check(&all, 720);
}

/// The connection that carried a call, as the fixture numbers them.
fn connection_of(client: &Client, name: &str) -> u64 {
    let info = client.run_once(name, None).unwrap().unwrap();
    info.fields()["_connection"].as_u64().unwrap()
}

/// A web app's worker pool: threads taking turns share one kept-alive connection, where a
/// pool per thread opened one each (and paid a TLS handshake each).
#[test]
fn threads_taking_turns_share_one_connection() {
    let fixture = Fixture::start();
    let client = client(&fixture.url);
    let turn = std::sync::Mutex::new(());
    let connections: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|thread| {
                let (client, turn) = (&client, &turn);
                scope.spawn(move || {
                    (0..3)
                        .map(|round| {
                            let _turn = turn.lock().unwrap();
                            connection_of(client, &format!("echo-turns-{thread}-{round}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    assert_eq!(connections.len(), 24);
    assert!(
        connections.iter().all(|&c| c == connections[0]),
        "{connections:?}"
    );
}

/// A poller: calls 5 s apart keep their connection (idle up to 90 s, where 1.1 closed it
/// after 4 s and paid a handshake on every call); a client whose `idleTimeoutMs` is shorter
/// than the gap opens a new one.
#[test]
fn an_idle_connection_is_kept_as_long_as_idle_timeout_says() {
    let fixture = Fixture::start();
    let kept = client(&fixture.url);
    let options = ClientOptions {
        idle_timeout_ms: Some(1_000),
        ..ClientOptions::default()
    };
    let short = Client::new(&fixture.url, "k", options).unwrap();
    let first = (
        connection_of(&kept, "echo-kept-1"),
        connection_of(&short, "echo-short-1"),
    );
    std::thread::sleep(Duration::from_millis(5_000));
    let second = (
        connection_of(&kept, "echo-kept-2"),
        connection_of(&short, "echo-short-2"),
    );
    assert_eq!(first.0, second.0, "kept for 5 s");
    assert_ne!(first.1, second.1, "closed after 1 s idle");
}

/// A server that closes connections idle for 1 s and says so (`Keep-Alive: timeout=1`):
/// runOnce calls at its own interval, a little less and a little more, never race its close.
#[test]
fn a_server_that_announces_its_keep_alive_timeout_is_followed() {
    let fixture = Fixture::start_announcing_idle_limit(1);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let callers: Vec<_> = [990, 1_000, 1_010]
            .into_iter()
            .map(|gap_ms| {
                let url = &fixture.url;
                scope.spawn(move || {
                    let client = client(url);
                    let mut failed = Vec::new();
                    for call in 0..15 {
                        if call > 0 {
                            std::thread::sleep(Duration::from_millis(gap_ms));
                        }
                        let name = format!("counted-announced-{gap_ms}-{call}");
                        if let Err(error) = client.run_once(&name, None) {
                            failed.push(format!("{gap_ms} ms, call {call}: {}", error.to_json()));
                        }
                    }
                    failed
                })
            })
            .collect();
        callers
            .into_iter()
            .flat_map(|caller| caller.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of 45 failed: {failures:?}",
        failures.len()
    );
}
