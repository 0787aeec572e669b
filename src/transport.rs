//! The HTTP layer: one lazily built runtime and connection pool for the whole process, and
//! one request under a whole-call deadline.
//!
//! Why async reqwest on our own runtime rather than `reqwest::blocking`: a blocking client
//! owns a thread each, and its timeout does not bound a body that trickles in one byte at
//! a time. Here every client of the process shares one small runtime (one worker thread)
//! and one pool per distinct connect timeout, and `tokio::time::timeout` bounds the whole
//! call, body included. Callers block in `Runtime::block_on` on their own thread, so calls
//! from many threads run at once.
//!
//! fork(): the child inherits the memory of the runtime but not its worker thread. The
//! shared state records the pid that built it; a call in another process builds a fresh
//! runtime and pool and leaks the inherited one (dropping it would wait for a thread that
//! does not exist in the child).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use once_cell::sync::Lazy;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::outcome::{codes, ApiError};

/// How many bytes of a body are quoted in an error message.
const BODY_QUOTE_CHARS: usize = 200;

struct Shared {
    pid: u32,
    runtime: tokio::runtime::Runtime,
    /// reqwest sets the connect timeout per pool, so clients with different
    /// `connectTimeoutMs` use different pools (most programs have one value: one pool).
    pools: Mutex<HashMap<Duration, reqwest::Client>>,
}

static SHARED: Lazy<Mutex<Option<Arc<Shared>>>> = Lazy::new(|| Mutex::new(None));

fn shared() -> Result<Arc<Shared>, ApiError> {
    let mut slot = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    let pid = std::process::id();
    if let Some(existing) = slot.as_ref() {
        if existing.pid == pid {
            return Ok(Arc::clone(existing));
        }
        // Inherited across fork(): never touch or drop the parent's runtime.
        if let Some(inherited) = slot.take() {
            std::mem::forget(inherited);
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("altogic-http")
        .enable_all()
        .build()
        .map_err(|err| {
            ApiError::client(
                codes::INTERNAL_ERROR,
                format!("could not start the HTTP runtime: {err}"),
                None,
            )
        })?;
    let fresh = Arc::new(Shared {
        pid,
        runtime,
        pools: Mutex::new(HashMap::new()),
    });
    *slot = Some(Arc::clone(&fresh));
    Ok(fresh)
}

impl Shared {
    fn pool(&self, connect_timeout: Duration) -> Result<reqwest::Client, ApiError> {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get(&connect_timeout) {
            return Ok(pool.clone());
        }
        let pool = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            // Never follow: an Authorization header must not reach another origin.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|err| {
                ApiError::client(
                    codes::INTERNAL_ERROR,
                    format!("could not build the HTTP client: {}", error_chain(&err)),
                    None,
                )
            })?;
        pools.insert(connect_timeout, pool.clone());
        Ok(pool)
    }
}

/// One request to send.
pub struct Request<'a> {
    pub method: Method,
    pub url: String,
    pub headers: HeaderMap,
    /// A JSON body; sets `Content-Type: application/json`.
    pub json_body: Option<String>,
    /// Bounds the whole call: connecting, sending, and reading the full body.
    pub deadline: Duration,
    pub connect_timeout: Duration,
    pub max_response_bytes: u64,
    /// Used in error messages.
    pub description: &'a str,
}

/// An answer whose body was read completely.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// Sends the request and reads the answer. A 3xx answer is an error: redirects are never
/// followed.
pub fn send(request: Request<'_>) -> Result<Response, ApiError> {
    let shared = shared()?;
    let pool = shared.pool(request.connect_timeout)?;
    let deadline = request.deadline;
    let url = request.url.clone();
    let description = request.description;
    // The HTTP status, once the head of the answer arrived: errors after that carry it.
    let status_seen = AtomicU16::new(0);
    shared.runtime.block_on(async {
        match tokio::time::timeout(deadline, exchange(pool, request, &status_seen)).await {
            Ok(result) => result,
            Err(_elapsed) => {
                let mut error = timeout_error(description, &url, deadline);
                add_http_status(&mut error, status_seen.load(Ordering::Relaxed));
                Err(error)
            }
        }
    })
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

async fn exchange(
    pool: reqwest::Client,
    request: Request<'_>,
    status_seen: &AtomicU16,
) -> Result<Response, ApiError> {
    let mut builder = pool
        .request(request.method, &request.url)
        .headers(request.headers);
    if let Some(body) = request.json_body {
        builder = builder
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body);
    }
    let mut response = builder
        .send()
        .await
        .map_err(|err| transport_error(request.description, &request.url, &err))?;
    let status = response.status();
    status_seen.store(status.as_u16(), Ordering::Relaxed);
    if status.is_redirection() {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        return Err(redirect_error(status, location, &request.url));
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
    if let Some(length) = response.content_length() {
        if length > limit {
            return Err(too_large(length));
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| {
        let mut error = transport_error(request.description, &request.url, &err);
        add_http_status(&mut error, status.as_u16());
        error
    })? {
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

fn transport_error(description: &str, url: &str, err: &reqwest::Error) -> ApiError {
    if err.is_timeout() {
        // reqwest's own connect timeout.
        return ApiError::client(
            codes::TIMEOUT,
            format!(
                "{description} could not connect to {url} in time (connectTimeoutMs): {}",
                error_chain(err)
            ),
            None,
        );
    }
    let phase = if err.is_connect() {
        "could not connect to"
    } else {
        "lost the connection to"
    };
    ApiError::client(
        codes::NETWORK_ERROR,
        format!(
            "{description} {phase} {url}: {}. Check envUrl and that the service is reachable.",
            error_chain(err)
        ),
        None,
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

/// The standard reason phrase ("Not Found"), or "Unknown Status" for codes without one.
pub fn reason_phrase(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Unknown Status")
}

/// The start of a body for error messages, on one line.
pub fn quote_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut quoted: String = text
        .chars()
        .take(BODY_QUOTE_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > BODY_QUOTE_CHARS {
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
    fn reason_phrases_are_standard() {
        assert_eq!(reason_phrase(StatusCode::NOT_FOUND), "Not Found");
        assert_eq!(
            reason_phrase(StatusCode::from_u16(599).unwrap()),
            "Unknown Status"
        );
    }
}
