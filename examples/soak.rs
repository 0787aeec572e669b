//! The soak run (`make soak`): 16 threads on shared clients make mixed runOnce,
//! getTaskStatus and wait calls through the C ABI, against the emulator and against the
//! fixture server playing a misbehaving service (resets, stalls, connections closed after
//! every answer, trickling bodies, HTML and non-JSON answers), while other threads create
//! and free clients. Every result is checked; the run prints the count of calls, of each
//! error code, and of malformed or unexpected results, and the resident memory once warm
//! and at the end.
//!
//!   soak EMULATOR_URL FIXTURE_URL [SECONDS]
//!
//! Exits non-zero when a result was malformed or unexpected, or when memory grew by more
//! than 2 MiB after the warm-up.

use std::collections::BTreeMap;
use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

// The C functions below come from this library; naming the crate links it in.
extern crate altogic;

#[path = "../tests/support/c_abi.rs"]
mod c_abi;

use c_abi::*;

/// A client handle shared by the threads (the library makes it safe to share).
struct Shared(*mut AltogicClient);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn new_client(url: &str) -> *mut AltogicClient {
    let url = CString::new(url).unwrap();
    // Calls to stalling scenarios end by the client's timeout.
    let options = c"{\"timeoutMs\":300,\"connectTimeoutMs\":1000}";
    // SAFETY: valid C strings; a NULL error slot is allowed.
    let client = unsafe {
        altogic_client_new(
            url.as_ptr(),
            c"demo-client-key".as_ptr(),
            options.as_ptr(),
            std::ptr::null_mut(),
        )
    };
    assert!(!client.is_null(), "client for {url:?}");
    client
}

/// Takes a result string from the library, frees it, and checks and parses it.
fn take_result(result: *mut c_char) -> Result<Value, String> {
    let text = take(result).ok_or_else(|| "NULL result".to_owned())?;
    if text.contains('\n') {
        return Err(format!("not one line: {text}"));
    }
    let value: Value = serde_json::from_str(&text).map_err(|err| format!("{err}: {text}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| format!("not an object: {text}"))?;
    if object.len() != 2 || !object.contains_key("info") || !object.contains_key("errors") {
        return Err(format!("not an info/errors envelope: {text}"));
    }
    if !value["errors"].is_null() {
        let items = value["errors"]["items"]
            .as_array()
            .ok_or_else(|| format!("no items: {text}"))?;
        if items.is_empty()
            || items.iter().any(|item| {
                ["origin", "code", "message"]
                    .iter()
                    .any(|f| !item[f].is_string())
            })
        {
            return Err(format!("malformed error items: {text}"));
        }
    }
    Ok(value)
}

fn code_of(result: &Value) -> &str {
    result["errors"]["items"][0]["code"]
        .as_str()
        .unwrap_or("ok")
}

/// One call of the mix: what was called, and the codes it may answer.
fn call(
    client: &Shared,
    against_emulator: bool,
    turn: u64,
    last_task: &mut Option<String>,
) -> (Result<Value, String>, &'static [&'static str]) {
    let c = |text: &str| CString::new(text).unwrap();
    // SAFETY (all calls): a live client and valid C strings.
    unsafe {
        if against_emulator {
            match (turn % 3, last_task.as_deref()) {
                (1, Some(id)) => (
                    take_result(altogic_task_get_status(client.0, c(id).as_ptr())),
                    &["ok"],
                ),
                (2, Some(id)) => (
                    take_result(altogic_task_wait(client.0, c(id).as_ptr(), 2000)),
                    &["ok", "timeout"],
                ),
                _ => {
                    let result =
                        take_result(altogic_task_run_once(client.0, c"billOnDemand".as_ptr()));
                    if let Ok(value) = &result {
                        *last_task = value["info"]["taskId"].as_str().map(str::to_owned);
                    }
                    (result, &["ok", "timeout"])
                }
            }
        } else {
            let (scenario, expected): (&str, &'static [&'static str]) = match turn % 9 {
                0 => ("reset-soak", &["network_error"]),
                1 => ("stall", &["timeout"]),
                2 => ("close-after-soak", &["ok"]),
                3 => ("drip", &["timeout"]),
                4 => ("error-html", &["bad_gateway"]),
                5 => ("not-json-ok", &["invalid_response"]),
                6 => ("error-odd-items", &["bad_request"]),
                7 => ("big", &["ok"]),
                _ => ("echo-soak", &["ok"]),
            };
            if turn % 2 == 0 {
                // The server may close a connection right after an answer (close-after):
                // a POST that was written on it before the close arrived fails, and is
                // never resent, whatever its scenario. A GET is resent and must not fail.
                let expected: &'static [&'static str] = match scenario {
                    "reset-soak" => &["network_error"],
                    "stall" | "drip" => &["timeout", "network_error"],
                    "error-html" => &["bad_gateway", "network_error"],
                    "not-json-ok" => &["invalid_response", "network_error"],
                    "error-odd-items" => &["bad_request", "network_error"],
                    _ => &["ok", "network_error"],
                };
                (
                    take_result(altogic_task_run_once(client.0, c(scenario).as_ptr())),
                    expected,
                )
            } else {
                (
                    take_result(altogic_task_get_status(client.0, c(scenario).as_ptr())),
                    expected,
                )
            }
        }
    }
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: soak EMULATOR_URL FIXTURE_URL [SECONDS]");
        std::process::exit(2);
    }
    let seconds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(60);
    let emulator = Shared(new_client(&args[1]));
    let fixture = Shared(new_client(&args[2]));
    let stop = AtomicBool::new(false);
    let codes: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
    let bad: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let warm = Duration::from_secs((seconds / 5).clamp(2, 10));
    let mut warm_kib = 0;
    let started = Instant::now();

    std::thread::scope(|scope| {
        for worker in 0..16u64 {
            let (emulator, fixture, stop, codes, bad) = (&emulator, &fixture, &stop, &codes, &bad);
            scope.spawn(move || {
                let mut last_task = None;
                let mut local: BTreeMap<String, u64> = BTreeMap::new();
                let mut turn = worker;
                while !stop.load(Ordering::Relaxed) {
                    let against_emulator = worker % 2 == 0;
                    let client = if against_emulator { emulator } else { fixture };
                    let (result, expected) = call(client, against_emulator, turn, &mut last_task);
                    match result {
                        Ok(value) if expected.contains(&code_of(&value)) => {
                            *local.entry(code_of(&value).to_owned()).or_default() += 1;
                        }
                        Ok(value) => bad
                            .lock()
                            .unwrap()
                            .push(format!("unexpected (wanted {expected:?}): {value}")),
                        Err(problem) => bad.lock().unwrap().push(problem),
                    }
                    turn += 1;
                }
                let mut codes = codes.lock().unwrap();
                for (code, count) in local {
                    *codes.entry(code).or_default() += count;
                }
            });
        }
        // Clients come and go while the others call.
        let (stop, url) = (&stop, &args[1]);
        scope.spawn(move || {
            let mut made = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let client = new_client(url);
                if made % 50 == 0 {
                    // SAFETY: a live client; the result is freed by `take`.
                    let _ =
                        take(unsafe { altogic_task_run_once(client, c"billOnDemand".as_ptr()) });
                }
                // SAFETY: a client made above, used by no other thread.
                unsafe { altogic_client_free(client) };
                made += 1;
                // Churn, not a busy loop that would starve the calling threads of CPU.
                std::thread::sleep(Duration::from_micros(200));
            }
            println!("soak: {made} clients created and freed");
        });
        std::thread::sleep(warm);
        warm_kib = resident_kib();
        std::thread::sleep(Duration::from_secs(seconds).saturating_sub(warm));
        stop.store(true, Ordering::Relaxed);
    });
    let end_kib = resident_kib();
    // SAFETY: no thread uses the clients any more.
    unsafe {
        altogic_client_free(emulator.0);
        altogic_client_free(fixture.0);
    }

    let codes = codes.into_inner().unwrap();
    let bad = bad.into_inner().unwrap();
    let total: u64 = codes.values().sum::<u64>() + bad.len() as u64;
    println!(
        "soak: {total} calls in {:.0} s from 16 threads",
        started.elapsed().as_secs_f64()
    );
    for (code, count) in &codes {
        println!("soak:   {code:<22} {count}");
    }
    println!("soak: malformed or unexpected results: {}", bad.len());
    for problem in bad.iter().take(5) {
        println!("soak:   {problem}");
    }
    let grown_kib = end_kib as i64 - warm_kib as i64;
    println!("soak: resident memory {warm_kib} KiB once warm, {end_kib} KiB at the end ({grown_kib:+} KiB)");
    let ok = bad.is_empty() && grown_kib < 2048 && total > 0;
    println!("soak: {}", if ok { "ok" } else { "FAILED" });
    std::process::exit(if ok { 0 } else { 1 });
}
