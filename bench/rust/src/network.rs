//! The "real network" shapes of bench/network (over TLS through a delaying proxy) with one
//! `reqwest::blocking::Client` shared by every thread (one runtime, one pool), each call's
//! latency recorded:
//!
//!     reqwest-network pool URL THREADS ROUNDS CA_FILE      threads taking turns: in each round
//!                                                          each makes one call, one after another
//!     reqwest-network poller URL CALLS INTERVAL_S CA_FILE  the calling thread, a call every INTERVAL_S
//!
//! CA_FILE (PEM) is added to the client's roots (reqwest with rustls does not read
//! SSL_CERT_FILE). Prints {"latency_us":[...],"errors":N,"first_error":"..."}.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[path = "common.rs"]
mod common;
use common::run_once;

#[derive(Default)]
struct Record {
    latency_us: Vec<f64>,
    errors: u64,
    first_error: String,
}

fn record(rec: &Mutex<Record>, client: &reqwest::blocking::Client, url: &str) {
    let t0 = Instant::now();
    let result = run_once(client, url);
    let us = t0.elapsed().as_nanos() as f64 / 1000.0;
    let mut rec = rec.lock().unwrap();
    rec.latency_us.push(us);
    let problem = match result {
        Ok(info) if info.status == "pending" => return,
        Ok(info) => format!("status {}", info.status),
        Err(e) => e,
    };
    if rec.errors == 0 {
        rec.first_error = problem;
    }
    rec.errors += 1;
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 || (args[1] != "pool" && args[1] != "poller") {
        eprintln!(
            "usage: {0} pool URL THREADS ROUNDS CA_FILE | {0} poller URL CALLS INTERVAL_S CA_FILE",
            args[0]
        );
        std::process::exit(2);
    }
    let url = format!("{}/_api/rest/v1/task", args[2].trim_end_matches('/'));
    let n: usize = args[3].parse().expect("count");
    let pem = std::fs::read(&args[5]).expect("CA_FILE");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA_FILE: PEM"))
        .build()
        .expect("reqwest client");
    let rec = Mutex::new(Record::default());
    if args[1] == "pool" {
        let rounds: usize = args[4].parse().expect("ROUNDS");
        let turns = n * rounds;
        let turn = Mutex::new(0usize);
        let changed = Condvar::new();
        std::thread::scope(|scope| {
            for me in 0..n {
                let (turn, changed, client, url, rec) = (&turn, &changed, &client, &url, &rec);
                scope.spawn(move || loop {
                    let mut t = turn.lock().unwrap();
                    while *t < turns && *t % n != me {
                        t = changed.wait(t).unwrap();
                    }
                    if *t >= turns {
                        return;
                    }
                    drop(t);
                    record(rec, client, url);
                    *turn.lock().unwrap() += 1;
                    changed.notify_all();
                });
            }
        });
    } else {
        let interval: f64 = args[4].parse().expect("INTERVAL_S");
        let start = Instant::now();
        for i in 0..n {
            let due = start + Duration::from_secs_f64(i as f64 * interval);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            record(&rec, &client, &url);
        }
    }
    let rec = rec.into_inner().unwrap();
    println!(
        "{}",
        serde_json::json!({
            "latency_us": rec.latency_us,
            "errors": rec.errors,
            "first_error": rec.first_error,
        })
    );
}
