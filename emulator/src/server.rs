//! Accepting connections and serving HTTP/1.1 on them, over TCP or TLS, with the limits that
//! keep slow, silent or idle clients from tying the emulator up:
//!
//! - a request head must have fully arrived `header_timeout` after the connection was
//!   accepted (its first request; the TLS handshake counts) or after the head's first byte
//!   (later requests), else the connection is closed;
//! - a request's body must have fully arrived `header_timeout` after its head, else reading
//!   it fails (the request is answered 400 and the connection closed);
//! - a keep-alive connection with no request in progress and no byte of a next one is
//!   closed after `idle_timeout`;
//! - at most `max_connections` are open at a time; further ones are not accepted (they wait
//!   in the kernel's listen backlog) until one closes.

use crate::log;
use crate::runner::until_set;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// File descriptors kept free of connections (the database, the log, pipes of command
/// services, connections of http services), beyond four per worker.
const RESERVED_FDS: usize = 64;

/// `wanted`, lowered so that open connections cannot use up the open-file limit (which
/// would make accept fail, and command services fail to start): the limit less
/// [`RESERVED_FDS`] and four per worker.
pub fn fit_connections(wanted: usize, workers: usize) -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0
        || lim.rlim_cur == libc::RLIM_INFINITY
    {
        return wanted;
    }
    let room = (lim.rlim_cur as usize).saturating_sub(RESERVED_FDS + 4 * workers);
    wanted.min(room.max(1))
}

/// Resolves `--listen` and refuses addresses beyond this machine unless `allow_remote`.
pub fn listen_addresses(listen: &str, allow_remote: bool) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .map_err(|e| format!("--listen {listen}: not an address (want HOST:PORT): {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("--listen {listen}: the name has no address"));
    }
    let remote: Vec<String> = addrs
        .iter()
        .filter(|a| !a.ip().to_canonical().is_loopback())
        .map(|a| a.ip().to_string())
        .collect();
    if !remote.is_empty() && !allow_remote {
        return Err(format!(
            "--listen {listen}: {} is not a loopback address, so other machines could reach \
             the emulator and run its tasks (command services included; the demo app's keys \
             are published). Listen on 127.0.0.1 or ::1, or pass --allow-remote if that is \
             what you want",
            remote.join(", ")
        ));
    }
    Ok(addrs)
}

/// What a connection is doing, for its deadlines.
struct Activity {
    state: Mutex<ActivityState>,
    changed: Notify,
}

struct ActivityState {
    /// Requests being answered.
    in_flight: usize,
    /// Whether a request was answered yet on this connection.
    answered: bool,
    /// When the connection was accepted, or its last request answered.
    since: Instant,
    /// When the first byte of the next request head arrived (none yet: `None`).
    head_started: Option<Instant>,
}

impl Activity {
    fn new(accepted: Instant) -> Activity {
        Activity {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                answered: false,
                since: accepted,
                head_started: None,
            }),
            changed: Notify::new(),
        }
    }

    /// Bytes arrived from the client.
    fn read_some(&self) {
        let mut s = self.state.lock().unwrap();
        if s.in_flight == 0 && s.head_started.is_none() {
            s.head_started = Some(Instant::now());
            drop(s);
            // The deadline may now be earlier than the one being waited for.
            self.changed.notify_one();
        }
    }

    /// A request's head arrived: no deadline until it is answered, which is when the
    /// returned guard is dropped.
    fn begin(self: &Arc<Self>) -> InFlight {
        let mut s = self.state.lock().unwrap();
        s.in_flight += 1;
        s.head_started = None;
        InFlight(self.clone())
    }

    fn end(&self) {
        let mut s = self.state.lock().unwrap();
        s.in_flight -= 1;
        if s.in_flight == 0 {
            s.answered = true;
            s.since = Instant::now();
            s.head_started = None;
        }
        drop(s);
        self.changed.notify_one();
    }

    /// When the connection is to be closed as it is now, and why.
    fn deadline(&self, limits: &Limits) -> Option<(Instant, &'static str)> {
        let s = self.state.lock().unwrap();
        if s.in_flight > 0 {
            None
        } else if !s.answered {
            // The first request: from the accept (the TLS handshake included).
            let why = if s.head_started.is_some() {
                "the request head did not fully arrive within --header-timeout"
            } else {
                "no request arrived within --header-timeout"
            };
            Some((s.since + limits.header_timeout, why))
        } else if let Some(at) = s.head_started {
            Some((
                at + limits.header_timeout,
                "the request head did not fully arrive within --header-timeout",
            ))
        } else {
            Some((
                s.since + limits.idle_timeout,
                "idle for longer than --idle-timeout",
            ))
        }
    }

    /// Resolves (with the reason) once a deadline has passed.
    async fn expired(&self, limits: &Limits) -> &'static str {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.deadline(limits) {
                None => changed.await,
                Some((at, why)) => {
                    if at <= Instant::now() {
                        return why;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = changed => {}
                    }
                }
            }
        }
    }
}

/// A stream that tells its [`Activity`] when bytes arrive.
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A request body that must have fully arrived by a deadline (`--header-timeout` after its
/// head): reading it fails after that, so a body that never comes cannot hold a request, and
/// its connection, in flight for ever.
struct TimedBody {
    inner: Incoming,
    /// `None` when the body is already complete (or empty).
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl TimedBody {
    fn new(inner: Incoming, within: Duration) -> TimedBody {
        let deadline = if hyper::body::Body::is_end_stream(&inner) {
            None
        } else {
            Some(Box::pin(tokio::time::sleep(within)))
        };
        TimedBody { inner, deadline }
    }
}

impl hyper::body::Body for TimedBody {
    type Data = hyper::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if let Some(deadline) = &mut self.deadline {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Some(Err(
                    "the request body did not fully arrive within --header-timeout".into(),
                )));
            }
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// A request in flight, from its head to its answer (or until it is dropped unanswered).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// The connections being served: accepted under [`Limits`], over TLS when `tls` is given.
pub struct Server {
    pub listener: TcpListener,
    pub tls: Option<TlsAcceptor>,
    pub router: Router,
    pub limits: Limits,
}

impl Server {
    /// Accepts and serves connections until `stop` is set; then accepts no more, asks the
    /// open connections to close once their request in flight is answered (idle ones at
    /// once), and returns once they are all closed or `drain` has passed.
    pub async fn run(self, mut stop: watch::Receiver<bool>, drain: Duration) {
        let Server {
            listener,
            tls,
            router,
            limits,
        } = self;
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        let mut accept_failing = false;
        loop {
            let permit = tokio::select! {
                biased;
                _ = until_set(&mut stop) => break,
                p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            };
            let (tcp, peer) = tokio::select! {
                biased;
                _ = until_set(&mut stop) => break,
                r = listener.accept() => match r {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, for instance: the connection stays in the
                        // backlog; try again shortly (logged once per failing spell).
                        if !accept_failing {
                            log!("error: cannot accept a connection (retrying every 100 ms): {e}");
                            accept_failing = true;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            if accept_failing {
                log!("accepting connections again");
                accept_failing = false;
            }
            let accepted = Instant::now();
            let conn = Connection {
                peer,
                limits,
                accepted,
                activity: Arc::new(Activity::new(accepted)),
            };
            let (tls, router, stop) = (tls.clone(), router.clone(), stop.clone());
            tokio::spawn(async move {
                conn.serve(tcp, tls, router, stop).await;
                drop(permit);
            });
        }
        drop(listener);
        let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(drain, slots.acquire_many(all))
            .await
            .is_err()
        {
            log!(
                "shutdown: {} connections still open after {}; closing them",
                limits.max_connections - slots.available_permits(),
                humantime::format_duration(drain)
            );
        }
    }
}

/// One accepted connection.
struct Connection {
    peer: SocketAddr,
    limits: Limits,
    accepted: Instant,
    activity: Arc<Activity>,
}

impl Connection {
    async fn serve(
        self,
        tcp: TcpStream,
        tls: Option<TlsAcceptor>,
        router: Router,
        stop: watch::Receiver<bool>,
    ) {
        let _ = tcp.set_nodelay(true);
        let Some(tls) = tls else {
            return self.serve_http(tcp, router, stop).await;
        };
        // The handshake counts against the first request's header timeout.
        let deadline = self.accepted + self.limits.header_timeout;
        match tokio::time::timeout_at(deadline, tls.accept(tcp)).await {
            Ok(Ok(stream)) => self.serve_http(stream, router, stop).await,
            Ok(Err(e)) => log!(
                "connection from {} refused: TLS handshake failed: {e}",
                self.peer
            ),
            Err(_) => log!(
                "connection from {} closed: the TLS handshake did not end within --header-timeout",
                self.peer
            ),
        }
    }

    async fn serve_http<S>(self, stream: S, router: Router, mut stop: watch::Receiver<bool>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(Tracked {
            inner: stream,
            activity: self.activity.clone(),
        });
        let activity = self.activity.clone();
        let header_timeout = self.limits.header_timeout;
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let in_flight = activity.begin();
            let req = req.map(|body| TimedBody::new(body, header_timeout));
            let answer = router.clone().oneshot(req);
            async move {
                let resp = answer.await;
                drop(in_flight);
                resp
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            // The deadlines are the Activity's (hyper's would also cut idle connections).
            .header_read_timeout(None)
            .serve_connection(io, service);
        tokio::pin!(conn);
        let mut stopping = false;
        loop {
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        if !e.is_incomplete_message() {
                            log!("connection from {} ended: {e}", self.peer);
                        }
                    }
                    return;
                }
                why = self.activity.expired(&self.limits) => {
                    log!("connection from {} closed: {why}", self.peer);
                    return;
                }
                _ = until_set(&mut stop), if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
