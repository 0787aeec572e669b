//! The emulator defends itself: connections whose request head trickles in or never comes
//! are cut off after --header-timeout (a body that never comes is answered 400 after it),
//! idle keep-alive ones after --idle-timeout; at most
//! --max-connections are open, and idle sockets cannot lock a real request out for longer
//! than the header timeout, also under a low open-file limit; --listen beyond loopback
//! needs --allow-remote.

mod common;

use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

const HEAD: &[u8] =
    b"GET /_emulator/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: trickle\r\n\r\n";

/// Sends `HEAD` one byte every 200 ms on a thread until the server closes the connection;
/// how many bytes went out by then.
fn trickle(s: &TcpStream) -> std::thread::JoinHandle<usize> {
    let mut s = s.try_clone().unwrap();
    std::thread::spawn(move || {
        for (i, b) in HEAD.iter().enumerate() {
            if s.write_all(&[*b]).is_err() {
                return i;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        HEAD.len()
    })
}

#[test]
fn a_trickling_head_is_cut_off_after_the_header_timeout() {
    let emu = Emulator::start(&["--header-timeout", "1s", "--idle-timeout", "30s"]);
    // The first request of a connection.
    let mut s = TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
    let started = Instant::now();
    let sender = trickle(&s);
    let (closed, got) = closed_within(&mut s, Duration::from_secs(6));
    assert!(closed, "a trickling head was not cut off");
    let took = started.elapsed();
    assert!(got.is_empty(), "{got:?}");
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");
    drop(s);
    assert!(sender.join().unwrap() < HEAD.len());

    // A later request on a keep-alive connection: the header timeout runs from its first
    // byte, not the idle timeout (30 s) from the last answer.
    let mut c = emu.conn();
    assert_eq!(c.run_once(DEMO_KEY, "billOnDemand").status, 200);
    let mut s = TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
    s.write_all(b"GET /_emulator/tasks HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let sender = trickle(&s);
    let (closed, got) = closed_within(&mut s, Duration::from_secs(6));
    assert!(closed, "a trickling second head was not cut off");
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert!(started.elapsed() < Duration::from_secs(6));
    drop(s);
    sender.join().unwrap();
    let log = emu.stderr_with("did not fully arrive");
    assert!(
        log.contains("the request head did not fully arrive within --header-timeout"),
        "{log}"
    );
    // The server is fine.
    assert_eq!(emu.conn().run_once(DEMO_KEY, "billOnDemand").status, 200);
}

#[test]
fn a_body_that_never_comes_is_answered_400_after_the_header_timeout() {
    let emu = Emulator::start(&["--header-timeout", "1s"]);
    let mut s = TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
    s.write_all(
        b"POST /_api/rest/v1/task HTTP/1.1\r\nHost: x\r\nX-Client-Key: demo-client-key\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"taskNa",
    )
    .unwrap();
    let started = Instant::now();
    let (closed, got) = closed_within(&mut s, Duration::from_secs(6));
    let got = String::from_utf8_lossy(&got);
    assert!(closed, "left open; got {got:?}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(got.starts_with("HTTP/1.1 400"), "{got}");
    assert!(got.contains("invalid_request_body"), "{got}");
    assert!(
        got.contains("did not fully arrive within --header-timeout"),
        "{got}"
    );
    // No execution was made.
    let list = emu
        .conn()
        .get_json("/_emulator/executions?task=billOnDemand");
    assert_eq!(list["total"], 0);
}

#[test]
fn silent_and_idle_connections_are_closed() {
    let emu = Emulator::start(&["--header-timeout", "1s", "--idle-timeout", "2s"]);
    // Sends nothing at all: closed after the header timeout.
    let mut silent = TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(5)).0);
    assert!(started.elapsed() >= Duration::from_millis(900));

    // Idle after an answer: still usable within the idle timeout, closed after it.
    let mut c = emu.conn();
    assert_eq!(c.run_once(DEMO_KEY, "billOnDemand").status, 200);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(c.run_once(DEMO_KEY, "billOnDemand").status, 200);
    let mut idle = TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
    idle.write_all(b"GET /_emulator/tasks HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let (closed, got) = closed_within(&mut idle, Duration::from_secs(6));
    assert!(closed, "an idle connection was left open");
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert!(started.elapsed() >= Duration::from_millis(1800));
    let log = emu.stderr_with("idle for longer than --idle-timeout");
    assert!(
        log.contains("no request arrived within --header-timeout"),
        "{log}"
    );
    assert!(log.contains("idle for longer than --idle-timeout"), "{log}");
}

#[test]
fn over_max_connections_a_request_waits_until_idle_ones_are_cut_off() {
    let emu = Emulator::start(&["--header-timeout", "1s", "--max-connections", "4"]);
    let first_idle = Instant::now();
    let mut idle: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(("127.0.0.1", emu.port)).unwrap())
        .collect();
    // Let the emulator accept them all before the real request connects (it accepts in
    // the order of the backlog anyway).
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let mut c = emu.conn();
    let r = c.run_once(DEMO_KEY, "billOnDemand");
    let waited = started.elapsed();
    assert_eq!(r.status, 200);
    // It was not accepted before a slot was free: the idle ones go 1 s after their accept,
    // which came after they connected.
    let since_idle = first_idle.elapsed();
    assert!(
        since_idle >= Duration::from_millis(950),
        "served {since_idle:?} after the idle sockets connected"
    );
    assert!(waited < Duration::from_secs(6), "served after {waited:?}");
    for s in &mut idle {
        assert!(closed_within(s, Duration::from_secs(5)).0);
    }
    let log = emu.stderr();
    assert!(log.contains("at most 4 open"), "{log}");
}

#[test]
fn hundreds_of_idle_sockets_under_ulimit_n_256() {
    let emu = Emulator::start_limited(&["--header-timeout", "2s"], &[(libc::RLIMIT_NOFILE, 256)]);
    let log = emu.stderr_with("connections: at most");
    // The limit is lowered to fit the file descriptors.
    assert!(!log.contains("at most 512 open"), "{log}");
    let idle: Vec<TcpStream> = (0..400)
        .map(|_| TcpStream::connect(("127.0.0.1", emu.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let mut c = emu.conn();
    let r = c.run_once(DEMO_KEY, "billOnDemand");
    let waited = started.elapsed();
    assert_eq!(r.status, 200);
    println!(
        "served after {waited:?} behind 400 idle sockets (--header-timeout 2s, ulimit -n 256)"
    );
    // At most about one header timeout (generous bound: a busy machine).
    assert!(waited < Duration::from_secs(8), "served after {waited:?}");
    drop(idle);
    // And it keeps serving.
    let id = c.run_once(DEMO_KEY, "billOnDemand").task_id();
    c.wait_finished(DEMO_KEY, &id, Duration::from_secs(5));
}

#[test]
fn listening_beyond_loopback_needs_allow_remote() {
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let out = run_bounded(
            Command::new(BIN).args(["--listen", addr]),
            Duration::from_secs(10),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{addr}: {err}");
        assert!(err.contains("is not a loopback address"), "{addr}: {err}");
        assert!(err.contains("--allow-remote"), "{addr}: {err}");
        assert!(out.stdout.is_empty());
    }
    // Loopback by name and as IPv6 is fine (Emulator::start listens on 127.0.0.1:0).
    for addr in ["localhost:0", "[::1]:0", "127.0.0.2:0"] {
        let (mut child, line, _) = start_on(addr, &[]);
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            line.starts_with("altogic-emulator listening on http://"),
            "{addr}: {line:?}"
        );
    }
    // With --allow-remote: served, with a warning on stderr.
    let (mut child, line, log) = start_on("0.0.0.0:0", &["--allow-remote"]);
    let port = line
        .trim_end()
        .strip_prefix("altogic-emulator listening on http://0.0.0.0:")
        .and_then(|p| p.parse::<u16>().ok());
    let status = port.map(|p| Conn::new(p).run_once(DEMO_KEY, "billOnDemand").status);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, Some(200), "{line:?}");
    let log = std::fs::read_to_string(log.path().join("stderr")).unwrap();
    assert!(
        log.contains("warning: listening on 0.0.0.0:") && log.contains("anyone who reaches"),
        "{log}"
    );
}

/// Starts the emulator on `addr`: the child, its stdout line, and a directory with its
/// `stderr`.
fn start_on(addr: &str, args: &[&str]) -> (std::process::Child, String, TempDir) {
    let dir = TempDir::new("listen");
    let mut child = Command::new(BIN)
        .args(["--listen", addr])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (child, line, dir)
}
