//! The HTTP layer: one request under a whole-call deadline, and the connection pools that
//! carry it.
//!
//! Where requests run:
//! - [`local`]: the blocking calls. Each calling thread drives a small current-thread
//!   runtime of its own with its own pools, so a call costs no hand-off between threads.
//! - [`background`]: a completion queue's calls, on one library thread for the process, with
//!   pools of their own; requests to one host take turns ([`limit`]).
//!
//! Both build their pools with [`build_pool`] and send with [`send`].
//!
//! A pool is hyper-util's HTTP/1.1 client (kept-alive connections per host, closed after
//! [`POOL_IDLE_TIMEOUT`] idle, a request resent when the connection it was given turned out
//! closed before any of it was written) over the library's own [`connect::Connector`] (TCP,
//! TLS, proxies). Async, driven by tokio: `tokio::time::timeout` bounds the whole call,
//! body included (a blocking client's timeout does not bound a body that trickles in one
//! byte at a time), and a cancellation token ends it at any point ([`cancellable`]).
//!
//! Why not reqwest, which 1.0 used: its layers (a URL parsed again on every request, the
//! redirect and header plumbing) cost more than the rest of a request's CPU on the
//! library's side. Measured on one thread with 4 requests in flight against nginx on
//! 127.0.0.1: reqwest 25.6 µs of CPU per request, hyper-util's client 17.8 µs.

pub mod background;
pub mod connect;
pub mod limit;
pub mod local;
mod spin;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, LOCATION, PROXY_AUTHORIZATION};
use http::{Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Body as _;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::json;
use tokio_util::sync::WaitForCancellationFuture;

use crate::cancel::{cancelled_error, CancelToken};
use crate::client::ConnectionSettings;
use crate::error::{codes, invalid_argument, reason_phrase, ApiError};
use crate::log;
use crate::proxy::Proxy;
use crate::tls;
use connect::{ConnectTimedOut, Connector, TunnelRefused};

/// Kept-alive connections for one [`ConnectionSettings`]; cheap to clone.
pub type Pool = HyperClient<Connector, Full<Bytes>>;

/// How many characters of a body are quoted in an error message.
const BODY_QUOTE_CHARS: usize = 200;
/// Idle connections are closed after this, before common servers close them (Node's
/// default keep-alive timeout is 5 s).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// Pools are per [`ConnectionSettings`], in each calling thread ([`local`]) and in the
/// completion queue's runtime ([`background`]). Most programs use one; beyond this many the
/// least recently used pool is closed, so memory stays bounded whatever settings a program
/// uses.
const MAX_POOLS: usize = 8;

/// The entry of `pools` that `matches`, made with `make` when there is none, moved last
/// (`pools` keeps the most recently used last); beyond [`MAX_POOLS`] the first one goes.
fn recently_used<E>(
    pools: &mut Vec<E>,
    matches: impl Fn(&E) -> bool,
    make: impl FnOnce() -> Result<E, ApiError>,
) -> Result<&mut E, ApiError> {
    match pools.iter().rposition(matches) {
        // Most programs use one pool: it is last already.
        Some(index) if index + 1 == pools.len() => {}
        Some(index) => {
            let entry = pools.remove(index);
            pools.push(entry);
        }
        None => {
            let entry = make()?;
            if pools.len() >= MAX_POOLS {
                pools.remove(0);
            }
            pools.push(entry);
        }
    }
    let last = pools.len() - 1;
    Ok(&mut pools[last])
}

/// A pool of kept-alive connections with these settings.
pub fn build_pool(settings: &ConnectionSettings) -> Result<Pool, ApiError> {
    let connector = Connector::new(settings).map_err(|why| {
        ApiError::client(
            codes::INTERNAL_ERROR,
            format!("could not build the HTTP client: {why}"),
            None,
        )
    })?;
    // Redirects are never followed (an Authorization header must not reach another
    // origin): this client has no such layer, and [`exchange`] reports a 3xx as an error.
    Ok(HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_timer(TokioTimer::new())
        .build(connector))
}

/// Runs `work` until it completes or `cancel` is triggered, whichever comes first; the
/// token is looked at first, so a token triggered before the call runs nothing. The error
/// of a cancelled call names `description` and the time since `started`.
pub fn cancellable<'a, F>(
    cancel: Option<&'a CancelToken>,
    description: &'a str,
    started: Instant,
    work: F,
) -> Cancellable<'a, F> {
    Cancellable {
        work,
        triggered: cancel.map(CancelToken::triggered),
        description,
        started,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`cancellable`]. A struct, where an async fn would keep its `work`
    /// argument beside the `work` it polls: each such wrapper doubled the size of a call's
    /// future, which a blocking call moves several times per call (a memory copy of up to
    /// 15 KiB) and a started call keeps on the heap while it runs.
    pub struct Cancellable<'a, F> {
        #[pin]
        work: F,
        #[pin]
        triggered: Option<WaitForCancellationFuture<'a>>,
        description: &'a str,
        started: Instant,
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
}

/// An answer whose body was read completely.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// What one exchange observed, for error details and the log.
#[derive(Default)]
struct Progress {
    /// The HTTP status, once the head of the answer arrived: errors after that carry it.
    status: AtomicU16,
    retries: AtomicU32,
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
    let progress = Progress::default();
    let result = tokio::time::timeout(deadline, exchange(pool, request, &progress))
        .await
        .unwrap_or_else(|_elapsed| {
            let mut error = timeout_error(description, url.as_str(), deadline);
            add_http_status(&mut error, progress.status.load(Ordering::Relaxed));
            Err(error)
        });
    if log::enabled() {
        let outcome = match &result {
            Ok(response) => response.status.as_u16().to_string(),
            Err(error) => error.first_code().unwrap_or("error").to_owned(),
        };
        log::request(
            method.as_str(),
            url.path(),
            via.as_deref(),
            &outcome,
            started.elapsed(),
            progress.retries.load(Ordering::Relaxed),
        );
    }
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
/// kept-alive connection the server had just closed), it is sent once more, as Go's
/// net/http does. A POST (runOnce) is never resent here: hyper-util already resends a
/// request none of which was written, and anything else might run the task twice.
fn may_retry(method: &Method, err: &hyper_util::client::legacy::Error, retries: u32) -> bool {
    retries == 0 && *method == Method::GET && !err.is_connect()
}

async fn exchange(
    pool: &Pool,
    mut request: Request<'_>,
    progress: &Progress,
) -> Result<Response, ApiError> {
    let uri: Uri = request.url.as_str().parse().map_err(|err| {
        // The request itself cannot be made (an id that makes the URL unusable, say):
        // asking again would fail the same way, so it is no network error.
        invalid_argument(format!(
            "{} could not be sent: {} is not a usable URL ({err})",
            request.description, request.url
        ))
    })?;
    let mut headers = std::mem::take(&mut request.headers);
    // What fetch, hence the official clients, send.
    headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
    let body = match request.json_body.take() {
        Some(body) => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Bytes::from(body)
        }
        None => Bytes::new(),
    };
    if request.url.scheme() == "http" {
        // In absolute form on the proxy's connection: the proxy reads its credentials here.
        if let Some(authorization) = request.proxy.and_then(Proxy::authorization) {
            headers.insert(PROXY_AUTHORIZATION, authorization.clone());
        }
    }
    let mut retries = 0;
    let response = loop {
        let mut attempt = http::Request::new(Full::new(body.clone()));
        *attempt.method_mut() = request.method.clone();
        *attempt.uri_mut() = uri.clone();
        *attempt.headers_mut() = headers.clone();
        match pool.request(attempt).await {
            Ok(response) => break response,
            Err(err) if may_retry(&request.method, &err, retries) => {
                retries += 1;
                progress.retries.store(retries, Ordering::Relaxed);
            }
            Err(err) => return Err(transport_error(&request, &err, err.is_connect())),
        }
    };
    let status = response.status();
    progress.status.store(status.as_u16(), Ordering::Relaxed);
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
    let limit = request.max_response_bytes;
    let too_large = |seen: u64| {
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
    let mut incoming = response.into_body();
    if let Some(length) = incoming.size_hint().exact() {
        if length > limit {
            return Err(too_large(length));
        }
    }
    let mut body = Vec::new();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|err| {
            let mut error = transport_error(&request, &err, false);
            add_http_status(&mut error, status.as_u16());
            error
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue; // trailers
        };
        let total = body.len() as u64 + chunk.len() as u64;
        if total > limit {
            return Err(too_large(total));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response { status, body })
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

/// The error of a request that got no usable answer. `connecting`: it failed before a
/// connection was made.
fn transport_error(
    request: &Request<'_>,
    err: &(dyn std::error::Error + 'static),
    connecting: bool,
) -> ApiError {
    let description = request.description;
    let url = request.url.as_str();
    let host = request.url.host_str().unwrap_or_default();
    if let Some(tls_failure) = tls::rustls_error(err) {
        return tls::tls_error(description, url, host, tls_failure);
    }
    if tls::closed_during_handshake(err) {
        return tls::tls_error(description, url, host, &rustls::Error::HandshakeNotComplete);
    }
    if let (Some(proxy), Some(refused)) = (
        request.proxy,
        tls::find_in_chain(err, &|err| err.downcast_ref::<TunnelRefused>()),
    ) {
        return proxy_refused(request, proxy, refused.status);
    }
    // hyper-util's own error only names the phase ("client error (Connect)"): the causes
    // say what happened.
    let causes = error_chain(err.source().unwrap_or(err));
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
    if tls::find_in_chain(err, &|err| err.downcast_ref::<ConnectTimedOut>()).is_some() {
        return ApiError::client(
            codes::TIMEOUT,
            format!(
                "{description} could not connect to {url}{through} in time (connectTimeoutMs): \
                 {causes}"
            ),
            None,
        );
    }
    let phase = if connecting {
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
        Some(status) if request.url.scheme() == "https" => {
            format!(" (it refused the CONNECT tunnel with HTTP {status})")
        }
        Some(status) => format!(" with HTTP {status}"),
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
    fn pools_are_kept_most_recently_used_last_and_bounded() {
        let mut pools: Vec<usize> = vec![1, 2, 3];
        let made = |n| move || -> Result<usize, ApiError> { Ok(n) };
        assert_eq!(*recently_used(&mut pools, |&p| p == 1, made(0)).unwrap(), 1);
        assert_eq!(pools, [2, 3, 1], "a match moves last");
        recently_used(&mut pools, |&p| p == 1, made(0)).unwrap();
        assert_eq!(pools, [2, 3, 1], "the last one stays");
        for n in 4..=(MAX_POOLS + 2) {
            recently_used(&mut pools, |&p| p == n, made(n)).unwrap();
        }
        assert_eq!(pools.len(), MAX_POOLS);
        assert_eq!(
            pools.first(),
            Some(&1),
            "2 and 3, the least recently used, went"
        );
        assert_eq!(pools.last(), Some(&(MAX_POOLS + 2)));
    }

    #[test]
    fn quotes_are_short_and_single_line() {
        assert_eq!(quote_body(b"<html>\n</html>"), "<html> </html>");
        let long = vec![b'x'; 500];
        let quoted = quote_body(&long);
        assert_eq!(quoted.chars().count(), BODY_QUOTE_CHARS + 1);
    }
}
