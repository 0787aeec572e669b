//! A SOCKS5 proxy on 127.0.0.1 for the tests (RFC 1928, with RFC 1929's user name and
//! password when asked to demand them). Like the HTTP proxy fixture, it connects every
//! destination to 127.0.0.1 (keeping the port), so a test can name a made-up host, which a
//! `socks5h://` client leaves to the proxy to resolve. It records each destination asked.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The credentials the fixture demands when it demands any.
pub const USER: &str = "sockser";
pub const PASSWORD: &str = "s0cks-pw";

pub struct SocksFixture {
    /// `socks5h://127.0.0.1:PORT`, without credentials.
    pub url: String,
    /// The destinations asked, `host:port` as the client sent them.
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl SocksFixture {
    /// `require_auth`: only [`USER`] and [`PASSWORD`] are let through.
    pub fn start(require_auth: bool) -> SocksFixture {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("socks5h://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&seen);
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let recorded = Arc::clone(&recorded);
                thread::spawn(move || {
                    let _ = serve(client, require_auth, &recorded);
                });
            }
        });
        SocksFixture { url, seen }
    }

    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn read_exact<const N: usize>(stream: &mut TcpStream) -> std::io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    stream.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn read_string(stream: &mut TcpStream) -> std::io::Result<String> {
    let [length] = read_exact::<1>(stream)?;
    let mut bytes = vec![0u8; usize::from(length)];
    stream.read_exact(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn serve(
    mut client: TcpStream,
    require_auth: bool,
    seen: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let [version, count] = read_exact::<2>(&mut client)?;
    let mut methods = vec![0u8; usize::from(count)];
    client.read_exact(&mut methods)?;
    if version != 5 {
        return Ok(());
    }
    let method = if require_auth { 2 } else { 0 };
    if !methods.contains(&method) {
        client.write_all(&[5, 0xff])?;
        return Ok(());
    }
    client.write_all(&[5, method])?;
    if require_auth {
        let [_subversion] = read_exact::<1>(&mut client)?;
        let user = read_string(&mut client)?;
        let password = read_string(&mut client)?;
        if user != USER || password != PASSWORD {
            client.write_all(&[1, 1])?;
            return Ok(());
        }
        client.write_all(&[1, 0])?;
    }
    let [_version, command, _reserved, address_type] = read_exact::<4>(&mut client)?;
    let host = match address_type {
        1 => Ipv4Addr::from(read_exact::<4>(&mut client)?).to_string(),
        3 => read_string(&mut client)?,
        4 => format!("[{}]", Ipv6Addr::from(read_exact::<16>(&mut client)?)),
        _ => return Ok(()),
    };
    let port = u16::from_be_bytes(read_exact::<2>(&mut client)?);
    seen.lock().unwrap().push(format!("{host}:{port}"));
    if command != 1 {
        client.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Ok(());
    }
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", port)) else {
        client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Ok(());
    };
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;
    client.set_read_timeout(None)?;
    relay(client, upstream)
}

/// Copies bytes both ways until either side closes.
fn relay(client: TcpStream, upstream: TcpStream) -> std::io::Result<()> {
    let (mut client_in, mut upstream_out) = (client.try_clone()?, upstream.try_clone()?);
    let forward = thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut upstream_out);
        let _ = upstream_out.shutdown(Shutdown::Write);
    });
    let (mut upstream_in, mut client_out) = (upstream, client);
    let _ = std::io::copy(&mut upstream_in, &mut client_out);
    let _ = client_out.shutdown(Shutdown::Both);
    let _ = forward.join();
    Ok(())
}
