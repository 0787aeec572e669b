//! Memory comes back: runOnce from 4 keep-alive connections under `--retention 2s`, then,
//! once every execution is forgotten, the emulator's resident memory (VmRSS) is compared
//! with what it had at the start. Prints the figures.
//!
//! `ALTOGIC_EMULATOR_MEMORY_SECONDS` sets how long a round of load runs (default 5) and
//! `ALTOGIC_EMULATOR_MEMORY_ROUNDS` how many rounds (default 1; a leak would grow with
//! them). `scripts/emulator-memory.sh` runs two rounds of 20 s and shows the figures.

mod common;

use common::*;
use std::time::{Duration, Instant};

/// The target: at most this much more resident memory than at the start.
const MAX_GROWTH_KIB: u64 = 24 * 1024;

fn vm_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// runOnce from 4 keep-alive connections for `seconds`: how many, and how long it took.
fn load(port: u16, seconds: u64) -> (u64, f64) {
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Conn::new(port);
                let mut n = 0u64;
                while Instant::now() < until {
                    assert_eq!(c.run_once("ck", "now").status, 200);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let runs = threads.into_iter().map(|t| t.join().unwrap()).sum();
    (runs, started.elapsed().as_secs_f64())
}

/// Waits until no execution is kept any more, then for pruning passes (every 500 ms under
/// --retention 2s) to have forgotten them.
fn wait_forgotten(c: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let total = c.get_json("/_emulator/executions?limit=0")["total"]
            .as_u64()
            .unwrap();
        if total == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{total} executions still kept 60 s after the load"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_millis(1500));
}

#[test]
fn memory_comes_back_after_the_retention() {
    let seconds = env_number("ALTOGIC_EMULATOR_MEMORY_SECONDS", 5);
    let rounds = env_number("ALTOGIC_EMULATOR_MEMORY_ROUNDS", 1);
    let dir = TempDir::new("memory");
    // A task that completes at once, so that executions come and go (the demo's take
    // 200 ms: a flood would only fill the queue with pending ones, which are kept).
    let cfg = dir.write(
        "app.toml",
        "[[client_keys]]\nkey = \"ck\"\n[[tasks]]\nname = \"now\"\nservice = { type = \"simulated\" }\n",
    );
    let emu = Emulator::start(&["--config", cfg.to_str().unwrap(), "--retention", "2s"]);
    let pid = emu.child.as_ref().unwrap().id();
    // One request first, so that the start figure includes what serving at all needs.
    let mut c = emu.conn();
    c.run_once("ck", "now").task_id();
    let start = vm_kib(pid, "VmRSS");
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "emulator memory: VmRSS {:.1} MiB at start; runOnce from 4 connections for {seconds} s \
         a round, --retention 2s",
        mib(start)
    );
    let mut forgotten = start;
    for round in 1..=rounds {
        let (runs, took) = load(emu.port, seconds);
        let after_load = vm_kib(pid, "VmRSS");
        wait_forgotten(&mut c);
        forgotten = vm_kib(pid, "VmRSS");
        println!(
            "  round {round}: {runs} runOnce ({:.0}/s); VmRSS {:.1} MiB after the load, {:.1} MiB \
             once every execution was forgotten ({:+.1} MiB from the start; peak so far {:.1} MiB)",
            runs as f64 / took,
            mib(after_load),
            mib(forgotten),
            mib(forgotten) - mib(start),
            mib(vm_kib(pid, "VmHWM"))
        );
    }
    assert!(
        forgotten <= start + MAX_GROWTH_KIB,
        "VmRSS {forgotten} KiB once everything was forgotten, {start} KiB at start (target: at \
         most {MAX_GROWTH_KIB} KiB more)"
    );
}
