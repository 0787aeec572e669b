//! Routed command services, scheduled runs, restarts with --data-dir, and load.

mod common;

use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

#[test]
fn command_service_succeeds_fails_and_times_out() {
    let dir = TempDir::new("cmd");
    let seen = dir.path().join("stdin.json");
    let cfg = dir.write(
        "app.toml",
        &format!(
            r#"
[[client_keys]]
key = "ck"

[[tasks]]
name = "ok"
timeout = "10s"
service = {{ type = "command", argv = ["/bin/sh", "-c", "cat > \"$OUT\"", "ignored-arg"], env = {{ OUT = "{}" }} }}

[[tasks]]
name = "fails"
timeout = "10s"
service = {{ type = "command", argv = ["/bin/sh", "-c", "echo something broke >&2; exit 3"] }}

[[tasks]]
name = "hangs"
timeout = "300ms"
service = {{ type = "command", argv = ["/bin/sh", "-c", "sleep 30; sleep 30"] }}

[[tasks]]
name = "missing"
service = {{ type = "command", argv = ["/nonexistent/program"] }}
"#,
            seen.display()
        ),
    );
    let emu = Emulator::start(&["--config", cfg.to_str().unwrap()]);
    let mut c = emu.conn();
    let ok = c.run_once("ck", "ok").task_id();
    let fails = c.run_once("ck", "fails").task_id();
    let hangs = c.run_once("ck", "hangs").task_id();
    let missing = c.run_once("ck", "missing").task_id();

    let v = c.wait_finished("ck", &ok, Duration::from_secs(10));
    assert_eq!(v["status"], "completed", "{v}");
    let stdin: Value = serde_json::from_str(&std::fs::read_to_string(&seen).unwrap()).unwrap();
    assert_eq!(stdin["taskId"], ok.as_str());
    assert_eq!(stdin["scheduledTaskName"], "ok");
    assert_eq!(stdin["status"], "processing");

    let v = c.wait_finished("ck", &fails, Duration::from_secs(10));
    assert_eq!(v["status"], "errors", "{v}");
    assert_eq!(v["errors"]["code"], "command_failed");
    assert_eq!(v["errors"]["exitStatus"], 3);
    assert!(
        v["errors"]["stderr"]
            .as_str()
            .unwrap()
            .contains("something broke"),
        "{v}"
    );

    let started = Instant::now();
    let v = c.wait_finished("ck", &hangs, Duration::from_secs(10));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(v["status"], "errors", "{v}");
    assert_eq!(v["errors"]["code"], "timeout");
    let t = |k: &str| chrono::DateTime::parse_from_rfc3339(v[k].as_str().unwrap()).unwrap();
    assert!(
        t("completedAt") - t("startedAt") < chrono::Duration::seconds(3),
        "{v}"
    );

    let v = c.wait_finished("ck", &missing, Duration::from_secs(10));
    assert_eq!(v["status"], "errors", "{v}");
    assert_eq!(v["errors"]["code"], "command_failed");
}

#[test]
fn scheduled_task_fires_and_disabled_one_does_not() {
    let dir = TempDir::new("sched");
    let cfg = dir.write(
        "app.toml",
        r#"
[[client_keys]]
key = "ck"

[[tasks]]
name = "tick"
schedule = { type = "interval", every = "1s" }
service = { type = "simulated", duration = "10ms" }

[[tasks]]
name = "off"
enabled = false
schedule = { type = "interval", every = "1s" }
service = { type = "simulated", duration = "10ms" }
"#,
    );
    let emu = Emulator::start(&["--config", cfg.to_str().unwrap()]);
    let mut c = emu.conn();
    let tasks = c.get_json("/_emulator/tasks");
    assert!(tasks["tasks"][0]["nextRunAt"].is_string(), "{tasks}");
    assert!(tasks["tasks"][1]["nextRunAt"].is_null(), "{tasks}");
    assert_eq!(tasks["tasks"][1]["enabled"], false);

    let deadline = Instant::now() + Duration::from_secs(6);
    let runs = loop {
        let list = c.get_json("/_emulator/executions?task=tick");
        let runs = list["executions"].as_array().unwrap().clone();
        let finished = runs.iter().filter(|e| e["status"] == "completed").count();
        if finished >= 2 {
            break runs;
        }
        assert!(Instant::now() < deadline, "tick did not run twice: {list}");
        std::thread::sleep(Duration::from_millis(100));
    };
    // A scheduled execution is an ordinary one: getTaskStatus answers it.
    let id = runs[0]["taskId"].as_str().unwrap();
    assert_eq!(c.status("ck", id).json()["scheduledTaskName"], "tick");
    let off = c.get_json("/_emulator/executions?task=off");
    assert_eq!(off["executions"].as_array().unwrap().len(), 0, "{off}");
    // runOnce still runs a disabled task, and does not change any schedule.
    let id = c.run_once("ck", "off").task_id();
    assert_eq!(
        c.wait_finished("ck", &id, Duration::from_secs(5))["status"],
        "completed"
    );
    let tasks = c.get_json("/_emulator/tasks");
    assert!(tasks["tasks"][1]["nextRunAt"].is_null(), "{tasks}");
}

#[test]
fn restart_with_data_dir_keeps_executions() {
    let dir = TempDir::new("data");
    let data = dir.path().join("data");
    let cfg = dir.write(
        "app.toml",
        r#"
[[client_keys]]
key = "ck"

[[tasks]]
name = "quick"
service = { type = "simulated", duration = "10ms" }

[[tasks]]
name = "slow"
service = { type = "simulated", duration = "30s" }
"#,
    );
    let args = [
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--workers",
        "1",
    ];
    let mut emu = Emulator::start(&args);
    let mut c = emu.conn();
    let quick = c.run_once("ck", "quick").task_id();
    let done = c.wait_finished("ck", &quick, Duration::from_secs(5));
    assert_eq!(done["status"], "completed");
    let slow = c.run_once("ck", "slow").task_id();
    c.wait_for("ck", &slow, Duration::from_secs(5), |v| {
        v["status"] == "processing"
    });
    // The only worker is busy: this one stays pending.
    let queued = c.run_once("ck", "quick").task_id();
    assert_eq!(c.status("ck", &queued).json()["status"], "pending");
    // No pause: what was answered is already written.
    emu.kill9();

    let emu = Emulator::start(&args);
    let mut c = emu.conn();
    assert_eq!(
        c.status("ck", &quick).json(),
        done,
        "a finished execution survives as it was"
    );
    let v = c.status("ck", &slow).json();
    assert_eq!(v["status"], "errors", "{v}");
    assert_eq!(v["errors"]["code"], "interrupted");
    assert!(is_iso_ms(v["completedAt"].as_str().unwrap()));
    let v = c.wait_finished("ck", &queued, Duration::from_secs(5));
    assert_eq!(
        v["status"], "completed",
        "a pending execution runs after the restart: {v}"
    );
    let log = emu.stderr_with(" interrupted");
    assert!(log.contains("1 interrupted"), "{log}");
    // New ids never collide with the old ones.
    let fresh = c.run_once("ck", "quick").task_id();
    assert!(![&quick, &slow, &queued].contains(&&fresh));
}

/// `conns` connections each sending `per_conn` runOnce; returns the ids, all distinct.
fn hammer(port: u16, conns: usize, per_conn: usize) -> Vec<String> {
    let started = Instant::now();
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Conn::new(port);
                (0..per_conn)
                    .map(|_| c.run_once("ck", "zero").task_id())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let took = started.elapsed();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), conns * per_conn);
    eprintln!("{} runOnce in {took:?}", ids.len());
    assert!(took < Duration::from_secs(30), "{took:?}");
    ids
}

/// Every id answers getTaskStatus and reaches `completed` (bounded wait).
fn all_completed(c: &mut Conn, ids: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in ids {
        loop {
            let v = c.status("ck", id).json();
            assert_eq!(v["taskId"], id.as_str(), "{v}");
            if v["status"] == "completed" {
                break;
            }
            assert!(Instant::now() < deadline, "{v}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

const ZERO_TASK: &str = r#"
[[client_keys]]
key = "ck"
[[tasks]]
name = "zero"
service = { type = "simulated", duration = "0s" }
"#;

#[test]
fn load_every_execution_is_kept() {
    let dir = TempDir::new("load");
    let cfg = dir.write("app.toml", ZERO_TASK);
    let emu = Emulator::start(&["--config", cfg.to_str().unwrap()]);
    let ids = hammer(emu.port, 4, 500);
    let mut c = emu.conn();
    all_completed(&mut c, &ids);
    let list = c.get_json("/_emulator/executions?limit=1");
    assert_eq!(list["total"], 2000);
}

#[test]
fn load_with_data_dir_survives_a_restart() {
    let dir = TempDir::new("loaddb");
    let cfg = dir.write("app.toml", ZERO_TASK);
    let data = dir.path().join("data");
    let args = [
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let mut emu = Emulator::start(&args);
    let ids = hammer(emu.port, 4, 250);
    all_completed(&mut emu.conn(), &ids);
    let st = emu
        .signal_and_wait("INT", Duration::from_secs(5))
        .expect("exits on SIGINT");
    assert!(st.success());
    let emu = Emulator::start(&args);
    let mut c = emu.conn();
    all_completed(&mut c, &ids);
    assert_eq!(c.get_json("/_emulator/executions?limit=1")["total"], 1000);
}

#[test]
fn a_running_command_dies_with_the_emulator() {
    let dir = TempDir::new("orphan");
    let pidfile = dir.path().join("pid");
    let cfg = dir.write(
        "app.toml",
        &format!(
            r#"
[[client_keys]]
key = "ck"
[[tasks]]
name = "long"
service = {{ type = "command", argv = ["/bin/sh", "-c", "echo $$ > '{}'; exec sleep 30"] }}
"#,
            pidfile.display()
        ),
    );
    let mut emu = Emulator::start(&["--config", cfg.to_str().unwrap()]);
    let mut c = emu.conn();
    let id = c.run_once("ck", "long").task_id();
    c.wait_for("ck", &id, Duration::from_secs(5), |v| {
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
    emu.kill9();
    let proc = format!("/proc/{pid}");
    let deadline = Instant::now() + Duration::from_secs(5);
    // Gone, or a zombie waiting for init to reap it.
    while std::fs::read_to_string(format!("{proc}/stat"))
        .is_ok_and(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
    {
        assert!(
            Instant::now() < deadline,
            "the command outlived the emulator"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
