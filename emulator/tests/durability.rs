//! `--data-dir` keeps its word: what was answered survives SIGKILL and SIGTERM under
//! load, a change is written before anyone can see it, a failed write is a 503 (and a
//! line on stderr), an execution never runs twice, and shutdown interrupts what is still
//! running after its grace.

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LOAD_TASKS: &str = r#"
[[client_keys]]
key = "ck"
[[tasks]]
name = "zero"
service = { type = "simulated", duration = "0s" }
[[tasks]]
name = "short"
service = { type = "simulated", duration = "10ms" }
"#;

/// What the clients saw before the emulator went away.
#[derive(Default)]
struct Seen {
    /// taskId → the runOnce answer.
    answered: HashMap<String, Value>,
    /// taskId → the last getTaskStatus answer.
    observed: HashMap<String, Value>,
    /// 503 answers (bodies).
    refused: Vec<String>,
}

/// 4 connections alternating runOnce (both tasks) and getTaskStatus of their own earlier
/// executions, until a request fails (the emulator is gone) or `stop` is set; at most
/// `per_conn` runOnce each.
/// The emulator's arguments for the app in `cfg`, its executions kept in `dir`/data, then
/// `extra`.
fn data_dir_args(dir: &TempDir, cfg: &std::path::Path, extra: &[&str]) -> Vec<std::ffi::OsString> {
    let mut args = vec![
        "--config".into(),
        cfg.into(),
        "--data-dir".into(),
        dir.path().join("data").into(),
    ];
    args.extend(extra.iter().map(Into::into));
    args
}

fn load(port: u16, stop: Arc<AtomicBool>, per_conn: usize) -> Vec<std::thread::JoinHandle<Seen>> {
    (0..4)
        .map(|n| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut seen = Seen::default();
                let mut c = Conn::new(port);
                let mut mine: Vec<String> = Vec::new();
                for i in 0..per_conn {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let task = if (i + n) % 10 == 0 { "short" } else { "zero" };
                    let Ok(r) = c.try_run_once("ck", task) else {
                        break;
                    };
                    if r.status == 503 {
                        seen.refused.push(r.body);
                        continue;
                    }
                    let v = r.json();
                    assert_eq!(r.status, 200, "{v}");
                    let id = v["taskId"].as_str().unwrap().to_string();
                    seen.answered.insert(id.clone(), v);
                    mine.push(id);
                    if i % 2 == 1 {
                        let id = &mine[(i * 7919) % mine.len()];
                        let path = format!("/_api/rest/v1/task/{id}");
                        let Ok(r) = c.try_request("GET", &path, &[("X-Client-Key", "ck")], None)
                        else {
                            break;
                        };
                        assert_eq!(r.status, 200, "{}", r.body);
                        seen.observed.insert(id.clone(), r.json());
                    }
                }
                seen
            })
        })
        .collect()
}

fn join(threads: Vec<std::thread::JoinHandle<Seen>>) -> Seen {
    let mut all = Seen::default();
    for t in threads {
        let s = t.join().unwrap();
        all.answered.extend(s.answered);
        all.observed.extend(s.observed);
        all.refused.extend(s.refused);
    }
    all
}

fn rank(v: &Value) -> u8 {
    match v["status"].as_str() {
        Some("pending") => 0,
        Some("processing") => 1,
        Some("completed" | "errors") => 2,
        other => panic!("unexpected status {other:?} in {v}"),
    }
}

/// After a restart: every answered execution is there (as answered, or further along),
/// and nothing that was observed went back: a finished one is exactly as it was seen.
fn check_survivors(c: &mut Conn, seen: &Seen) {
    for (id, answer) in &seen.answered {
        let now = c.status("ck", id).json();
        assert_eq!(now["taskId"], id.as_str(), "answered {answer}, lost: {now}");
        assert_eq!(now["triggeredAt"], answer["triggeredAt"], "{now}");
        if let Some(was) = seen.observed.get(id) {
            assert!(rank(&now) >= rank(was), "was {was}, now {now}");
            if rank(was) == 2 {
                assert_eq!(&now, was, "a finished execution changed");
            }
            if rank(was) >= 1 {
                assert_eq!(now["startedAt"], was["startedAt"], "{now} vs {was}");
            }
        }
    }
}

/// Polls until no execution is pending or processing.
fn wait_idle(c: &mut Conn, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let p = c.get_json("/_emulator/executions?status=pending&limit=1");
        let q = c.get_json("/_emulator/executions?status=processing&limit=1");
        if p["executions"].as_array().unwrap().is_empty()
            && q["executions"].as_array().unwrap().is_empty()
        {
            return;
        }
        assert!(Instant::now() < deadline, "still busy: {p} {q}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigkill_under_load_loses_no_answered_execution() {
    let dir = TempDir::new("kill9");
    let cfg = dir.write("app.toml", LOAD_TASKS);
    let args = data_dir_args(&dir, &cfg, &["--workers", "16"]);
    for round in 0..2 {
        let mut emu = Emulator::start_with(&args, None);
        let stop = Arc::new(AtomicBool::new(false));
        let threads = load(emu.port, stop.clone(), 50_000);
        std::thread::sleep(Duration::from_millis(400 + 200 * round));
        emu.kill9();
        let seen = join(threads);
        eprintln!(
            "round {round}: {} runOnce answered, {} states observed before SIGKILL",
            seen.answered.len(),
            seen.observed.len()
        );
        assert!(seen.answered.len() > 50, "too little load to mean anything");
        assert!(seen.refused.is_empty(), "{:?}", seen.refused);

        let emu = Emulator::start_with(&args, None);
        let mut c = emu.conn();
        check_survivors(&mut c, &seen);
        // What was processing is interrupted, what was pending runs: nothing stays.
        wait_idle(&mut c, Duration::from_secs(20));
    }
}

#[test]
fn sigterm_under_load_loses_nothing() {
    let dir = TempDir::new("term");
    let cfg = dir.write("app.toml", LOAD_TASKS);
    let args = data_dir_args(&dir, &cfg, &["--workers", "16"]);
    let mut emu = Emulator::start_with(&args, None);
    let stop = Arc::new(AtomicBool::new(false));
    let threads = load(emu.port, stop.clone(), 50_000);
    std::thread::sleep(Duration::from_millis(500));
    let st = emu
        .signal_and_wait("TERM", Duration::from_secs(15))
        .expect("exits on SIGTERM");
    stop.store(true, Ordering::Relaxed);
    let seen = join(threads);
    eprintln!(
        "{} runOnce answered, {} states observed before SIGTERM",
        seen.answered.len(),
        seen.observed.len()
    );
    assert!(st.success(), "{st:?}: {}", emu.stderr());
    assert!(seen.answered.len() > 50, "too little load to mean anything");
    let log = emu.stderr();
    assert!(log.contains("stopped"), "{log}");

    let emu = Emulator::start_with(&args, None);
    let mut c = emu.conn();
    check_survivors(&mut c, &seen);
    // Running executions were allowed to finish: none was interrupted by the restart.
    let log = emu.stderr_with(" interrupted");
    assert!(log.contains(" 0 interrupted"), "{log}");
    wait_idle(&mut c, Duration::from_secs(20));
    let list = c.get_json("/_emulator/executions?limit=100000");
    for e in list["executions"].as_array().unwrap() {
        assert_eq!(e["status"], "completed", "{e}");
    }
    assert!(list["total"].as_u64().unwrap() >= seen.answered.len() as u64);
}

#[test]
fn a_failed_write_is_a_503_and_said_on_stderr() {
    let dir = TempDir::new("full");
    let cfg = dir.write("app.toml", LOAD_TASKS);
    let args = data_dir_args(&dir, &cfg, &[]);
    // Files of at most 192 KiB: the WAL fills up within a few hundred executions (later
    // checkpoints may make room again for a while).
    let mut emu = Emulator::start_with(&args, Some(192 * 1024));
    let mut c = emu.conn();
    let mut answered = Vec::new();
    let refused = loop {
        let r = c.run_once("ck", "zero");
        if r.status == 503 {
            break r;
        }
        answered.push(r.task_id());
        assert!(answered.len() < 100_000, "the limit never bit");
    };
    eprintln!("{} runOnce answered before the first 503", answered.len());
    assert_eq!(refused.error_code(), "storage_write_failed");
    let item = &refused.json()["errors"][0];
    let message = item["message"].as_str().unwrap();
    assert!(message.contains("executions.sqlite3"), "{item}");
    assert!(
        item["details"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("executions.sqlite3")),
        "{item}"
    );
    assert!(item["details"]["sqliteCode"].is_string(), "{item}");
    // Refused, not half-accepted: only the answered executions exist.
    assert_eq!(
        c.get_json("/_emulator/executions?limit=1")["total"],
        answered.len()
    );
    // What was answered before is still served.
    let last = answered.last().unwrap();
    assert_eq!(c.status("ck", last).json()["taskId"], last.as_str());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !emu
        .stderr()
        .contains("error: the emulator could not write to")
    {
        assert!(Instant::now() < deadline, "{}", emu.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    // Shutdown says that not everything could be written, and exits 1.
    let st = emu
        .signal_and_wait("TERM", Duration::from_secs(15))
        .expect("exits on SIGTERM");
    assert_eq!(st.code(), Some(1), "{}", emu.stderr());
    assert!(
        emu.stderr().contains("could not be written"),
        "{}",
        emu.stderr()
    );

    // Without the limit, everything answered is there.
    let emu = Emulator::start_with(&args, None);
    let mut c = emu.conn();
    for id in &answered {
        assert_eq!(c.status("ck", id).json()["taskId"], id.as_str());
    }
    wait_idle(&mut c, Duration::from_secs(20));
    assert_eq!(c.run_once("ck", "zero").status, 200);
}

#[test]
fn no_execution_runs_twice_even_across_a_crash() {
    let dir = TempDir::new("twice");
    let ran = dir.path().join("ran.jsonl");
    let cfg = dir.write(
        "app.toml",
        &format!(
            r#"
[[client_keys]]
key = "ck"
[[tasks]]
name = "append"
service = {{ type = "command", argv = ["/bin/sh", "-c", "cat >> '{}'"] }}
"#,
            ran.display()
        ),
    );
    let args = data_dir_args(&dir, &cfg, &["--workers", "8"]);
    let mut emu = Emulator::start_with(&args, None);
    let answered = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let port = emu.port;
            let answered = answered.clone();
            std::thread::spawn(move || {
                let mut c = Conn::new(port);
                for _ in 0..300 {
                    let Ok(r) = c.try_run_once("ck", "append") else {
                        return;
                    };
                    answered.lock().unwrap().push(r.task_id());
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(600));
    emu.kill9();
    for t in threads {
        t.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() > 20, "too little load: {}", answered.len());

    let emu = Emulator::start_with(&args, None);
    let mut c = emu.conn();
    wait_idle(&mut c, Duration::from_secs(60));
    let text = std::fs::read_to_string(&ran).unwrap();
    let mut runs: HashMap<String, usize> = HashMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert_eq!(v["status"], "processing", "{v}");
        *runs
            .entry(v["taskId"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "ran more than once: {twice:?}");
    let (mut completed, mut interrupted) = (0, 0);
    for id in &answered {
        let v = c.status("ck", id).json();
        match v["status"].as_str() {
            Some("completed") => {
                completed += 1;
                assert_eq!(runs.get(id), Some(&1), "completed without running: {v}");
            }
            Some("errors") => {
                interrupted += 1;
                assert_eq!(v["errors"]["code"], "interrupted", "{v}");
            }
            _ => panic!("{v}"),
        }
    }
    eprintln!(
        "{} answered: {completed} ran once, {interrupted} interrupted by the crash",
        answered.len()
    );
}

#[test]
fn shutdown_lets_executions_finish_then_interrupts_the_rest() {
    let dir = TempDir::new("grace");
    let pidfile = dir.path().join("pid");
    let cfg = dir.write(
        "app.toml",
        &format!(
            r#"
[[client_keys]]
key = "ck"
[[tasks]]
name = "quick"
service = {{ type = "simulated", duration = "300ms" }}
[[tasks]]
name = "long"
service = {{ type = "command", argv = ["/bin/sh", "-c", "echo $$ > '{}'; exec sleep 30"] }}
[[tasks]]
name = "queued"
service = {{ type = "simulated", duration = "0s" }}
"#,
            pidfile.display()
        ),
    );
    let args = data_dir_args(&dir, &cfg, &["--workers", "2", "--shutdown-grace", "1s"]);
    let mut emu = Emulator::start_with(&args, None);
    let mut c = emu.conn();
    let long = c.run_once("ck", "long").task_id();
    let quick = c.run_once("ck", "quick").task_id();
    // Both workers are busy: this one waits in the queue.
    let queued = c.run_once("ck", "queued").task_id();
    c.wait_for("ck", &quick, Duration::from_secs(5), |v| {
        v["status"] == "processing"
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let pid = loop {
        if let Some(p) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            break p;
        }
        assert!(Instant::now() < deadline, "the command did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    let started = Instant::now();
    let st = emu
        .signal_and_wait("TERM", Duration::from_secs(15))
        .expect("exits on SIGTERM");
    let took = started.elapsed();
    assert!(st.success(), "{st:?}: {}", emu.stderr());
    assert!(took >= Duration::from_millis(900), "{took:?}");
    let log = emu.stderr();
    assert!(log.contains("interrupting 1 executions"), "{log}");
    // The command's process is gone (or a zombie for init to reap); SIGKILL takes effect
    // asynchronously, so give a loaded machine a moment.
    let gone_by = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.split_whitespace().nth(2).is_none_or(|s| s == "Z") {
            break;
        }
        assert!(Instant::now() < gone_by, "{stat}");
        std::thread::sleep(Duration::from_millis(20));
    }

    let emu = Emulator::start_with(&args, None);
    let mut c = emu.conn();
    let log = emu.stderr_with(" interrupted");
    assert!(log.contains(" 0 interrupted"), "{log}");
    assert_eq!(c.status("ck", &quick).json()["status"], "completed");
    let v = c.status("ck", &long).json();
    assert_eq!(v["status"], "errors", "{v}");
    assert_eq!(v["errors"]["code"], "interrupted", "{v}");
    // The queued one was not started by the stopping emulator; this one runs it.
    let v = c.wait_finished("ck", &queued, Duration::from_secs(5));
    assert_eq!(v["status"], "completed", "{v}");
}
