//! A real HTTP/1.1 server on 127.0.0.1 that plays the Altogic task endpoints and, on
//! request, misbehaves: error bodies of every shape, non-JSON bodies, redirects, bodies
//! that are too large, answers that trickle in one byte at a time or never come.
//!
//! It is written on plain sockets on purpose: a serving framework would hide exactly what
//! these tests need to control (framing, pacing, stalls) and to observe (the raw request
//! line and headers, which TCP connection carried a request).
//!
//! The scenario is chosen by the task name (runOnce) or the task id (getTaskStatus); see
//! [`scenario`]. Any other name echoes the request back inside a TaskInfo (`_request`,
//! `_connection`), so a test can check what went on the wire.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

const TASK_PATH: &str = "/_api/rest/v1/task";
/// No connection is kept longer than this without a request: every test ends by itself.
const IDLE_LIMIT: Duration = Duration::from_secs(10);
/// The longest a stalling scenario holds an answer back.
const STALL_LIMIT: Duration = Duration::from_secs(5);
pub const BIG_BODY_BYTES: usize = 64 * 1024;
/// Requests with a larger body are reset unread.
pub const HUGE_REQUEST_BYTES: usize = 1024 * 1024;

#[derive(Default)]
struct State {
    polls: Mutex<HashMap<String, u32>>,
    /// How many requests each key received, for `count-of-KEY`.
    seen: Mutex<HashMap<String, u32>>,
    connections: AtomicUsize,
    /// Concurrent "slow" requests now, and the most seen at once.
    slow_in_flight: AtomicUsize,
    slow_max_in_flight: AtomicUsize,
    /// How long a connection may sit idle before the fixture closes it, silently.
    idle_limit: Duration,
    /// Whether every answer says `Keep-Alive: timeout=N` with N the idle limit in seconds,
    /// as Node's servers do.
    announces_idle_limit: bool,
}

/// A running fixture; it serves until the process ends.
pub struct Fixture {
    pub url: String,
}

impl Fixture {
    pub fn start() -> Fixture {
        Fixture::start_closing_idle_after(IDLE_LIMIT)
    }

    /// A fixture that closes a kept-alive connection idle for `idle_limit`, without a
    /// `Connection: close` or any other word, as gunicorn, uvicorn and many proxies do.
    pub fn start_closing_idle_after(idle_limit: Duration) -> Fixture {
        Fixture::serve(State {
            idle_limit,
            ..State::default()
        })
    }

    /// A fixture that closes a kept-alive connection idle for `seconds` and says so in every
    /// answer (`Keep-Alive: timeout=N`), as Node's servers do (N = 5 there).
    pub fn start_announcing_idle_limit(seconds: u64) -> Fixture {
        Fixture::serve(State {
            idle_limit: Duration::from_secs(seconds),
            announces_idle_limit: true,
            ..State::default()
        })
    }

    fn serve(state: State) -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(state);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&state);
                let id = state.connections.fetch_add(1, Ordering::SeqCst) + 1;
                thread::spawn(move || serve_connection(stream, id, &state));
            }
        });
        Fixture { url }
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse::<usize>().ok())
        .unwrap_or(0);
    if length > HUGE_REQUEST_BYTES {
        // Closing with the body unread makes the kernel reset the connection while the
        // client is still writing: what raises SIGPIPE in a client that does not guard.
        return None;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

enum Reply {
    Full {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
        extra_headers: Vec<(&'static str, String)>,
    },
    /// Sent with chunked encoding and no Content-Length.
    Chunked { body: Vec<u8> },
    /// Headers announce the length, then one byte every 100 ms.
    Drip { body: Vec<u8> },
    /// Reads the request and never answers (until [`STALL_LIMIT`]).
    Stall,
}

fn json_reply(status: u16, body: Value) -> Reply {
    Reply::Full {
        status,
        content_type: "application/json",
        body: body.to_string().into_bytes(),
        extra_headers: Vec::new(),
    }
}

fn raw_reply(status: u16, content_type: &'static str, body: &str) -> Reply {
    Reply::Full {
        status,
        content_type,
        body: body.as_bytes().to_vec(),
        extra_headers: Vec::new(),
    }
}

fn serve_connection(stream: TcpStream, connection: usize, state: &State) {
    let _ = stream.set_read_timeout(Some(state.idle_limit));
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let key = request_key(&request);
        if key.starts_with("reset-") {
            // Read the request, answer nothing, close: the client sees a reset or EOF.
            bump(&state.seen, &key);
            return;
        }
        let mut reply = route(&request, connection, state);
        if let Reply::Full { extra_headers, .. } = &mut reply {
            if state.announces_idle_limit {
                let seconds = state.idle_limit.as_secs();
                extra_headers.push(("Keep-Alive", format!("timeout={seconds}")));
            }
        }
        let says_close = key.starts_with("says-close");
        if let Reply::Full { extra_headers, .. } = &mut reply {
            if says_close {
                extra_headers.push(("Connection", "close".to_owned()));
            }
        }
        if write_reply(&mut writer, reply).is_err() {
            return;
        }
        if says_close || key.starts_with("close-after") {
            // Answered without `Connection: close`, then closed: what a server that drops
            // kept-alive connections does.
            let _ = writer.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}

fn write_reply(out: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Full {
            status,
            content_type,
            body,
            extra_headers,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
                reason(status),
                body.len()
            );
            for (name, value) in extra_headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            out.write_all(head.as_bytes())?;
            out.write_all(&body)
        }
        Reply::Chunked { body } => {
            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")?;
            for chunk in body.chunks(4096) {
                out.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                out.write_all(chunk)?;
                out.write_all(b"\r\n")?;
            }
            out.write_all(b"0\r\n\r\n")
        }
        Reply::Drip { body } => {
            out.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )?;
            let pause = Duration::from_millis(100);
            let most = (STALL_LIMIT.as_millis() / pause.as_millis()) as usize;
            for byte in body.iter().take(most) {
                out.write_all(std::slice::from_ref(byte))?;
                out.flush()?;
                thread::sleep(pause);
            }
            // Give up without finishing: the client must have timed out long before.
            Err(std::io::Error::other("drip ended"))
        }
        Reply::Stall => {
            thread::sleep(STALL_LIMIT);
            Err(std::io::Error::other("stall ended"))
        }
    }
}

fn route(request: &Request, connection: usize, state: &State) -> Reply {
    let path = request.target.as_str();
    if request.method == "POST" && path == TASK_PATH {
        let name = serde_json::from_slice::<Value>(&request.body)
            .ok()
            .and_then(|body| body.get("taskNameOrId")?.as_str().map(str::to_owned));
        return match name {
            Some(name) => scenario(&name, "pending", request, connection, state),
            None => json_reply(
                400,
                json!({"errors":[{"origin":"client_error","code":"invalid_request_body","message":"fixture: taskNameOrId missing","details":null}]}),
            ),
        };
    }
    if let Some(segment) = path.strip_prefix(&format!("{TASK_PATH}/")) {
        if request.method == "GET" && !segment.contains('/') && !segment.contains('?') {
            let id = percent_encoding::percent_decode_str(segment)
                .decode_utf8_lossy()
                .into_owned();
            return scenario(&id, "completed", request, connection, state);
        }
    }
    json_reply(
        404,
        json!({"errors":[{"origin":"client_error","code":"wrong_path","message":format!("fixture: no route for {} {}", request.method, path),"details":null}]}),
    )
}

fn huge_zeros() -> &'static str {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        let mut body = String::with_capacity(8_000_002);
        body.push('[');
        body.push_str(&"0,".repeat(3_999_999));
        body.push_str("0]");
        body
    })
}

fn task_info(key: &str, status: &str) -> Value {
    json!({
        "taskId": "6237b225b9a84d607cd79044",
        "scheduledTaskId": "6237b1f17c2a9625f0b2119e",
        "scheduledTaskName": key,
        "triggeredAt": "2022-03-20T23:00:53.966Z",
        "status": status,
    })
}

fn error_entry(code: &str) -> Value {
    json!({"origin":"client_error","code":code,"message":format!("fixture says {code}"),"details":null})
}

/// Counts how often `key` was asked for, from 1.
fn poll(state: &State, key: &str) -> u32 {
    bump(&state.polls, key)
}

fn bump(counts: &Mutex<HashMap<String, u32>>, key: &str) -> u32 {
    let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
    let count = counts.entry(key.to_owned()).or_insert(0);
    *count += 1;
    *count
}

/// The task name of a runOnce or the task id of a getTaskStatus.
fn request_key(request: &Request) -> String {
    if let Some(segment) = request.target.strip_prefix(&format!("{TASK_PATH}/")) {
        return percent_encoding::percent_decode_str(segment)
            .decode_utf8_lossy()
            .into_owned();
    }
    serde_json::from_slice::<Value>(&request.body)
        .ok()
        .and_then(|body| body.get("taskNameOrId")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The scenarios, by task name or id.
fn scenario(
    key: &str,
    default_status: &str,
    request: &Request,
    connection: usize,
    state: &State,
) -> Reply {
    if let Some(status) = key.strip_prefix("zeros-") {
        // A JSON array of 4,000,000 zeros (8 MB) as an error body.
        return raw_reply(
            status.parse().unwrap_or(400),
            "application/json",
            huge_zeros(),
        );
    }
    if let Some(status) = key.strip_prefix("many-items-") {
        let item = r#"{"origin":"client_error","code":"bad","message":"one of many"},"#;
        let mut body = format!(r#"{{"errors":[{}"#, item.repeat(100_000));
        body.pop();
        body.push_str("]}");
        return raw_reply(status.parse().unwrap_or(400), "application/json", &body);
    }
    if key == "huge-item" {
        // One item of 3 MB: a message of 1 MB and details of 2 MB.
        let body = json!({"errors":[{"code":"huge","message":"m".repeat(1 << 20),
            "details":{"blob":"d".repeat(2 << 20)}}]});
        return json_reply(422, body);
    }
    if let Some(rest) = key.strip_prefix("seq-errors-") {
        return match poll(state, key) {
            1 => json_reply(200, task_info(rest, "pending")),
            _ => {
                let mut info = task_info(rest, "errors");
                info["errors"] = json!({"code":"job_failed","message":"the routed service failed"});
                json_reply(200, info)
            }
        };
    }
    if let Some(rest) = key.strip_prefix("seq-") {
        let status = match poll(state, key) {
            1 => "pending",
            2 => "processing",
            _ => "completed",
        };
        return json_reply(200, task_info(rest, status));
    }
    if let Some(counted) = key.strip_prefix("count-of-") {
        let seen = state.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut info = task_info(key, "completed");
        info["seen"] = json!(seen.get(counted).copied().unwrap_or(0));
        return json_reply(200, info);
    }
    if let Some(rest) = key.strip_prefix("counted-") {
        bump(&state.seen, key);
        return json_reply(200, task_info(rest, default_status));
    }
    if let Some(rest) = key.strip_prefix("flaky-") {
        // processing, then 503, 429, a reset connection, a non-JSON 502, then completed.
        return match poll(state, key) {
            1 => json_reply(200, task_info(rest, "processing")),
            2 => json_reply(503, json!({"errors":[error_entry("overloaded")]})),
            3 => json_reply(429, json!({"errors":"slow down"})),
            4 => raw_reply(502, "text/html", "<html>bad gateway</html>"),
            _ => json_reply(200, task_info(rest, "completed")),
        };
    }
    if let Some(rest) = key.strip_prefix("down-") {
        return match poll(state, key) {
            1 => json_reply(200, task_info(rest, "processing")),
            _ => json_reply(503, json!({"errors":[error_entry("down")]})),
        };
    }
    if key.starts_with("close-after") || key.starts_with("says-close") {
        return json_reply(200, task_info(key, default_status));
    }
    if let Some(rest) = key.strip_prefix("forever-") {
        return json_reply(200, task_info(rest, "processing"));
    }
    if let Some(rest) = key.strip_prefix("vanish-") {
        return match poll(state, key) {
            1 => json_reply(200, task_info(rest, "processing")),
            _ => raw_reply(200, "application/json", "null"),
        };
    }
    if let Some(rest) = key.strip_prefix("deny-after-1-") {
        return match poll(state, key) {
            1 => json_reply(200, task_info(rest, "processing")),
            _ => json_reply(403, json!({"errors":[error_entry("forbidden")]})),
        };
    }
    match key {
        "error-array" => json_reply(404, json!({"errors":[error_entry("not_found")]})),
        "error-object" => json_reply(400, json!({"errors":error_entry("validation_error")})),
        "error-bare-array" => json_reply(403, json!([error_entry("forbidden")])),
        "error-single" => json_reply(409, error_entry("conflict")),
        "error-odd-items" => json_reply(
            400,
            json!({"errors":["plain text", 7, {"code":"only_code","extra":{"n":1}}, {"message":"only message"}]}),
        ),
        "spelling" => raw_reply(
            200,
            "application/json",
            "{ \"taskId\": \"6237b225b9a84d607cd79044\",\n  \"status\": \"completed\",\n  \"n\": [1e400, -0, 1.50, 1E5, 12345678901234567890123] }",
        ),
        "error-html" => raw_reply(502, "text/html", "<html>\n<body>Bad gateway</body></html>"),
        "error-text-404" => raw_reply(404, "text/plain", "no such thing"),
        "not-json-ok" => raw_reply(200, "text/plain", "hello"),
        "json-array-ok" => raw_reply(200, "application/json", "[1,2]"),
        // 1.0 passed this through, and Python's json.loads then raised RecursionError.
        "deep-ok" => raw_reply(
            200,
            "application/json",
            &format!(
                "{{\"taskId\":\"t\",\"x\":{}1{}}}",
                "[".repeat(50_000),
                "]".repeat(50_000)
            ),
        ),
        "expired-null" => raw_reply(200, "application/json", "null"),
        "expired-empty" => raw_reply(200, "application/json", ""),
        "invalid-session" => json_reply(
            401,
            json!({"errors":[error_entry("invalid_session_token")]}),
        ),
        "missing-session" => json_reply(
            401,
            json!({"errors":[error_entry("missing_session_token")]}),
        ),
        "redirect" => Reply::Full {
            status: 302,
            content_type: "text/plain",
            body: b"moved".to_vec(),
            extra_headers: vec![("Location", "http://127.0.0.1:9/elsewhere".to_owned())],
        },
        "big" => json_reply(200, big_info(key)),
        "big-chunked" => Reply::Chunked {
            body: big_info(key).to_string().into_bytes(),
        },
        "drip" => Reply::Drip {
            body: task_info(key, "pending").to_string().into_bytes(),
        },
        "stall" => Reply::Stall,
        "slow" => {
            let now = state.slow_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            state.slow_max_in_flight.fetch_max(now, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(300));
            state.slow_in_flight.fetch_sub(1, Ordering::SeqCst);
            let mut info = echo(key, default_status, request, connection);
            info["maxInFlight"] = json!(state.slow_max_in_flight.load(Ordering::SeqCst));
            json_reply(200, info)
        }
        _ => json_reply(200, echo(key, default_status, request, connection)),
    }
}

fn big_info(key: &str) -> Value {
    let mut info = task_info(key, "completed");
    info["padding"] = json!("x".repeat(BIG_BODY_BYTES));
    info
}

/// A TaskInfo carrying the request as received, plus fields the library must pass through
/// untouched (key order, number spelling, nesting, non-ASCII text).
fn echo(key: &str, status: &str, request: &Request, connection: usize) -> Value {
    let mut info = task_info(key, status);
    let headers: Vec<Value> = request
        .headers
        .iter()
        .map(|(name, value)| json!([name, value]))
        .collect();
    info["futureField"] = serde_json::from_str(
        r#"{"zeta":1,"alpha":[2.50,12345678901234567890123],"text":"çağrı ✓"}"#,
    )
    .expect("valid JSON");
    info["_request"] = json!({
        "method": request.method,
        "path": request.target,
        "headers": headers,
        "body": String::from_utf8_lossy(&request.body),
    });
    info["_connection"] = json!(connection);
    info
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        429 => "Too Many Requests",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Other",
    }
}
