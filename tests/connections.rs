//! Servers that close kept-alive connections without a word: the library must notice the
//! close before it sends on such a connection, as Go's net/http and urllib3 do, so no call
//! fails for it. A runOnce is still never sent twice.

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

#[test]
fn a_server_that_closes_after_every_answer_costs_no_call() {
    let fixture = Fixture::start();
    let client = client(&fixture.url);
    let mut failures = Vec::new();
    for call in 0..200 {
        // A program that does anything between two calls; a call right on the heels of an
        // answer can meet a close still on its way, which no client can see (and a runOnce
        // then fails, never resent).
        std::thread::sleep(Duration::from_millis(2));
        let name = format!("close-after-{call}");
        let result = if call % 2 == 0 {
            client.run_once(&name, None)
        } else {
            client.get_task_status(&name, None)
        };
        if let Err(error) = result {
            failures.push(error.to_json());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 200 failed: {:?}",
        failures.len(),
        failures.first()
    );
}

#[test]
fn four_threads_against_a_server_that_closes_after_every_answer() {
    let fixture = Fixture::start();
    let client = client(&fixture.url);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|thread| {
                let client = &client;
                scope.spawn(move || {
                    let mut failed = Vec::new();
                    for call in 0..180 {
                        std::thread::sleep(Duration::from_millis(2));
                        let name = format!("close-after-{thread}-{call}");
                        let result = if call % 2 == 0 {
                            client.run_once(&name, None)
                        } else {
                            client.get_task_status(&name, None)
                        };
                        if let Err(error) = result {
                            failed.push(error.to_json());
                        }
                    }
                    failed
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of 720 failed: {:?}",
        failures.len(),
        failures.first()
    );
}
