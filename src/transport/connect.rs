//! How a pool opens a connection: TCP, then TLS for `https://`, each through the client's
//! proxy when it has one.
//!
//! - No proxy: TCP to the service, TLS on top for `https://`.
//! - Through a proxy (TLS to the proxy itself when it is `https://`): an `https://` service
//!   is reached through a CONNECT tunnel, with TLS to the service inside it; an `http://`
//!   one gets its requests in absolute form on the proxy's connection, as curl and Go send
//!   them. `Proxy-Authorization` goes on the CONNECT request here, and on each absolute-form
//!   request in [`super::send`].
//!
//! The whole of it (name lookup, TCP, TLS handshakes, the tunnel) is bounded by
//! `connectTimeoutMs`.
//!
//! SIGPIPE: a write on a socket the peer has reset raises SIGPIPE, whose default action ends
//! the process, and a C or C++ host usually keeps that default (Rust programs, Python and Go
//! ignore it). Every write on a connection's socket, TLS records included, is a
//! `sendmsg(MSG_NOSIGNAL)` ([`NoSignal`]): the write fails with EPIPE and nothing is raised,
//! with no change to the process's dispositions or the thread's signal mask, and no system
//! call besides the write itself.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use crate::client::ConnectionSettings;
use crate::proxy::Proxy;
use crate::tls;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Idle time before the first keep-alive probe, and between probes.
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);
/// How long sent data may stay unacknowledged before the connection fails.
#[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// The most a proxy's answer to CONNECT may hold before its blank line.
const MAX_TUNNEL_ANSWER_BYTES: usize = 8 * 1024;

/// A byte stream a connection runs on: TCP, TLS over TCP, or TLS inside a tunnel over TLS.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// Opens connections for one [`ConnectionSettings`]; cheap to clone (the pool clones it for
/// every request).
#[derive(Clone)]
pub struct Connector(Arc<Settings>);

struct Settings {
    tcp: HttpConnector,
    /// Present when the service or the proxy speaks TLS.
    tls: Option<TlsConnector>,
    proxy: Option<ProxyRoute>,
    connect_timeout: Duration,
}

struct ProxyRoute {
    /// `scheme://host:port`, without credentials: where the TCP connection goes.
    address: Uri,
    proxy: Proxy,
}

impl Connector {
    pub fn new(settings: &ConnectionSettings) -> Result<Connector, String> {
        let mut tcp = HttpConnector::new();
        // The URI's scheme says whether TLS follows, which is this connector's business.
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        // Split between a name's addresses; the whole connection is bounded below as well.
        tcp.set_connect_timeout(Some(settings.connect_timeout));
        // The socket options 1.0 had through reqwest: a peer that vanished is noticed by
        // keep-alive probes, and data it never acknowledges fails the connection after 30 s.
        tcp.set_keepalive(Some(TCP_KEEPALIVE));
        tcp.set_keepalive_interval(Some(TCP_KEEPALIVE));
        tcp.set_keepalive_retries(Some(3));
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        tcp.set_tcp_user_timeout(Some(TCP_USER_TIMEOUT));
        let tls = settings.uses_tls.then(|| {
            let config = match &settings.extra_trust {
                Some(extra) => extra.config(),
                None => tls::default_config(),
            };
            TlsConnector::from(config)
        });
        let proxy = match &settings.proxy {
            None => None,
            Some(proxy) => Some(ProxyRoute {
                address: proxy
                    .shown()
                    .parse()
                    .map_err(|err| format!("the proxy address is unusable: {err}"))?,
                proxy: proxy.clone(),
            }),
        };
        Ok(Connector(Arc::new(Settings {
            tcp,
            tls,
            proxy,
            connect_timeout: settings.connect_timeout,
        })))
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, target: Uri) -> Self::Future {
        let settings = Arc::clone(&self.0);
        Box::pin(async move {
            let limit = settings.connect_timeout;
            match tokio::time::timeout(limit, settings.connect(target)).await {
                Ok(result) => result,
                Err(_elapsed) => Err(Box::new(ConnectTimedOut(limit)) as BoxError),
            }
        })
    }
}

impl Settings {
    async fn connect(&self, target: Uri) -> Result<Stream, BoxError> {
        let to_tls = target.scheme_str() == Some("https");
        let host = target.host().ok_or("the URL has no host")?;
        let Some(route) = &self.proxy else {
            let tcp: Box<dyn Io> = Box::new(self.tcp_to(target.clone()).await?);
            let io = if to_tls {
                self.tls_to(host, tcp).await?
            } else {
                tcp
            };
            return Ok(Stream::new(io, false));
        };
        let tcp: Box<dyn Io> = Box::new(self.tcp_to(route.address.clone()).await?);
        let to_proxy = if route.proxy.is_https() {
            let proxy_host = route.address.host().ok_or("the proxy has no host")?;
            self.tls_to(proxy_host, tcp).await?
        } else {
            tcp
        };
        if !to_tls {
            return Ok(Stream::new(to_proxy, true));
        }
        let port = target.port_u16().unwrap_or(443);
        let tunnel = open_tunnel(to_proxy, host, port, route.proxy.authorization()).await?;
        Ok(Stream::new(self.tls_to(host, tunnel).await?, false))
    }

    async fn tcp_to(&self, address: Uri) -> Result<NoSignal, BoxError> {
        let mut tcp = self.tcp.clone();
        std::future::poll_fn(|cx| tower_service::Service::poll_ready(&mut tcp, cx)).await?;
        let stream = tower_service::Service::call(&mut tcp, address).await?;
        Ok(NoSignal(stream.into_inner()))
    }

    /// TLS to `host` (a name, or an address in or out of brackets) over `io`.
    async fn tls_to(&self, host: &str, io: Box<dyn Io>) -> Result<Box<dyn Io>, BoxError> {
        let connector = self
            .tls
            .as_ref()
            .ok_or("TLS is needed but was not configured")?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(bare.to_owned())?;
        Ok(Box::new(connector.connect(name, io).await?))
    }
}

/// Asks the proxy on `io` for a tunnel to `host:port`; answers the tunnel.
async fn open_tunnel(
    mut io: Box<dyn Io>,
    host: &str,
    port: u16,
    authorization: Option<&http::HeaderValue>,
) -> Result<Box<dyn Io>, BoxError> {
    let authority = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut ask = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
    if let Some(authorization) = authorization {
        ask.extend_from_slice(b"Proxy-Authorization: ");
        ask.extend_from_slice(authorization.as_bytes());
        ask.extend_from_slice(b"\r\n");
    }
    ask.extend_from_slice(b"\r\n");
    io.write_all(&ask).await?;
    io.flush().await?;
    // TLS to the service starts with this side speaking, so nothing of the tunnel can come
    // before this side's ClientHello: the answer ends at the end of what was read.
    let mut answer = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    while !answer.windows(4).any(|four| four == b"\r\n\r\n") {
        if answer.len() >= MAX_TUNNEL_ANSWER_BYTES {
            return Err(format!(
                "the proxy's answer to CONNECT is longer than {MAX_TUNNEL_ANSWER_BYTES} bytes"
            )
            .into());
        }
        let read = io.read(&mut chunk).await?;
        if read == 0 {
            return Err(
                "the proxy closed the connection before answering the CONNECT request".into(),
            );
        }
        answer.extend_from_slice(&chunk[..read]);
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    match parsed.parse(&answer) {
        Ok(httparse::Status::Complete(length)) if length == answer.len() => {}
        Ok(httparse::Status::Complete(_)) => {
            return Err("the proxy sent bytes after its answer to CONNECT".into())
        }
        _ => return Err("the proxy's answer to CONNECT is not HTTP".into()),
    }
    match parsed.code {
        Some(200..=299) => Ok(io),
        status => Err(Box::new(TunnelRefused { status })),
    }
}

/// The proxy answered CONNECT with something other than 2xx.
#[derive(Debug)]
pub struct TunnelRefused {
    pub status: Option<u16>,
}

impl std::fmt::Display for TunnelRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "the proxy answered CONNECT with HTTP {status}"),
            None => f.write_str("the proxy refused the CONNECT request"),
        }
    }
}

impl std::error::Error for TunnelRefused {}

/// The connection was not made within `connectTimeoutMs`.
#[derive(Debug)]
pub struct ConnectTimedOut(pub Duration);

impl std::fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no connection within {} ms", self.0.as_millis())
    }
}

impl std::error::Error for ConnectTimedOut {}

/// A TCP stream whose writes never raise SIGPIPE (see the top of this module).
struct NoSignal(tokio::net::TcpStream);

impl AsyncRead for NoSignal {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl NoSignal {
    fn poll_send(&self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.0.poll_write_ready(cx))?;
            // WouldBlock clears the readiness tokio recorded: the loop then waits for more.
            match self.0.try_io(tokio::io::Interest::WRITABLE, || {
                send_no_signal(&self.0, bufs)
            }) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                sent => return Poll::Ready(sent),
            }
        }
    }
}

#[cfg(unix)]
fn send_no_signal(stream: &tokio::net::TcpStream, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    socket2::SockRef::from(stream).send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
}

// No SIGPIPE off Unix: a plain write.
#[cfg(not(unix))]
fn send_no_signal(stream: &tokio::net::TcpStream, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    let first = bufs
        .iter()
        .find(|buf| !buf.is_empty())
        .map_or(&[][..], |buf| &buf[..]);
    stream.try_write(first)
}

impl AsyncWrite for NoSignal {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        cfg!(unix)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// An open connection, as the pool holds it.
pub struct Stream {
    io: TokioIo<Box<dyn Io>>,
    /// Requests on it go in absolute form (`http://` through a proxy).
    absolute_form: bool,
}

impl Stream {
    fn new(io: Box<dyn Io>, absolute_form: bool) -> Stream {
        Stream {
            io: TokioIo::new(io),
            absolute_form,
        }
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new().proxy(self.absolute_form)
    }
}

impl Read for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// What `open_tunnel` makes of a proxy that answers `answer` (then closes), and the
    /// request the proxy received.
    fn tunnel_through(answer: &'static [u8]) -> (Result<(), BoxError>, String) {
        runtime().block_on(async {
            let (client, mut proxy) = tokio::io::duplex(64 * 1024);
            let proxy = tokio::spawn(async move {
                let mut asked = Vec::new();
                while !asked.ends_with(b"\r\n\r\n") {
                    let mut byte = [0u8; 1];
                    if proxy.read(&mut byte).await.unwrap() == 0 {
                        break;
                    }
                    asked.push(byte[0]);
                }
                proxy.write_all(answer).await.unwrap();
                String::from_utf8(asked).unwrap()
            });
            let authorization = http::HeaderValue::from_static("Basic dTpw");
            let opened = open_tunnel(Box::new(client), "[::1]", 8443, Some(&authorization))
                .await
                .map(drop);
            (opened, proxy.await.unwrap())
        })
    }

    #[test]
    fn a_tunnel_is_asked_for_with_the_authority_and_credentials() {
        let (opened, asked) = tunnel_through(b"HTTP/1.1 200 Connection established\r\n\r\n");
        opened.unwrap();
        assert_eq!(
            asked,
            "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\
             Proxy-Authorization: Basic dTpw\r\n\r\n"
        );
    }

    #[test]
    fn a_refused_tunnel_says_with_what_status() {
        let (opened, _) = tunnel_through(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
        let error = opened.unwrap_err();
        assert_eq!(
            error.downcast_ref::<TunnelRefused>().unwrap().status,
            Some(407)
        );
    }

    #[test]
    fn odd_proxy_answers_are_errors_never_tunnels() {
        for (answer, why) in [
            (
                &b"HTTP/1.1 200 OK\r\n\r\nextra"[..],
                "bytes after its answer",
            ),
            (&b"SSH-2.0-OpenSSH\r\n\r\n"[..], "not HTTP"),
            (&b"HTTP/1.1 200 OK\r\n"[..], "closed the connection"),
        ] {
            let (opened, _) = tunnel_through(answer);
            let error = opened.unwrap_err().to_string();
            assert!(error.contains(why), "{error}");
        }
    }

    #[test]
    fn an_endless_proxy_answer_is_cut_off() {
        let answer: &'static [u8] = Box::leak(
            format!(
                "HTTP/1.1 200 OK\r\nX: {}\r\n\r\n",
                "y".repeat(MAX_TUNNEL_ANSWER_BYTES)
            )
            .into_bytes()
            .into_boxed_slice(),
        );
        let (opened, _) = tunnel_through(answer);
        let error = opened.unwrap_err().to_string();
        assert!(error.contains("longer than"), "{error}");
    }

    #[test]
    fn sockets_keep_the_options_of_1_0() {
        runtime().block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address: Uri = format!("http://{}", listener.local_addr().unwrap())
                .parse()
                .unwrap();
            let settings = crate::client::Client::new(
                "http://127.0.0.1:9",
                "k",
                crate::client::ClientOptions::default(),
            )
            .unwrap()
            .connection()
            .clone();
            let Connector(connector) = Connector::new(&settings).unwrap();
            let stream = connector.tcp_to(address).await.unwrap();
            let socket = socket2::SockRef::from(&stream.0);
            assert!(socket.tcp_nodelay().unwrap());
            assert!(socket.keepalive().unwrap());
            assert_eq!(socket.tcp_keepalive_time().unwrap(), TCP_KEEPALIVE);
            #[cfg(target_os = "linux")]
            assert_eq!(socket.tcp_user_timeout().unwrap(), Some(TCP_USER_TIMEOUT));
        });
    }
}
