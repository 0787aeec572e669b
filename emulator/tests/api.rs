//! The two endpoints of the wire contract (docs/protocol.md) against the running binary:
//! lifecycle, auth, errors, retention, the /_emulator views (which show no credentials),
//! startup and shutdown.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn lifecycle_and_timestamps() {
    let emu = Emulator::start(&[]);
    let mut c = emu.conn();

    let r = c.run_once(DEMO_KEY, "billOnDemand");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let v = r.json();
    assert_eq!(
        keys(&v),
        [
            "taskId",
            "scheduledTaskId",
            "scheduledTaskName",
            "triggeredAt",
            "status"
        ]
    );
    assert_eq!(v["status"], "pending");
    assert_eq!(v["scheduledTaskId"], "6237b1f17c2a9625f0b2119e");
    assert_eq!(v["scheduledTaskName"], "billOnDemand");
    let id = v["taskId"].as_str().unwrap().to_string();
    assert!(is_object_id(&id), "{id}");
    assert!(is_iso_ms(v["triggeredAt"].as_str().unwrap()), "{v}");

    let p = c.wait_for(DEMO_KEY, &id, Duration::from_secs(5), |v| {
        v["status"] != "pending"
    });
    let done = c.wait_finished(DEMO_KEY, &id, Duration::from_secs(5));
    assert!(matches!(
        p["status"].as_str(),
        Some("processing" | "completed")
    ));
    assert_eq!(
        keys(&done),
        [
            "taskId",
            "scheduledTaskId",
            "scheduledTaskName",
            "triggeredAt",
            "startedAt",
            "completedAt",
            "status"
        ]
    );
    assert_eq!(done["status"], "completed");
    assert_eq!(done["triggeredAt"], v["triggeredAt"]);
    let t = |k: &str| chrono::DateTime::parse_from_rfc3339(done[k].as_str().unwrap()).unwrap();
    for k in ["triggeredAt", "startedAt", "completedAt"] {
        assert!(is_iso_ms(done[k].as_str().unwrap()), "{k}: {done}");
    }
    assert!(t("triggeredAt") <= t("startedAt"));
    let ran = t("completedAt") - t("startedAt");
    assert!(ran >= chrono::Duration::milliseconds(190), "{done}");

    // By id, and the failing task.
    let r = c.run_once(DEMO_KEY, "6237b1f17c2a9625f0b2119f");
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["scheduledTaskName"], "failingTask");
    let id2 = v["taskId"].as_str().unwrap().to_string();
    assert_ne!(id, id2);
    let failed = c.wait_finished(DEMO_KEY, &id2, Duration::from_secs(5));
    assert_eq!(failed["status"], "errors");
    assert_eq!(failed["errors"]["code"], "simulated_failure");
    assert!(failed["errors"]["message"].as_str().is_some());
    assert_eq!(keys(&failed).last().unwrap(), "errors");

    // The stderr log has one line per request and per execution.
    let log = emu.stderr();
    assert!(log.contains("request POST /_api/rest/v1/task 200"), "{log}");
    assert!(
        log.contains(&format!("execution {id} of billOnDemand completed")),
        "{log}"
    );
}

#[test]
fn auth_cases() {
    let emu = Emulator::start(&[]);
    let mut c = emu.conn();
    let body = Some(r#"{"taskNameOrId":"billOnDemand"}"#);
    let post = |c: &mut Conn, h: &[(&str, &str)]| c.request("POST", "/_api/rest/v1/task", h, body);

    let r = post(&mut c, &[]);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "missing_client_key")
    );
    let r = post(&mut c, &[("X-Client-Key", "nope")]);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "invalid_client_key")
    );
    let r = post(&mut c, &[("X-Client-Key", "demo-client-key")]);
    let id = r.task_id();

    let r = post(&mut c, &[("X-Client-Key", "demo-session-key")]);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "missing_session_token")
    );
    let r = post(
        &mut c,
        &[("X-Client-Key", "demo-session-key"), ("Session", "bad")],
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "invalid_session_token")
    );
    let ok = [
        ("X-Client-Key", "demo-session-key"),
        ("Session", "demo-session-token"),
    ];
    let r = post(&mut c, &ok);
    assert_eq!(r.status, 200, "{}", r.body);

    // getTaskStatus is guarded the same way.
    let path = format!("/_api/rest/v1/task/{id}");
    let r = c.request("GET", &path, &[], None);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "missing_client_key")
    );
    let r = c.request("GET", &path, &[("X-Client-Key", "demo-session-key")], None);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "missing_session_token")
    );
    let r = c.request("GET", &path, &ok, None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["taskId"], id.as_str());
}

#[test]
fn api_keys() {
    let dir = TempDir::new("apikeys");
    let cfg = dir.write(
        "app.toml",
        r#"
api_keys = ["k1", "k2"]
[[client_keys]]
key = "ck"
[[tasks]]
name = "t"
service = { type = "simulated" }
"#,
    );
    let emu = Emulator::start(&["--config", cfg.to_str().unwrap()]);
    let mut c = emu.conn();
    let body = Some(r#"{"taskNameOrId":"t"}"#);
    let r = c.request(
        "POST",
        "/_api/rest/v1/task",
        &[("X-Client-Key", "ck")],
        body,
    );
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "missing_api_key")
    );
    let h = [("X-Client-Key", "ck"), ("Authorization", "Bearer k1")];
    let r = c.request("POST", "/_api/rest/v1/task", &h, body);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "invalid_api_key")
    );
    let h = [("X-Client-Key", "ck"), ("Authorization", "k2")];
    let r = c.request("POST", "/_api/rest/v1/task", &h, body);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    // A task without an id gets a stable generated one.
    assert!(is_object_id(v["scheduledTaskId"].as_str().unwrap()));
}

#[test]
fn not_found_bad_body_and_methods() {
    let emu = Emulator::start(&[]);
    let mut c = emu.conn();
    let k = [("X-Client-Key", DEMO_KEY)];

    let r = c.run_once(DEMO_KEY, "noSuchTask");
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));

    for bad in [
        "",
        "{",
        "not json",
        "[]",
        "{}",
        r#"{"taskNameOrId":5}"#,
        r#"{"taskNameOrId":null}"#,
        r#"{"name":"billOnDemand"}"#,
    ] {
        let r = c.request("POST", "/_api/rest/v1/task", &k, Some(bad));
        assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
        assert_eq!(r.error_code(), "invalid_request_body", "{bad:?}");
    }

    // Unknown and undecodable-looking ids answer null; the id is one decoded segment.
    for id in ["6237b1f17c2a9625f0b21100", "..%2Fx%3Fy", "a%20b"] {
        let r = c.status(DEMO_KEY, id);
        assert_eq!(r.status, 200, "{id}");
        assert_eq!(r.body.trim(), "null", "{id}");
    }

    let r = c.request("GET", "/_api/rest/v1/task", &k, None);
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (405, "method_not_allowed")
    );
    let r = c.request("DELETE", "/_api/rest/v1/task/abc", &k, None);
    assert_eq!(r.status, 405);
    let r = c.request("GET", "/_api/rest/v1/nothing", &k, None);
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
}

#[test]
fn retention_forgets_old_executions() {
    let emu = Emulator::start(&["--retention", "2s"]);
    let mut c = emu.conn();
    let id = c.run_once(DEMO_KEY, "billOnDemand").task_id();
    let done = c.wait_finished(DEMO_KEY, &id, Duration::from_secs(5));
    assert_eq!(done["status"], "completed");
    // (The demo's heartbeat may have run meanwhile: only billOnDemand's.)
    let list = c.get_json("/_emulator/executions?task=billOnDemand");
    assert_eq!(list["executions"][0]["taskId"], id.as_str());
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(c.status(DEMO_KEY, &id).json()["status"], "completed");
    let forgotten = c.wait_for(DEMO_KEY, &id, Duration::from_secs(4), Value::is_null);
    assert!(forgotten.is_null());
    let list = c.get_json("/_emulator/executions");
    assert!(list["executions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["taskId"] != id.as_str()));
}

#[test]
fn emulator_endpoints() {
    let emu = Emulator::start(&[]);
    let mut c = emu.conn();
    let tasks = c.get_json("/_emulator/tasks");
    let tasks = tasks["tasks"].as_array().unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["billOnDemand", "failingTask", "slowReport", "heartbeat"]
    );
    let ids: Vec<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "6237b1f17c2a9625f0b2119e",
            "6237b1f17c2a9625f0b2119f",
            "6237b1f17c2a9625f0b211a0",
            "6237b1f17c2a9625f0b211a1"
        ]
    );
    assert!(tasks[0]["nextRunAt"].is_null());
    assert!(
        is_iso_ms(tasks[3]["nextRunAt"].as_str().unwrap()),
        "{}",
        tasks[3]
    );
    assert!(tasks[3]["schedule"].as_str().is_some());

    let a = c.run_once(DEMO_KEY, "billOnDemand").json();
    let b = c.run_once(DEMO_KEY, "failingTask").json();
    let list = c.get_json("/_emulator/executions");
    // Newest first (the demo's heartbeat may have run meanwhile: left out).
    let ex: Vec<&Value> = list["executions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["scheduledTaskName"] != "heartbeat")
        .collect();
    assert_eq!(ex[0]["taskId"], b["taskId"]);
    assert_eq!(ex[1]["taskId"], a["taskId"]);
    let only = c.get_json("/_emulator/executions?task=failingTask&limit=5");
    assert!(only["executions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["scheduledTaskName"] == "failingTask"));
    let r = c.request("GET", "/_emulator/executions?status=bogus", &[], None);
    assert_eq!(r.status, 400);

    // `total` counts what the filter matches, not everything kept.
    let none = c.get_json("/_emulator/executions?task=noSuchTask");
    assert_eq!(none["total"], 0, "{none}");
    assert_eq!(none["executions"].as_array().unwrap().len(), 0);
    let c2 = c.run_once(DEMO_KEY, "failingTask").task_id();
    let failing = c.get_json("/_emulator/executions?task=failingTask&limit=1");
    assert_eq!(failing["total"], 2, "{failing}");
    assert_eq!(failing["executions"].as_array().unwrap().len(), 1);
    assert_eq!(failing["executions"][0]["taskId"], c2.as_str());
    let by_id = c.get_json("/_emulator/executions?task=6237b1f17c2a9625f0b2119e&limit=0");
    assert_eq!(by_id["total"], 1, "{by_id}");
}

#[test]
fn credentials_are_never_shown() {
    // A port nobody listens on: the hook's POST fails to connect.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = TempDir::new("secrets");
    let cfg = dir.write(
        "app.toml",
        &format!(
            r#"
[[client_keys]]
key = "ck"
[[tasks]]
name = "password"
timeout = "5s"
service = {{ type = "http", url = "http://alice:s3cret-pass@127.0.0.1:{port}/hook?x=1", headers = {{ X-Token = "hdr-s3cret" }} }}
[[tasks]]
name = "token"
timeout = "5s"
service = {{ type = "http", url = "http://tok3n-as-user@127.0.0.1:{port}/hook" }}
"#
        ),
    );
    let emu = Emulator::start(&["--config", cfg.to_str().unwrap()]);
    let mut c = emu.conn();
    let mut statuses = Vec::new();
    for task in ["password", "token"] {
        let id = c.run_once("ck", task).task_id();
        let done = c.wait_finished("ck", &id, Duration::from_secs(10));
        assert_eq!(done["errors"]["code"], "http_failed", "{done}");
        statuses.push(done.to_string());
    }
    let tasks = c.get_json("/_emulator/tasks").to_string();
    let executions = c.get_json("/_emulator/executions").to_string();
    let log = emu.stderr_with("of token errors");
    for (what, text) in [
        ("/_emulator/tasks", &tasks),
        ("/_emulator/executions", &executions),
        ("getTaskStatus", &statuses.join("\n")),
        ("stderr", &log),
    ] {
        for secret in ["s3cret-pass", "tok3n-as-user", "hdr-s3cret"] {
            assert!(!text.contains(secret), "{what} shows {secret}: {text}");
        }
    }
    let shown = format!("http://alice:***@127.0.0.1:{port}/hook?x=1");
    assert!(tasks.contains(&shown), "{tasks}");
    assert!(
        executions.contains(&format!("POST {shown} failed")),
        "{executions}"
    );
    assert!(log.contains(&shown), "{log}");
    assert!(
        tasks.contains(&format!("http://***@127.0.0.1:{port}/hook")),
        "{tasks}"
    );
}

#[test]
fn a_data_dir_that_is_a_file_is_refused() {
    let dir = TempDir::new("notdir");
    let file = dir.write("plain-file", "not a directory\n");
    let out = run_bounded(
        Command::new(BIN).args([
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            file.to_str().unwrap(),
        ]),
        Duration::from_secs(10),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a directory"), "{err}");
    assert!(!err.contains("File exists"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn http_service() {
    // A one-shot local hook: answers 204 to the first POST, 500 to the second.
    let hook = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hook.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for answer in ["204 No Content", "500 Internal Server Error"] {
            let (s, _) = hook.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut r = std::io::BufReader::new(s);
            let mut len = 0;
            loop {
                let mut line = String::new();
                std::io::BufRead::read_line(&mut r, &mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            std::io::Read::read_exact(&mut r, &mut body).unwrap();
            bodies.push(String::from_utf8(body).unwrap());
            let resp =
                format!("HTTP/1.1 {answer}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope");
            std::io::Write::write_all(r.get_mut(), resp.as_bytes()).unwrap();
        }
        bodies
    });
    let dir = TempDir::new("http");
    let cfg = dir.write(
        "app.toml",
        &format!(
            r#"
[[client_keys]]
key = "ck"
[[tasks]]
name = "hook"
timeout = "5s"
service = {{ type = "http", url = "http://127.0.0.1:{port}/hook" }}
"#
        ),
    );
    let emu = Emulator::start(&["--config", cfg.to_str().unwrap(), "--workers", "1"]);
    let mut c = emu.conn();
    let a = c.run_once("ck", "hook").task_id();
    let done = c.wait_finished("ck", &a, Duration::from_secs(10));
    assert_eq!(done["status"], "completed", "{done}");
    let b = c.run_once("ck", "hook").task_id();
    let failed = c.wait_finished("ck", &b, Duration::from_secs(10));
    assert_eq!(failed["status"], "errors", "{failed}");
    assert_eq!(failed["errors"]["httpStatus"], 500);
    let bodies = server.join().unwrap();
    let first: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(first["taskId"], a.as_str());
    assert_eq!(first["status"], "processing");
}

#[test]
fn bad_config_is_refused_with_file_and_line() {
    let dir = TempDir::new("badcfg");
    let cases = [
        (
            "[[client_keys]]\nkey = \"k\"\n\n[[tasks]]\nname = \"a\"\nid = \"not-hex\"\nservice = { type = \"simulated\" }\n",
            6,
            "24 hex",
        ),
        ("[[client_keys]]\nkey = \"k\"\ncolour = \"red\"\n", 3, "colour"),
        ("[[client_keys]]\nkey = \"k\"\n[[tasks]]\nname = \"a\"\n\nservice = { type = \"teleport\" }\n", 6, "teleport"),
        ("[[client_keys]]\nkey = \"k\"\n[[tasks]]\nname = \"a\"\ntimeout = \"soon\"\nservice = { type = \"simulated\" }\n", 5, "timeout"),
        ("[[client_keys]]\nkey = \"k\"\n[[tasks]]\nname = \"a\"\nschedule = { type = \"interval\", every = \"7m\" }\nservice = { type = \"simulated\" }\n", 5, "schedule"),
        ("[[client_keys]]\nkey = = \"k\"\n", 2, ""),
    ];
    for (i, (text, line, word)) in cases.iter().enumerate() {
        let name = format!("bad{i}.toml");
        let path = dir.write(&name, text);
        let out = run_bounded(
            Command::new(BIN).args([
                "--listen",
                "127.0.0.1:0",
                "--config",
                path.to_str().unwrap(),
            ]),
            Duration::from_secs(10),
        );
        assert!(!out.status.success(), "case {i} started");
        let err = String::from_utf8_lossy(&out.stderr);
        let want = format!("{}:{line}: ", path.display());
        assert!(err.contains(&want), "case {i}: want {want:?} in {err:?}");
        assert!(err.contains(word), "case {i}: want {word:?} in {err:?}");
        assert!(out.stdout.is_empty());
    }
    // The committed example loads (it starts and prints its address).
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/app.toml");
    let emu = Emulator::start(&["--config", example]);
    let tasks = emu.conn().get_json("/_emulator/tasks");
    let tasks = tasks["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 8);
    for t in tasks
        .iter()
        .filter(|t| t["enabled"] == true && !t["schedule"].is_null())
    {
        assert!(is_iso_ms(t["nextRunAt"].as_str().unwrap_or("")), "{t}");
    }
}

#[test]
fn port_in_use_help_and_sigterm() {
    let mut emu = Emulator::start(&[]);
    let addr = format!("127.0.0.1:{}", emu.port);
    let out = run_bounded(
        Command::new(BIN).args(["--listen", &addr]),
        Duration::from_secs(10),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen on"), "{err}");

    let out = run_bounded(Command::new(BIN).arg("--help"), Duration::from_secs(10));
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for s in [
        "--listen",
        "--config",
        "--retention",
        "--workers",
        "--data-dir",
        "--fsync",
        "--shutdown-grace",
        "--tls-cert",
        "--tls-key",
        "--header-timeout",
        "--idle-timeout",
        "--max-connections",
        "--allow-remote",
        "6237b1f17c2a9625f0b2119e",
        "6237b1f17c2a9625f0b2119f",
        "6237b1f17c2a9625f0b211a0",
        "6237b1f17c2a9625f0b211a1",
        "demo-session-token",
    ] {
        assert!(help.contains(s), "{s} missing from --help");
    }

    // An idle keep-alive connection does not hold up a clean shutdown.
    let mut c = emu.conn();
    assert_eq!(c.run_once(DEMO_KEY, "billOnDemand").status, 200);
    let started = Instant::now();
    let st = emu
        .signal_and_wait("TERM", Duration::from_secs(5))
        .expect("exits on SIGTERM");
    assert!(st.success(), "{st:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(emu.stderr().contains("SIGTERM"));
}
