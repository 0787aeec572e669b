//! An HTTP proxy on 127.0.0.1 for the tests: CONNECT tunnels for `https://` targets and
//! absolute-form requests for `http://` ones, like squid or a corporate proxy. It resolves
//! every host name to 127.0.0.1 itself (keeping the port), so a test can use a made-up name
//! such as `app.altogic.test` without any resolver. It records what it was asked, and can
//! demand credentials (407), refuse tunnels (403) or close connections unanswered.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
    /// Carries every request.
    Carry,
    /// Answers 407 to a request without the right `Proxy-Authorization`.
    RequireAuth,
    /// Answers 403 to every CONNECT.
    RefuseTunnels,
    /// Closes every connection without answering.
    Close,
}

/// What the proxy was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub target: String,
    pub proxy_authorization: Option<String>,
}

pub struct ProxyFixture {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// `Basic base64(user:password)` as the tests' proxy expects it: `tester:s3cret`.
pub const EXPECTED_AUTHORIZATION: &str = "Basic dGVzdGVyOnMzY3JldA==";

impl ProxyFixture {
    pub fn start(behaviour: Behaviour) -> ProxyFixture {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let record = Arc::clone(&record);
                thread::spawn(move || {
                    let _ = handle(stream, behaviour, &record);
                });
            }
        });
        ProxyFixture { url, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn handle(
    client: TcpStream,
    behaviour: Behaviour,
    record: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(());
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    let mut authorization = None;
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Ok(());
        }
        let trimmed = header.trim_end().to_owned();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').unwrap_or((&trimmed, ""));
        if name.eq_ignore_ascii_case("proxy-authorization") {
            authorization = Some(value.trim().to_owned());
            continue;
        }
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap_or(0);
        }
        if !name.eq_ignore_ascii_case("connection")
            && !name.eq_ignore_ascii_case("proxy-connection")
        {
            headers.push(trimmed);
        }
    }
    record.lock().unwrap().push(Seen {
        method: method.clone(),
        target: target.clone(),
        proxy_authorization: authorization.clone(),
    });
    let mut client = client;
    match behaviour {
        Behaviour::Close => return client.shutdown(Shutdown::Both),
        Behaviour::RequireAuth if authorization.as_deref() != Some(EXPECTED_AUTHORIZATION) => {
            return client.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        Behaviour::RefuseTunnels if method == "CONNECT" => {
            return client.write_all(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        _ => {}
    }
    if method == "CONNECT" {
        let port = target.rsplit_once(':').map_or("443", |(_, port)| port);
        let upstream = TcpStream::connect(format!("127.0.0.1:{port}"))?;
        client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")?;
        return pump(reader, client, upstream);
    }
    // Absolute form: http://host:port/path → 127.0.0.1:port, origin form, one request.
    let without_scheme = target.strip_prefix("http://").unwrap_or(&target);
    let (authority, path) = without_scheme
        .split_once('/')
        .map_or((without_scheme, "/".to_owned()), |(a, p)| {
            (a, format!("/{p}"))
        });
    let port = authority.rsplit_once(':').map_or("80", |(_, port)| port);
    let mut upstream = TcpStream::connect(format!("127.0.0.1:{port}"))?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for header in headers {
        request.push_str(&header);
        request.push_str("\r\n");
    }
    request.push_str("Connection: close\r\n\r\n");
    upstream.write_all(request.as_bytes())?;
    upstream.write_all(&body)?;
    // One answer with a Content-Length, passed on whole (the fixture keeps its side open).
    upstream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut answer_reader = BufReader::new(upstream);
    let mut answer = Vec::new();
    let mut answer_length = 0usize;
    loop {
        let mut header = String::new();
        if answer_reader.read_line(&mut header)? == 0 {
            break;
        }
        if let Some((name, value)) = header.trim_end().split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                answer_length = value.trim().parse().unwrap_or(0);
            }
        }
        if header == "\r\n" {
            // This proxy carries one request per connection, and says so.
            answer.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        if !header.to_ascii_lowercase().starts_with("connection:") {
            answer.extend_from_slice(header.as_bytes());
        }
    }
    let mut answer_body = vec![0; answer_length];
    answer_reader.read_exact(&mut answer_body)?;
    answer.extend_from_slice(&answer_body);
    client.write_all(&answer)?;
    client.shutdown(Shutdown::Both)
}

fn pump(
    mut from_client: BufReader<TcpStream>,
    mut client: TcpStream,
    upstream: TcpStream,
) -> std::io::Result<()> {
    let mut to_upstream = upstream.try_clone()?;
    let mut from_upstream = upstream;
    let forward = thread::spawn(move || {
        // Whatever the client sent after the CONNECT head is already in the reader's buffer.
        let _ = std::io::copy(&mut from_client, &mut to_upstream);
        let _ = to_upstream.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut from_upstream, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = forward.join();
    Ok(())
}
