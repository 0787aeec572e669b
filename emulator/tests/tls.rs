//! HTTPS with --tls-cert and --tls-key, with certificates made at run time: a client that
//! trusts only the test's CA gets answers by name and by address; plain HTTP and garbage
//! are refused without harming the server; bad or missing files are usage errors.

mod common;

use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

fn tls_args(certs: &TempDir) -> Vec<String> {
    let p = |f: &str| certs.path().join(f).to_str().unwrap().to_string();
    vec![
        "--tls-cert".into(),
        p("server.pem"),
        "--tls-key".into(),
        p("server.key"),
    ]
}

/// A client that trusts the test's CA and nothing else (blocking calls over reqwest's
/// async client, on a runtime of its own).
struct Client {
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl Client {
    fn get(&self, url: &str) -> reqwest::Result<(u16, String)> {
        self.send(self.http.get(url).header("X-Client-Key", DEMO_KEY))
    }

    fn send(&self, req: reqwest::RequestBuilder) -> reqwest::Result<(u16, String)> {
        self.rt.block_on(async {
            let r = req.send().await?;
            let status = r.status().as_u16();
            Ok((status, r.text().await?))
        })
    }
}

fn client(certs: &TempDir) -> Client {
    let ca = std::fs::read(certs.path().join("ca.pem")).unwrap();
    let http = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    Client { http, rt }
}

fn run_once(c: &Client, base: &str) -> serde_json::Value {
    let (status, body) = c
        .send(
            c.http
                .post(format!("{base}/_api/rest/v1/task"))
                .header("X-Client-Key", DEMO_KEY)
                .header("Content-Type", "application/json")
                .body(r#"{"taskNameOrId":"billOnDemand"}"#),
        )
        .unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn https_answers_and_plain_http_is_refused() {
    let certs = make_certs();
    let emu = Emulator::start_limited(&tls_args(&certs), &[]);
    assert_eq!(emu.scheme, "https");
    let c = client(&certs);
    let by_address = format!("https://127.0.0.1:{}", emu.port);
    let by_name = format!("https://localhost:{}", emu.port);

    let run = run_once(&c, &by_address);
    assert_eq!(run["status"], "pending");
    let id = run["taskId"].as_str().unwrap();
    let (_, status) = c.get(&format!("{by_name}/_api/rest/v1/task/{id}")).unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["taskId"], id);

    // Plain HTTP on the TLS port: no HTTP answer, the connection is closed.
    let mut plain = TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
    plain
        .write_all(b"GET /_emulator/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let (closed, got) = closed_within(&mut plain, Duration::from_secs(5));
    assert!(closed, "the plain-HTTP connection was left open");
    assert!(
        !String::from_utf8_lossy(&got).contains("HTTP/1."),
        "{got:?}"
    );
    // Garbage likewise, and the tiny test client sees a broken connection.
    let mut junk = TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
    junk.write_all(&[0u8, 0xff, 0x13, 0x37, b'\n'].repeat(64))
        .unwrap();
    assert!(closed_within(&mut junk, Duration::from_secs(5)).0);
    assert!(emu
        .conn()
        .try_request("GET", "/_emulator/tasks", &[], None)
        .is_err());

    // The server is unharmed: HTTPS still works, on a new connection and the old one.
    assert_eq!(run_once(&client(&certs), &by_name)["status"], "pending");
    assert_eq!(run_once(&c, &by_address)["status"], "pending");
    let log = emu.stderr_with("TLS handshake failed");
    assert!(log.contains("TLS handshake failed"), "{log}");
}

#[test]
fn an_untrusted_certificate_is_not_accepted_by_clients() {
    let certs = make_certs();
    let other = make_certs();
    let emu = Emulator::start_limited(&tls_args(&certs), &[]);
    let url = format!("https://localhost:{}/_emulator/tasks", emu.port);
    let err = client(&other).get(&url).unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    // ... and that failed handshake did not harm the server either.
    assert_eq!(client(&certs).get(&url).unwrap().0, 200);
}

#[test]
fn bad_tls_files_are_usage_errors() {
    let certs = make_certs();
    let dir = TempDir::new("badtls");
    let cert = certs.path().join("server.pem");
    let key = certs.path().join("server.key");
    let other = make_certs();
    let garbage = dir.write("garbage.pem", "this is not PEM\n");
    let missing = dir.path().join("missing.pem");
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--tls-cert".into(), s(&cert)], "--tls-key"),
        (vec!["--tls-key".into(), s(&key)], "--tls-cert"),
        (
            vec![
                "--tls-cert".into(),
                s(&missing),
                "--tls-key".into(),
                s(&key),
            ],
            "missing.pem: cannot read it",
        ),
        (
            vec![
                "--tls-cert".into(),
                s(&cert),
                "--tls-key".into(),
                s(&missing),
            ],
            "missing.pem: cannot read it",
        ),
        (
            // A directory cannot be read as a file (chmod does not stop root).
            vec![
                "--tls-cert".into(),
                s(dir.path()),
                "--tls-key".into(),
                s(&key),
            ],
            "cannot read it",
        ),
        (
            vec![
                "--tls-cert".into(),
                s(&garbage),
                "--tls-key".into(),
                s(&key),
            ],
            "no certificate in it",
        ),
        (
            vec![
                "--tls-cert".into(),
                s(&cert),
                "--tls-key".into(),
                s(&garbage),
            ],
            "no private key in it",
        ),
        (
            // The key is a certificate.
            vec!["--tls-cert".into(), s(&cert), "--tls-key".into(), s(&cert)],
            "no private key in it",
        ),
        (
            vec![
                "--tls-cert".into(),
                s(&cert),
                "--tls-key".into(),
                s(&other.path().join("server.key")),
            ],
            "does not go with --tls-cert",
        ),
    ];
    for (args, want) in cases {
        let out = run_bounded(
            Command::new(BIN)
                .args(["--listen", "127.0.0.1:0"])
                .args(&args),
            Duration::from_secs(10),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_silent_connection_to_the_https_port_is_cut_off_after_the_header_timeout() {
    let certs = make_certs();
    let mut args = tls_args(&certs);
    args.extend(["--header-timeout".to_string(), "1s".to_string()]);
    let emu = Emulator::start_limited(&args, &[]);
    // No handshake at all.
    let mut silent = TcpStream::connect(("127.0.0.1", emu.port)).unwrap();
    let started = std::time::Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(5)).0);
    assert!(started.elapsed() >= Duration::from_millis(900));
    let log = emu.stderr_with("TLS handshake did not end");
    assert!(
        log.contains("the TLS handshake did not end within --header-timeout"),
        "{log}"
    );
    // HTTPS still works.
    assert_eq!(
        run_once(&client(&certs), &format!("https://localhost:{}", emu.port))["status"],
        "pending"
    );
}
