//! Shared helpers: spawn the real binary on 127.0.0.1 port 0 (killed on drop), a tiny
//! keep-alive HTTP/1.1 client, temp dirs, throw-away certificates.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_altogic-emulator");
pub const DEMO_KEY: &str = "demo-client-key";

/// A temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "altogic-emu-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The running emulator; killed (SIGKILL) and reaped on drop, on every path.
pub struct Emulator {
    pub child: Option<Child>,
    pub port: u16,
    /// `http`, or `https` with --tls-cert.
    pub scheme: &'static str,
    pub stderr_path: PathBuf,
    _logs: TempDir,
}

impl Emulator {
    /// Starts the binary with `args` (plus `--listen 127.0.0.1:0`) and waits for its
    /// "listening" line.
    pub fn start(args: &[&str]) -> Emulator {
        Emulator::start_with(args, None)
    }

    /// Like [`Emulator::start`], with the files the emulator writes limited to
    /// `max_file_bytes` (RLIMIT_FSIZE, which binds root too): once its database would grow
    /// past that, every write fails with EFBIG, as on a full disk. Its stderr goes through
    /// a pipe (copied to the log file by a thread here), so the limit does not cut it off.
    pub fn start_with<S: AsRef<std::ffi::OsStr>>(
        args: &[S],
        max_file_bytes: Option<u64>,
    ) -> Emulator {
        let limits: Vec<_> = max_file_bytes
            .map(|b| (libc::RLIMIT_FSIZE, b))
            .into_iter()
            .collect();
        Emulator::start_limited(args, &limits)
    }

    /// Like [`Emulator::start`], with the resource limits `limits` (RLIMIT_*, value) set
    /// on the emulator's process. With RLIMIT_FSIZE its stderr goes through a pipe (copied to
    /// the log file by a thread here), so the limit does not cut it off.
    pub fn start_limited<S: AsRef<std::ffi::OsStr>>(
        args: &[S],
        limits: &[(libc::__rlimit_resource_t, u64)],
    ) -> Emulator {
        let logs = TempDir::new("log");
        let stderr_path = logs.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if limits.iter().any(|(r, _)| *r == libc::RLIMIT_FSIZE) {
            cmd.stderr(Stdio::piped());
        } else {
            cmd.stderr(stderr.try_clone().unwrap());
        }
        if !limits.is_empty() {
            use std::os::unix::process::CommandExt;
            let limits = limits.to_vec();
            // SAFETY: setrlimit is async-signal-safe; nothing else runs before exec.
            unsafe {
                cmd.pre_exec(move || {
                    for (resource, limit) in &limits {
                        let lim = libc::rlimit {
                            rlim_cur: *limit,
                            rlim_max: *limit,
                        };
                        if libc::setrlimit(*resource, &lim) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().expect("the emulator starts");
        if let Some(mut pipe) = child.stderr.take() {
            let mut file = stderr;
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 || file.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
        let stdout = child.stdout.take().unwrap();
        let mut emu = Emulator {
            child: Some(child),
            port: 0,
            scheme: "http",
            stderr_path,
            _logs: logs,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no listening line; stderr: {}", emu.stderr()));
        let url = line
            .trim_end()
            .strip_prefix("altogic-emulator listening on ")
            .unwrap_or_else(|| panic!("unexpected line {line:?}; stderr: {}", emu.stderr()));
        let (scheme, port) = url
            .strip_prefix("http://127.0.0.1:")
            .map(|p| ("http", p))
            .or_else(|| url.strip_prefix("https://127.0.0.1:").map(|p| ("https", p)))
            .unwrap_or_else(|| panic!("unexpected line {line:?}; stderr: {}", emu.stderr()));
        emu.port = port.parse().unwrap();
        emu.scheme = scheme;
        emu
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The emulator's stderr once it contains `needle`, or after 5 s: it logs from a thread
    /// of its own, so a line may still be on its way when a request was already answered.
    pub fn stderr_with(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let log = self.stderr();
            if log.contains(needle) || std::time::Instant::now() >= deadline {
                return log;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn conn(&self) -> Conn {
        Conn::new(self.port)
    }

    /// SIGKILL now (a crash).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `sig` ("TERM", "INT") and waits up to `within` for the exit status.
    pub fn signal_and_wait(
        &mut self,
        sig: &str,
        within: Duration,
    ) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        Command::new("kill")
            .args([format!("-{sig}"), child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(st) = child.try_wait().unwrap() {
                self.child = None;
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The `taskId` of a successful runOnce answer.
    pub fn task_id(&self) -> String {
        assert_eq!(self.status, 200, "{}", self.body);
        self.json()["taskId"].as_str().unwrap().to_string()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The single error code of an `{"errors":[...]}` body (checks the shape).
    pub fn error_code(&self) -> String {
        let v = self.json();
        let items = v["errors"].as_array().expect("errors array");
        assert_eq!(items.len(), 1, "{v}");
        let item = items[0].as_object().unwrap();
        let keys: Vec<&str> = item.keys().map(String::as_str).collect();
        assert_eq!(keys, ["origin", "code", "message", "details"], "{v}");
        assert!(item["message"].as_str().is_some_and(|m| !m.is_empty()));
        let origin = if self.status >= 500 {
            "server_error"
        } else {
            "client_error"
        };
        assert_eq!(item["origin"], origin);
        item["code"].as_str().unwrap().to_string()
    }
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    port: u16,
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn new(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s.set_nodelay(true).unwrap();
        Conn {
            port,
            reader: BufReader::new(s),
        }
    }

    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A request whose transport may fail (the server went away): `Err` then.
    pub fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> std::io::Result<Response> {
        let broken = |what: &str| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, what);
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
            self.port
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        if let Some(b) = body {
            req.push_str(b);
        }
        self.reader.get_mut().write_all(req.as_bytes())?;

        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(broken("connection closed before the status line"));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| broken("bad status line"))?;
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if self.reader.read_line(&mut h)? == 0 {
                return Err(broken("connection closed in the headers"));
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').ok_or_else(|| broken("bad header"))?;
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if method == "HEAD" {
        } else if let Some(len) = get("content-length") {
            body.resize(len.parse().map_err(|_| broken("bad length"))?, 0);
            self.reader.read_exact(&mut body)?;
        } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            loop {
                let mut sz = String::new();
                self.reader.read_line(&mut sz)?;
                let n = usize::from_str_radix(sz.trim(), 16).map_err(|_| broken("bad chunk"))?;
                let mut chunk = vec![0; n + 2];
                self.reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        Ok(Response {
            status,
            headers,
            body: String::from_utf8(body).map_err(|_| broken("body is not UTF-8"))?,
        })
    }

    /// runOnce whose transport may fail (the server went away).
    pub fn try_run_once(&mut self, key: &str, task: &str) -> std::io::Result<Response> {
        let body = serde_json::json!({ "taskNameOrId": task }).to_string();
        self.try_request(
            "POST",
            "/_api/rest/v1/task",
            &[("X-Client-Key", key)],
            Some(&body),
        )
    }

    pub fn run_once(&mut self, key: &str, task: &str) -> Response {
        let body = serde_json::json!({ "taskNameOrId": task }).to_string();
        self.request(
            "POST",
            "/_api/rest/v1/task",
            &[("X-Client-Key", key)],
            Some(&body),
        )
    }

    pub fn status(&mut self, key: &str, task_id: &str) -> Response {
        self.request(
            "GET",
            &format!("/_api/rest/v1/task/{task_id}"),
            &[("X-Client-Key", key)],
            None,
        )
    }

    pub fn get_json(&mut self, path: &str) -> Value {
        let r = self.request("GET", path, &[], None);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    /// Polls getTaskStatus until `done` holds (or panics after `within`).
    pub fn wait_for(
        &mut self,
        key: &str,
        task_id: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let r = self.status(key, task_id);
            assert_eq!(r.status, 200, "{}", r.body);
            let v = r.json();
            if done(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting; last: {v}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_finished(&mut self, key: &str, task_id: &str, within: Duration) -> Value {
        self.wait_for(key, task_id, within, |v| {
            matches!(v["status"].as_str(), Some("completed" | "errors"))
        })
    }
}

/// Runs a command to completion with a bound on its run time.
pub fn run_bounded(cmd: &mut Command, within: Duration) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + within;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("command did not finish within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn is_iso_ms(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && s.ends_with('Z')
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A throw-away CA and a server certificate it signed for localhost, 127.0.0.1 and ::1,
/// made by `scripts/make-certs.sh` (the commands emulator/README.md shows): `ca.pem`,
/// `server.pem`, `server.key` in the returned directory.
pub fn make_certs() -> TempDir {
    let dir = TempDir::new("certs");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/make-certs.sh");
    let out = run_bounded(
        Command::new("bash").arg(script).arg(dir.path()),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "make-certs.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Whether the server closed `s` (EOF or reset) within `within`, reading and discarding
/// whatever it sent first; the bytes it sent.
pub fn closed_within(s: &mut TcpStream, within: Duration) -> (bool, Vec<u8>) {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (false, got);
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (true, got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (false, got)
            }
            Err(_) => return (true, got),
        }
    }
}
