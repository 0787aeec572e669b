//! The HTTP layer: one request under a whole-call deadline, on a pool of kept-alive
//! connections, and the process's runtime that drives them ([`runtime`]).
//!
//! A pool is reqwest's async client: its HTTP/1.1 connection pool (connections kept idle up
//! to the client's `idleTimeoutMs`, 90 s by default, as Go and reqwest keep them; a request
//! resent when the pooled connection it was given turned out closed before any of it was
//! written), TLS through rustls with the library's one configuration (`crate::tls`), and
//! proxies (HTTP CONNECT tunnels, absolute form, SOCKS) as `crate::proxy` chose them. Kept
//! here, because reqwest has no such thing: the whole-call deadline, body included
//! (`tokio::time::timeout`: reqwest's own timeout has no error of ours to say which limit
//! was hit), the size bound, a cancellation token that ends a call at any point
//! ([`cancellable`]), redirects refused rather than followed, the server's announced
//! keep-alive read from each answer ([`Response::keep_alive`]), and the named errors.

mod connections;
pub mod limit;
pub mod runtime;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::header::{HeaderMap, HeaderValue, ACCEPT, CONNECTION, CONTENT_TYPE, LOCATION};
use http::{Method, StatusCode, Version};
use hyper_util::client::legacy::connect::HttpInfo;
use serde_json::json;
use tokio_util::sync::WaitForCancellationFuture;

use crate::cancel::{cancelled_error, CancelToken};
use crate::client::ConnectionSettings;
use crate::error::{codes, invalid_argument, reason_phrase, ApiError};
use crate::log::{self, Level};
use crate::proxy::Proxy;
use crate::tls;
use connections::{Closed, Connections};

/// Kept-alive connections for one [`ConnectionSettings`] and idle timeout; cheap to clone.
#[derive(Clone)]
pub struct Pool {
    kept: reqwest::Client,
    /// The same settings without kept-alive connections: a GET sent again goes on a
    /// connection of its own, so it cannot meet a second pooled connection that the server
    /// is closing (as one that closes after every answer does to all of them).
    fresh: reqwest::Client,
    /// The connections answers came on, for the log (reqwest reports none of them).
    connections: Arc<Connections>,
    idle_timeout: Duration,
}

/// How many characters of a body are quoted in an error message.
const BODY_QUOTE_CHARS: usize = 200;

/// Idle time before the first TCP keep-alive probe, and between probes (1.0's settings).
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);
/// How long sent data may stay unacknowledged before the connection fails.
#[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times a GET that failed after its connection was made is sent again: once, as
/// Go resends a request that failed on a kept-alive connection the server had closed.
const GET_RETRIES: u32 = 1;

/// A pool of kept-alive connections with these settings, idle at most `idle_timeout`.
pub fn build_pool(settings: &ConnectionSettings, idle_timeout: Duration) -> Result<Pool, ApiError> {
    Ok(Pool {
        kept: build_client(settings, Some(idle_timeout))?,
        fresh: build_client(settings, None)?,
        connections: Arc::default(),
        idle_timeout,
    })
}

/// A reqwest client with these settings, keeping idle connections `idle_timeout` (None:
/// keeping none).
fn build_client(
    settings: &ConnectionSettings,
    idle_timeout: Option<Duration>,
) -> Result<reqwest::Client, ApiError> {
    let tls = match &settings.extra_trust {
        Some(extra) => extra.config(),
        None => tls::default_config(),
    };
    let builder = reqwest::Client::builder()
        // One configuration per process (or per caFile): a pool clones its settings, and
        // the trust store inside it is shared.
        .use_preconfigured_tls((*tls).clone())
        // Never followed, so that keys never reach another origin: [`exchange`] reports a
        // 3xx as an error.
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .connect_timeout(settings.connect_timeout)
        .pool_idle_timeout(idle_timeout)
        .pool_max_idle_per_host(if idle_timeout.is_some() {
            usize::MAX
        } else {
            0
        })
        .tcp_nodelay(true)
        .tcp_keepalive(TCP_KEEPALIVE)
        .tcp_keepalive_interval(TCP_KEEPALIVE)
        .tcp_keepalive_retries(3u32);
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    let builder = builder.tcp_user_timeout(TCP_USER_TIMEOUT);
    let builder = match &settings.proxy {
        // Also keeps reqwest from reading the environment itself: crate::proxy did.
        None => builder.no_proxy(),
        Some(proxy) => builder.proxy(proxy.for_reqwest()?),
    };
    builder.build().map_err(|err| {
        ApiError::client(
            codes::INTERNAL_ERROR,
            format!("could not build the HTTP client: {}", error_chain(&err)),
            None,
        )
    })
}

/// Runs `work` until it completes or `cancel` is triggered, whichever comes first; the
/// token is looked at first, so a token triggered before the call runs nothing. The error
/// of a cancelled call names `description` and the time since `started`; its log record,
/// the client numbered `client`.
pub fn cancellable<'a, F>(
    cancel: Option<&'a CancelToken>,
    description: &'a str,
    started: Instant,
    client: u64,
    work: F,
) -> Cancellable<'a, F> {
    Cancellable {
        work,
        triggered: cancel.map(CancelToken::triggered),
        description,
        started,
        client,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`cancellable`]. A struct, where an async fn would keep its `work`
    /// argument beside the `work` it polls: each such wrapper doubled the size of a call's
    /// future, which a started call keeps on the heap while it runs.
    pub struct Cancellable<'a, F> {
        #[pin]
        work: F,
        #[pin]
        triggered: Option<WaitForCancellationFuture<'a>>,
        description: &'a str,
        started: Instant,
        client: u64,
    }
}

impl<T, F> Future for Cancellable<'_, F>
where
    F: Future<Output = Result<T, ApiError>>,
{
    type Output = Result<T, ApiError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(triggered) = this.triggered.as_pin_mut() {
            if triggered.poll(cx).is_ready() {
                let elapsed = this.started.elapsed();
                // Debug, not info: a cancelled call is what a program asked for.
                log::emit(Level::Debug, "cancelled", |record| {
                    record.insert("client".to_owned(), json!(*this.client));
                    record.insert("call".to_owned(), json!(*this.description));
                    record.insert("ms".to_owned(), json!(millis(elapsed)));
                });
                return Poll::Ready(Err(cancelled_error(this.description, elapsed)));
            }
        }
        this.work.poll(cx)
    }
}

/// One request to send.
pub struct Request<'a> {
    pub method: Method,
    pub url: url::Url,
    pub headers: HeaderMap,
    /// A JSON body; sets `Content-Type: application/json`.
    pub json_body: Option<String>,
    /// Bounds the whole call: connecting, sending, and reading the full body.
    pub deadline: Duration,
    pub max_response_bytes: u64,
    /// The proxy the pool sends through, for messages and the log.
    pub proxy: Option<&'a Proxy>,
    /// Used in error messages.
    pub description: &'a str,
    /// The client's number in the log's records.
    pub client: u64,
    /// `scheme://host:port` of `url`, as the client computed it once: the pool keeps
    /// connections per origin.
    pub origin: &'a str,
}

/// An answer whose body was read completely.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub body: Vec<u8>,
    /// The `timeout=N` of a `Keep-Alive` header: how long the server keeps an idle
    /// connection open.
    pub keep_alive: Option<Duration>,
}

/// What one exchange observed, for error details and the log.
#[derive(Default)]
struct Progress {
    /// The HTTP status, once the head of the answer arrived: errors after that carry it.
    status: AtomicU16,
    retries: AtomicU32,
    /// Whether the answer came on a connection opened for it: 0 unknown, 1 new, 2 reused.
    connection: AtomicU8,
}

/// Milliseconds with a tenth, for the log.
fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 10_000.0).round() / 10.0
}

/// Sends the request on `pool` and reads the answer, all within `request.deadline`. A 3xx
/// answer is an error: redirects are never followed.
pub async fn send(pool: &Pool, request: Request<'_>) -> Result<Response, ApiError> {
    let started = Instant::now();
    let description = request.description;
    let deadline = request.deadline;
    let url = request.url.clone();
    let method = request.method.clone();
    let via = request.proxy.map(Proxy::shown);
    let client = request.client;
    let progress = Progress::default();
    let _in_flight = pool.connections.start();
    let result = tokio::time::timeout(deadline, exchange(pool, request, &progress))
        .await
        .unwrap_or_else(|_elapsed| {
            let mut error = timeout_error(description, url.as_str(), deadline);
            add_http_status(&mut error, progress.status.load(Ordering::Relaxed));
            Err(error)
        });
    log::emit(Level::Debug, "request", |record| {
        record.insert("client".to_owned(), json!(client));
        record.insert("method".to_owned(), json!(method.as_str()));
        record.insert("path".to_owned(), json!(url.path()));
        match &result {
            Ok(response) => record.insert("status".to_owned(), json!(response.status.as_u16())),
            Err(error) => record.insert("code".to_owned(), json!(error.first_code())),
        };
        record.insert("ms".to_owned(), json!(millis(started.elapsed())));
        let attempts = progress.retries.load(Ordering::Relaxed) + 1;
        record.insert("attempt".to_owned(), json!(attempts));
        let connection = match progress.connection.load(Ordering::Relaxed) {
            1 => json!("new"),
            2 => json!("reused"),
            _ => serde_json::Value::Null,
        };
        record.insert("connection".to_owned(), connection);
        if let Some(via) = &via {
            record.insert("proxy".to_owned(), json!(via));
        }
    });
    result
}

/// Records in `details.httpStatus` the status of an answer that arrived but was unusable.
fn add_http_status(error: &mut ApiError, status: u16) {
    if status == 0 {
        return;
    }
    if let Some(item) = error.items.first_mut() {
        match item.get_mut("details") {
            Some(serde_json::Value::Object(details)) => {
                details.insert("httpStatus".to_owned(), json!(status));
            }
            Some(details) => *details = json!({ "httpStatus": status }),
            None => {}
        }
    }
}

/// Whether a request that failed this way may be sent again. A GET is idempotent: when it
/// failed after the connection was made but before any byte of the answer (typically a
/// kept-alive connection the server closed as the request went out), it is sent again on a
/// new connection, as Go's net/http does. A POST (runOnce) is never resent here: reqwest already resends a
/// request none of which was written, and anything else might run the task twice.
fn may_retry(method: &Method, err: &reqwest::Error, retries: u32) -> bool {
    retries < GET_RETRIES
        && *method == Method::GET
        && !err.is_connect()
        && !err.is_timeout()
        && !err.is_builder()
}

async fn exchange(
    pool: &Pool,
    mut request: Request<'_>,
    progress: &Progress,
) -> Result<Response, ApiError> {
    let mut headers = std::mem::take(&mut request.headers);
    // What fetch, hence the official clients, send.
    headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
    let body = request.json_body.take();
    if body.is_some() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let mut retries = 0;
    let mut response = loop {
        let client = if retries == 0 {
            &pool.kept
        } else {
            &pool.fresh
        };
        let mut attempt = client
            .request(request.method.clone(), request.url.clone())
            .headers(headers.clone());
        if let Some(body) = &body {
            attempt = attempt.body(body.clone());
        }
        match attempt.send().await {
            Ok(response) => break response,
            Err(err) if may_retry(&request.method, &err, retries) => {
                note_lost(pool, &request, &err);
                retries += 1;
                progress.retries.store(retries, Ordering::Relaxed);
                log::emit(Level::Info, "retry", |record| {
                    record.insert("client".to_owned(), json!(request.client));
                    record.insert("method".to_owned(), json!(request.method.as_str()));
                    record.insert("path".to_owned(), json!(request.url.path()));
                    record.insert("attempt".to_owned(), json!(retries + 1));
                    let reason = error_chain(std::error::Error::source(&err).unwrap_or(&err));
                    record.insert("reason".to_owned(), json!(reason));
                    record.insert("connection".to_owned(), json!("new"));
                });
            }
            Err(err) if err.is_builder() => {
                // The request itself cannot be made (an id that makes the URL unusable,
                // say): asking again would fail the same way, so it is no network error.
                return Err(invalid_argument(format!(
                    "{} could not be sent to {}: {}",
                    request.description,
                    request.url,
                    error_chain(&err)
                )));
            }
            Err(err) => {
                note_lost(pool, &request, &err);
                return Err(transport_error(&request, &err));
            }
        }
    };
    let status = response.status();
    progress.status.store(status.as_u16(), Ordering::Relaxed);
    let mut reading = if log::enabled(Level::Debug) {
        note_connection(pool, &response, &request, progress, retries == 0)
    } else {
        None
    };
    if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        if let Some(proxy) = request.proxy {
            // An http:// request in absolute form: the proxy itself answered.
            return Err(proxy_refused(&request, proxy, Some(status.as_u16())));
        }
    }
    if status.is_redirection() {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        return Err(redirect_error(status, location, request.url.as_str()));
    }
    let keep_alive = announced_keep_alive(response.headers());
    let limit = request.max_response_bytes;
    let too_large = |seen: u64| {
        log::emit(Level::Warn, "response_too_large", |record| {
            record.insert("client".to_owned(), json!(request.client));
            record.insert("method".to_owned(), json!(request.method.as_str()));
            record.insert("path".to_owned(), json!(request.url.path()));
            record.insert("status".to_owned(), json!(status.as_u16()));
            record.insert("maxResponseBytes".to_owned(), json!(limit));
            record.insert("seenBytes".to_owned(), json!(seen));
        });
        ApiError::client(
            codes::RESPONSE_TOO_LARGE,
            format!(
                "The answer to {} is larger than maxResponseBytes ({limit} bytes; at least {seen} \
                 were announced or received). Raise maxResponseBytes in the client options if \
                 this is expected.",
                request.description
            ),
            Some(json!({ "httpStatus": status.as_u16(), "maxResponseBytes": limit })),
        )
    };
    if let Some(length) = response.content_length() {
        if length > limit {
            return Err(too_large(length));
        }
    }
    let mut body = Vec::new();
    loop {
        let chunk = response.chunk().await.map_err(|err| {
            let mut error = transport_error(&request, &err);
            add_http_status(&mut error, status.as_u16());
            error
        })?;
        let Some(chunk) = chunk else { break };
        let total = body.len() as u64 + chunk.len() as u64;
        if total > limit {
            return Err(too_large(total));
        }
        body.extend_from_slice(&chunk);
    }
    if let Some(reading) = &mut reading {
        reading.finished = true;
    }
    Ok(Response {
        status,
        body,
        keep_alive,
    })
}

/// Where a request goes, for the records of its connection.
struct Target {
    client: u64,
    host: Option<String>,
    port: Option<u16>,
    proxy: Option<String>,
}

impl Target {
    fn of(request: &Request<'_>) -> Target {
        Target {
            client: request.client,
            host: request.url.host_str().map(str::to_owned),
            port: request.url.port_or_known_default(),
            proxy: request.proxy.map(Proxy::shown),
        }
    }

    fn fill(&self, record: &mut serde_json::Map<String, serde_json::Value>) {
        record.insert("client".to_owned(), json!(self.client));
        record.insert("host".to_owned(), json!(self.host));
        record.insert("port".to_owned(), json!(self.port));
        if let Some(proxy) = &self.proxy {
            record.insert("proxy".to_owned(), json!(proxy));
        }
    }

    fn closed(&self, closed: &Closed) {
        log::emit(Level::Debug, "connection_closed", |record| {
            self.fill(record);
            record.insert("reason".to_owned(), json!(closed.reason));
            if let Some(idle) = closed.idle {
                record.insert("idleMs".to_owned(), json!(millis(idle)));
            }
        });
    }
}

/// Whether the connection that carried `response` ends with it: the server said
/// `Connection: close`, or answered HTTP/1.0 without asking to keep it.
fn ends_connection(response: &reqwest::Response) -> bool {
    let says = |token: &str| {
        response
            .headers()
            .get_all(CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|word| word.trim().eq_ignore_ascii_case(token))
    };
    says("close") || (response.version() <= Version::HTTP_10 && !says("keep-alive"))
}

/// Records whether `response` came on a connection opened for it, and logs the opening and
/// the kept connections found closed meanwhile ([`connections`]). The guard it answers
/// logs the connection's end if the answer is not read to its end.
fn note_connection(
    pool: &Pool,
    response: &reqwest::Response,
    request: &Request<'_>,
    progress: &Progress,
    kept: bool,
) -> Option<Reading> {
    let local = response.extensions().get::<HttpInfo>()?.local_addr();
    let target = Target::of(request);
    let ends = ends_connection(response);
    // A connection of the pool without kept connections is always new, and says nothing of
    // the kept ones.
    let (opened, closed) = if kept {
        pool.connections
            .answered(local, request.origin, pool.idle_timeout, !ends)
    } else {
        (true, Vec::new())
    };
    progress
        .connection
        .store(if opened { 1 } else { 2 }, Ordering::Relaxed);
    for closed in &closed {
        target.closed(closed);
    }
    if opened {
        log::emit(Level::Debug, "connection_opened", |record| {
            target.fill(record);
            let tls = request.url.scheme() == "https" || request.proxy.is_some_and(Proxy::is_https);
            record.insert("tls".to_owned(), json!(tls));
        });
    }
    let ends_with = match (kept, ends) {
        (_, true) => Some("server_asked"),
        (false, false) => Some("not_kept"),
        (true, false) => None,
    };
    Some(Reading {
        connections: Arc::clone(&pool.connections),
        local,
        target,
        ends_with,
        finished: false,
    })
}

/// A connection while its answer is read. A connection cannot be used again in the middle of
/// an answer, so one whose answer was not read to its end (the call cancelled, timed out,
/// refused the answer or lost it) ends with the call: it is logged so when this is dropped.
struct Reading {
    connections: Arc<Connections>,
    local: SocketAddr,
    target: Target,
    /// Why the connection ends with this answer even if it is read to its end.
    ends_with: Option<&'static str>,
    finished: bool,
}

impl Drop for Reading {
    fn drop(&mut self) {
        let reason = match (self.finished, self.ends_with) {
            (false, _) => "unfinished_answer",
            (true, Some(reason)) => reason,
            (true, None) => return,
        };
        if !self.finished {
            self.connections.forget(self.local);
        }
        self.target.closed(&Closed { reason, idle: None });
    }
}

/// Logs that a call lost its connection (before any answer, so which one is not known).
fn note_lost(pool: &Pool, request: &Request<'_>, err: &reqwest::Error) {
    if err.is_connect() || !log::enabled(Level::Debug) {
        return;
    }
    pool.connections.lost(request.origin);
    Target::of(request).closed(&Closed {
        reason: "lost",
        idle: None,
    });
}

/// `timeout=N` (seconds) of a `Keep-Alive: timeout=5, max=100` header.
fn announced_keep_alive(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("keep-alive")?.to_str().ok()?;
    value.split(',').find_map(|parameter| {
        let (name, seconds) = parameter.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("timeout") {
            return None;
        }
        seconds.trim().parse::<u64>().ok().map(Duration::from_secs)
    })
}

fn timeout_error(description: &str, url: &str, deadline: Duration) -> ApiError {
    ApiError::client(
        codes::TIMEOUT,
        format!(
            "{description} got no complete answer from {url} within {} ms. Raise timeoutMs in \
             the client options if the service is slow, or check that it is reachable.",
            deadline.as_millis()
        ),
        Some(json!({ "timeoutMs": deadline.as_millis() as u64 })),
    )
}

fn redirect_error(status: StatusCode, location: Option<String>, url: &str) -> ApiError {
    let mut error = ApiError::client(
        codes::REDIRECT_NOT_FOLLOWED,
        format!(
            "{url} answered HTTP {} redirecting to {}; redirects are not followed so that keys \
             never reach another origin. Use the final URL as envUrl.",
            status.as_u16(),
            location.as_deref().unwrap_or("(no Location header)")
        ),
        Some(json!({ "location": location })),
    );
    error.status = status.as_u16();
    error.status_text = reason_phrase(status).to_owned();
    error
}

/// Whether an error in `err`'s chain shows as `text`. reqwest's connector reports what went
/// wrong with a proxy through error types it does not export (hyper-util's `TunnelError`,
/// reqwest's SOCKS errors), so they are told apart by their messages; the tests of proxies
/// check each one, so a dependency that changed them fails there.
fn chain_shows(err: &(dyn std::error::Error + 'static), text: &str) -> bool {
    tls::find_in_chain(err, &|err| err.to_string().starts_with(text).then_some(())).is_some()
}

/// The error of a request that got no usable answer.
fn transport_error(request: &Request<'_>, err: &reqwest::Error) -> ApiError {
    let description = request.description;
    let url = request.url.as_str();
    let host = request.url.host_str().unwrap_or_default();
    let chain: &(dyn std::error::Error + 'static) = err;
    let tls_failure = tls::rustls_error(chain).cloned().or_else(|| {
        tls::closed_during_handshake(chain).then_some(rustls::Error::HandshakeNotComplete)
    });
    if let Some(failure) = tls_failure {
        // TLS to an https:// proxy comes before the tunnel to the service is opened (and
        // is the only TLS for an http:// service).
        let with_proxy = request.proxy.filter(|proxy| {
            proxy.is_https()
                && (request.url.scheme() == "http"
                    || chain_shows(
                        chain,
                        "tunnel error: failed to create underlying connection",
                    ))
        });
        return match with_proxy {
            Some(proxy) => tls::tls_error(description, &tls::Peer::Proxy(proxy), &failure),
            None => tls::tls_error(description, &tls::Peer::Service { url, host }, &failure),
        };
    }
    if let Some(proxy) = request.proxy {
        if chain_shows(chain, "tunnel error: proxy authorization required") {
            return proxy_refused(request, proxy, Some(407));
        }
        if chain_shows(chain, "tunnel error: unsuccessful") {
            return proxy_refused(request, proxy, None);
        }
        let socks_refusal = chain_shows(chain, "SOCKS error")
            && !chain_shows(chain, "SOCKS error: failed to create underlying connection")
            && !chain_shows(chain, "SOCKS error: io error");
        if socks_refusal {
            return proxy_refused(request, proxy, None);
        }
    }
    // reqwest's own message repeats the URL; its causes say what happened.
    let causes = error_chain(chain.source().unwrap_or(chain));
    let through = request
        .proxy
        .map(|proxy| {
            format!(
                " through the proxy {} (from {})",
                proxy.shown(),
                proxy.origin
            )
        })
        .unwrap_or_default();
    if err.is_connect() && err.is_timeout() {
        return ApiError::client(
            codes::TIMEOUT,
            format!(
                "{description} could not connect to {url}{through} in time (connectTimeoutMs): \
                 {causes}"
            ),
            None,
        );
    }
    let phase = if err.is_connect() {
        "could not connect to"
    } else {
        "lost the connection to"
    };
    let advice = if request.proxy.is_some() {
        "Check the proxy setting and that the proxy is reachable."
    } else {
        "Check envUrl and that the service is reachable."
    };
    ApiError::client(
        codes::NETWORK_ERROR,
        format!("{description} {phase} {url}{through}: {causes}. {advice}"),
        request.proxy.map(|proxy| json!({ "proxy": proxy.shown() })),
    )
}

/// `proxy_error`: the proxy refused to carry the request.
fn proxy_refused(request: &Request<'_>, proxy: &Proxy, status: Option<u16>) -> ApiError {
    let answered = match status {
        Some(407) => " with HTTP 407 Proxy Authentication Required: it wants credentials \
                      (http://user:password@proxy:port) or other ones"
            .to_owned(),
        Some(status) => format!(" with HTTP {status}"),
        None if proxy.is_socks() => " (it refused the SOCKS connection)".to_owned(),
        None => " (it refused the CONNECT tunnel)".to_owned(),
    };
    ApiError::client(
        codes::PROXY_ERROR,
        format!(
            "{} to {}: the proxy {} (from {}) refused to carry it{answered}. Check the proxy \
             setting.",
            request.description,
            request.url,
            proxy.shown(),
            proxy.origin
        ),
        Some(json!({ "proxy": proxy.shown(), "proxyStatus": status })),
    )
}

/// The error and its causes, "a: b: c", so the root cause (refused, DNS, TLS) is visible.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The start of a body for error messages, on one line.
pub fn quote_body(body: &[u8]) -> String {
    // Never more than the quote can use is looked at, whatever the body's size (a UTF-8
    // character is at most 4 bytes).
    let start = &body[..body.len().min(BODY_QUOTE_CHARS * 4 + 4)];
    let text = String::from_utf8_lossy(start);
    let mut quoted: String = text
        .chars()
        .take(BODY_QUOTE_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(BODY_QUOTE_CHARS).is_some() || start.len() < body.len() {
        quoted.push('…');
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_and_single_line() {
        assert_eq!(quote_body(b"<html>\n</html>"), "<html> </html>");
        let long = vec![b'x'; 500];
        let quoted = quote_body(&long);
        assert_eq!(quoted.chars().count(), BODY_QUOTE_CHARS + 1);
    }

    #[test]
    fn the_announced_keep_alive_is_read() {
        let mut headers = HeaderMap::new();
        assert_eq!(announced_keep_alive(&headers), None);
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5, max=100"));
        assert_eq!(announced_keep_alive(&headers), Some(Duration::from_secs(5)));
        headers.insert("keep-alive", HeaderValue::from_static("max=3,Timeout = 1"));
        assert_eq!(announced_keep_alive(&headers), Some(Duration::from_secs(1)));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=soon"));
        assert_eq!(announced_keep_alive(&headers), None);
    }
}
