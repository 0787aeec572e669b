//! runOnce with a plain `reqwest::blocking::Client` (keep-alive, one client shared by every
//! thread): POST /_api/rest/v1/task with the JSON body, the answer decoded into a struct.
//!
//!     reqwest-bench URL SECONDS THREADS...     (0: sequential, on the calling thread)
//!
//! One JSON object per line on stdout, the same fields as bench/c/bench.c prints, with
//! cpu_us_per_call: getrusage(RUSAGE_SELF) user + system (every thread of the process, so
//! reqwest::blocking's runtime thread too) over the measured interval, per call.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

#[path = "common.rs"]
mod common;
use common::run_once;

/// `struct rusage` of Linux: two `struct timeval`s, then 14 longs.
#[repr(C)]
struct Rusage {
    utime: [libc_long; 2],
    stime: [libc_long; 2],
    rest: [libc_long; 14],
}

#[allow(non_camel_case_types)]
type libc_long = std::os::raw::c_long;

extern "C" {
    fn getrusage(who: std::os::raw::c_int, usage: *mut Rusage) -> std::os::raw::c_int;
}

/// User + system CPU time of the whole process, µs.
fn process_cpu_us() -> f64 {
    let mut ru = Rusage {
        utime: [0; 2],
        stime: [0; 2],
        rest: [0; 14],
    };
    // SAFETY: `ru` has the layout of `struct rusage`; 0 is RUSAGE_SELF.
    if unsafe { getrusage(0, &mut ru) } != 0 {
        return 0.0;
    }
    ((ru.utime[0] + ru.stime[0]) as f64) * 1e6 + (ru.utime[1] + ru.stime[1]) as f64
}

#[derive(Default)]
struct Worker {
    latency_ns: Vec<u64>,
    errors: u64,
    first_error: String,
}

fn work(client: &reqwest::blocking::Client, url: &str, deadline: Instant) -> Worker {
    let mut w = Worker {
        latency_ns: Vec::with_capacity(65536),
        ..Worker::default()
    };
    loop {
        let t0 = Instant::now();
        if t0 >= deadline {
            return w;
        }
        let result = run_once(client, url);
        w.latency_ns.push(t0.elapsed().as_nanos() as u64);
        let problem = match result {
            Ok(info) if info.status == "pending" => continue,
            Ok(info) => format!("status {}", info.status),
            Err(e) => e,
        };
        if w.errors == 0 {
            w.first_error = problem;
        }
        w.errors += 1;
    }
}

fn run_cell(client: &reqwest::blocking::Client, url: &str, threads: usize, seconds: f64) -> String {
    let span = Duration::from_secs_f64(seconds);
    let start;
    let mut cpu0 = process_cpu_us();
    let workers: Vec<Worker> = if threads == 0 {
        start = Instant::now();
        vec![work(client, url, start + span)]
    } else {
        let barrier = Arc::new(Barrier::new(threads + 1));
        let (started, workers) = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::channel::<Instant>();
            let rx = Arc::new(std::sync::Mutex::new(rx));
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let barrier = Arc::clone(&barrier);
                    let rx = Arc::clone(&rx);
                    scope.spawn(move || {
                        barrier.wait();
                        let deadline = rx.lock().unwrap().recv().unwrap();
                        work(client, url, deadline)
                    })
                })
                .collect();
            barrier.wait();
            cpu0 = process_cpu_us();
            let started = Instant::now();
            for _ in 0..threads {
                tx.send(started + span).unwrap();
            }
            let workers = handles.into_iter().map(|h| h.join().unwrap()).collect();
            (started, workers)
        });
        start = started;
        workers
    };
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_us = process_cpu_us() - cpu0;
    let mut all: Vec<u64> = workers
        .iter()
        .flat_map(|w| w.latency_ns.iter().copied())
        .collect();
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        all[(p / 100.0 * (all.len() - 1) as f64).round() as usize] as f64 / 1000.0
    };
    let errors: u64 = workers.iter().map(|w| w.errors).sum();
    let first_error = workers
        .iter()
        .find(|w| w.errors > 0)
        .map(|w| w.first_error.clone())
        .unwrap_or_default();
    serde_json::json!({
        "threads": threads,
        "calls": all.len(),
        "seconds": elapsed,
        "p50_us": pct(50.0),
        "p99_us": pct(99.0),
        "cpu_us_per_call": if all.is_empty() { 0.0 } else { cpu_us / all.len() as f64 },
        "errors": errors,
        "first_error": first_error,
    })
    .to_string()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: {} URL SECONDS THREADS...", args[0]);
        std::process::exit(1);
    }
    let url = format!("{}/_api/rest/v1/task", args[1].trim_end_matches('/'));
    let seconds: f64 = args[2].parse().expect("SECONDS");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(16)
        .build()
        .expect("reqwest client");
    for threads in &args[3..] {
        let threads: usize = threads.parse().expect("THREADS");
        run_cell(&client, &url, threads, 0.2);
        println!("{}", run_cell(&client, &url, threads, seconds));
    }
}
