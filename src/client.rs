//! A client: one app environment, its keys, its session and its limits.
//!
//! Clients are cheap: a handle to the checked configuration, cloned for each call that runs
//! on the library's runtime. They own no thread and no connection pool: connections belong
//! to the process's pools, shared by every client with the same connection settings (see
//! `transport::runtime`). A client is `Send + Sync`; the session and the keep-alive its
//! server announced are the only state that changes after creation. The session is swapped
//! atomically rather than locked, so a child forked while another thread was reading it
//! cannot hang on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use serde::Deserialize;
use serde_json::json;

use crate::error::{
    argument_error, codes, invalid_argument, invalid_named_argument, missing_value,
    without_userinfo, ApiError,
};
use crate::proxy::{self, Proxy};
use crate::tls::ExtraTrust;

/// The value sent in the `X-Client` header, naming this library on the wire.
pub const CLIENT_NAME: &str = "altogic-c";

/// Where the task manager's endpoints live under the environment URL.
pub const TASK_PATH: &str = "/_api/rest/v1/task";

/// Default `timeoutMs`: the bound of one whole call.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// Default `connectTimeoutMs`.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 10_000;
/// Default `idleTimeoutMs`: how long an idle connection is kept, as Go and reqwest keep them.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 90_000;
/// Default `maxResponseBytes` (10 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;
/// Largest accepted `timeoutMs` and `connectTimeoutMs`: one day; more is surely a mistake.
pub const MAX_TIMEOUT_MS: u64 = 86_400_000;

/// The `options_json` object of `altogic_client_new`. Unknown keys and wrong types are
/// refused, so a typo never silently falls back to a default.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientOptions {
    /// Sent as-is in `Authorization`.
    pub api_key: Option<String>,
    /// Initial session token, sent in `Session`.
    pub session: Option<String>,
    /// Bounds a whole call, connecting and reading the body included.
    pub timeout_ms: Option<u64>,
    pub connect_timeout_ms: Option<u64>,
    /// How long an idle kept-alive connection is kept for the next call.
    pub idle_timeout_ms: Option<u64>,
    pub max_response_bytes: Option<u64>,
    /// A PEM bundle whose certificates are trusted besides the system's.
    pub ca_file: Option<String>,
    /// A proxy URL for every request, or `""` for none whatever the environment says.
    pub proxy: Option<String>,
}

impl ClientOptions {
    /// Parses the JSON text of `options_json`.
    pub fn from_json(text: &str) -> Result<ClientOptions, ApiError> {
        serde_json::from_str(text).map_err(|err| {
            invalid_named_argument(
                "options_json",
                format!(
                    "is not a valid options object ({err}); pass a JSON object with any of \
                     apiKey, session, caFile, proxy (strings), timeoutMs, connectTimeoutMs, \
                     idleTimeoutMs, maxResponseBytes (positive integers)"
                ),
            )
        })
    }
}

#[derive(Debug, Default)]
struct SessionState {
    token: Option<String>,
    /// Bumped on every change, so a call can tell whether the session it sent is still the
    /// current one before dropping it.
    generation: u64,
}

/// The session a request was sent with.
#[derive(Debug, Clone)]
pub struct SessionSnapshot {
    pub token: Option<String>,
    generation: u64,
}

/// What a connection depends on besides its host: connections (and the pools that keep
/// them) are shared only between clients whose settings are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    pub connect_timeout: Duration,
    /// `caFile`'s certificates, trusted besides the system's.
    pub extra_trust: Option<Arc<ExtraTrust>>,
    pub proxy: Option<Proxy>,
}

/// A client of one app environment; cloning gives another handle to the same client.
#[derive(Debug, Clone)]
pub struct Client {
    state: Arc<ClientState>,
}

/// What a [`Client`] holds; its methods are the client's.
#[derive(Debug)]
pub struct ClientState {
    /// The client's number in the log's records: 1 for the process's first client, and so on.
    id: u64,
    /// `{envUrl}/_api/rest/v1/task`, parsed once: parsing a URL (host included) on every call
    /// was a measurable part of a call's cost.
    task_url: url::Url,
    /// `scheme://host:port` of `task_url`, the key of the host's turns in a completion
    /// queue's pools: made once, since serializing it on every started call showed in
    /// profiles.
    origin: String,
    /// `X-Client`, `X-Client-Key` and `Authorization`, built once: every call sends them.
    fixed_headers: HeaderMap,
    session: ArcSwap<SessionState>,
    timeout: Duration,
    connection: ConnectionSettings,
    idle_timeout: Duration,
    /// The idle time after which a connection to the service is no longer reused, from the
    /// `Keep-Alive: timeout=N` it announced (milliseconds; 0 until it announces one).
    announced_reuse_ms: AtomicU64,
    max_response_bytes: u64,
}

impl std::ops::Deref for Client {
    type Target = ClientState;

    fn deref(&self) -> &ClientState {
        &self.state
    }
}

impl Client {
    /// Validates everything up front, so later calls fail only for reasons of their own.
    pub fn new(
        env_url: &str,
        client_key: &str,
        options: ClientOptions,
    ) -> Result<Client, ApiError> {
        let base_url = normalize_env_url(env_url)?;
        let task_url = url::Url::parse(&format!("{base_url}{TASK_PATH}")).map_err(|err| {
            invalid_argument(format!(
                "envUrl {:?} cannot take the task path: {err}",
                without_userinfo(env_url)
            ))
        })?;
        let mut fixed_headers = HeaderMap::with_capacity(3);
        fixed_headers.insert(
            HeaderName::from_static("x-client"),
            HeaderValue::from_static(CLIENT_NAME),
        );
        fixed_headers.insert(
            HeaderName::from_static("x-client-key"),
            header_value("client_key", client_key)?,
        );
        if let Some(api_key) = &options.api_key {
            fixed_headers.insert(AUTHORIZATION, header_value("apiKey", api_key)?);
        }
        if let Some(session) = &options.session {
            header_value("session", session)?;
        }
        let timeout_ms = checked_millis("timeoutMs", options.timeout_ms, DEFAULT_TIMEOUT_MS)?;
        let connect_timeout_ms = checked_millis(
            "connectTimeoutMs",
            options.connect_timeout_ms,
            DEFAULT_CONNECT_TIMEOUT_MS,
        )?;
        let idle_timeout_ms = checked_millis(
            "idleTimeoutMs",
            options.idle_timeout_ms,
            DEFAULT_IDLE_TIMEOUT_MS,
        )?;
        let max_response_bytes = options
            .max_response_bytes
            .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES);
        if max_response_bytes == 0 {
            return Err(invalid_named_argument(
                "maxResponseBytes",
                "must be at least 1 byte (the default is 10 MiB)",
            ));
        }
        let extra_trust = match options.ca_file.as_deref() {
            None => None,
            Some(path) if path.trim().is_empty() => {
                return Err(invalid_named_argument(
                    "caFile",
                    "is empty; pass the path of a PEM file of CA certificates, or leave it out",
                ))
            }
            Some(path) => Some(Arc::new(ExtraTrust::load(path)?)),
        };
        let proxy = proxy::for_target(options.proxy.as_deref(), &task_url)?;
        static CLIENTS: AtomicU64 = AtomicU64::new(0);
        let state = ClientState {
            id: CLIENTS.fetch_add(1, Ordering::Relaxed) + 1,
            origin: task_url.origin().ascii_serialization(),
            task_url,
            fixed_headers,
            session: ArcSwap::from_pointee(SessionState {
                token: options.session,
                generation: 0,
            }),
            timeout: Duration::from_millis(timeout_ms),
            connection: ConnectionSettings {
                connect_timeout: Duration::from_millis(connect_timeout_ms),
                extra_trust,
                proxy,
            },
            idle_timeout: Duration::from_millis(idle_timeout_ms),
            announced_reuse_ms: AtomicU64::new(0),
            max_response_bytes,
        };
        Ok(Client {
            state: Arc::new(state),
        })
    }
}

impl ClientState {
    /// The client's number in the log's records.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// `{envUrl}/_api/rest/v1/task`, where runOnce posts.
    pub fn task_url(&self) -> &url::Url {
        &self.task_url
    }

    /// `scheme://host:port` of the service (every request of the client goes there).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `{envUrl}/_api/rest/v1/task/{segment}`; `segment` is already percent-encoded.
    pub fn task_status_url(&self, segment: &str) -> url::Url {
        let mut url = self.task_url.clone();
        // Only the path is parsed again, not the host.
        let path = format!("{}/{segment}", self.task_url.path());
        url.set_path(&path);
        url
    }

    /// The headers of a request sent with the session `session`.
    pub fn request_headers(&self, session: Option<&str>) -> Result<HeaderMap, ApiError> {
        let mut headers = self.fixed_headers.clone();
        if let Some(token) = session {
            headers.insert(
                HeaderName::from_static("session"),
                header_value("session", token)?,
            );
        }
        Ok(headers)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn connection(&self) -> &ConnectionSettings {
        &self.connection
    }

    pub fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    /// How long a connection to the service may stay idle and still be reused:
    /// `idleTimeoutMs`, or less when the service announced that it closes idle connections
    /// sooner.
    pub fn idle_timeout(&self) -> Duration {
        match self.announced_reuse_ms.load(Ordering::Relaxed) {
            0 => self.idle_timeout,
            ms => self.idle_timeout.min(Duration::from_millis(ms)),
        }
    }

    /// Records the `Keep-Alive: timeout=N` of an answer. A connection is not reused once it
    /// nears N (a second before it, or at half of it when that is less than 2 s), so a call
    /// never races the server's close: reqwest's pool knows one idle timeout per pool, so
    /// the client's later calls take the process's pool with that shorter timeout (see
    /// `transport::runtime`). A client talks to one host, so what that host said is the
    /// client's to follow.
    pub fn note_keep_alive(&self, announced: Duration) {
        let reuse = if announced >= Duration::from_secs(2) {
            announced - Duration::from_secs(1)
        } else {
            announced / 2
        };
        let ms = (reuse.as_millis() as u64).max(1);
        self.announced_reuse_ms.store(ms, Ordering::Relaxed);
    }

    /// Sets (Some) or clears (None) the session token.
    pub fn set_session(&self, token: Option<&str>) -> Result<(), ApiError> {
        if let Some(token) = token {
            header_value("session_token", token)?;
        }
        let token = token.map(str::to_owned);
        self.session.rcu(|state| SessionState {
            token: token.clone(),
            generation: state.generation + 1,
        });
        Ok(())
    }

    pub fn session(&self) -> Option<String> {
        self.session.load().token.clone()
    }

    pub fn session_snapshot(&self) -> SessionSnapshot {
        let state = self.session.load();
        SessionSnapshot {
            token: state.token.clone(),
            generation: state.generation,
        }
    }

    /// Drops the session the service refused, unless it was replaced since the request
    /// that was refused was sent.
    pub fn drop_session_if_current(&self, sent: &SessionSnapshot) {
        let current = self.session.load_full();
        if current.generation != sent.generation || current.token.is_none() {
            return;
        }
        let dropped = Arc::new(SessionState {
            token: None,
            generation: current.generation + 1,
        });
        // Lost the race to a concurrent change: that change wins, as it came later.
        self.session.compare_and_swap(&current, dropped);
    }
}

/// A value that goes into an HTTP header: present, and free of control characters (CR and
/// LF would let it write headers of its own). The one check of every header value.
pub fn header_value(name: &str, value: &str) -> Result<HeaderValue, ApiError> {
    // Blank is refused like empty: a header of spaces alone reaches the service as empty.
    if value.trim().is_empty() {
        return Err(missing_value(name));
    }
    if let Some(bad) = value.chars().find(|c| c.is_control() && *c != '\t') {
        let what = match bad {
            '\r' => "a carriage return (CR)".to_owned(),
            '\n' => "a line feed (LF)".to_owned(),
            other => format!("the control character U+{:04X}", other as u32),
        };
        return Err(invalid_named_argument(
            name,
            format!("contains {what}; it is sent as an HTTP header value, which cannot hold it"),
        ));
    }
    HeaderValue::from_str(value)
        .map_err(|_| invalid_named_argument(name, "cannot be sent as an HTTP header value"))
}

fn checked_millis(name: &str, value: Option<u64>, default: u64) -> Result<u64, ApiError> {
    match value {
        None => Ok(default),
        Some(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => Ok(ms),
        // Quantities in words, not in the option's unit, so that a binding that calls the
        // option otherwise (Python's `timeout`, in seconds) can put its own name in.
        Some(_) => Err(invalid_named_argument(
            name,
            format!(
                "must be at least 1 millisecond and at most one day (the default is {})",
                in_words(Duration::from_millis(default))
            ),
        )),
    }
}

/// "30 seconds", "10 seconds", "1 minute": a default duration in words.
fn in_words(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        60 => "1 minute".to_owned(),
        s if s % 60 == 0 && s > 0 => format!("{} minutes", s / 60),
        1 => "1 second".to_owned(),
        s => format!("{s} seconds"),
    }
}

/// Trims white space and one trailing `/`, then checks that an absolute http(s) URL with a
/// host is left, without query or fragment (request paths are appended to it).
pub fn normalize_env_url(env_url: &str) -> Result<String, ApiError> {
    let trimmed = env_url.trim();
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    // Whatever is wrong with it, a password it might hold is never repeated.
    let shown = without_userinfo(env_url);
    let invalid = |reason: &str| {
        let mut error = argument_error(
            codes::INVALID_ENV_URL,
            "env_url",
            format!(
                "{shown:?} {reason}; pass your app's environment URL, \
                 e.g. https://myapp.c1-na.altogic.com"
            ),
        );
        error.items[0]["details"]["envUrl"] = json!(shown);
        error
    };
    if trimmed.is_empty() {
        return Err(missing_value("env_url"));
    }
    let lower = trimmed.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(invalid("does not start with http:// or https://"));
    }
    if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid("contains white space or control characters"));
    }
    let parsed =
        url::Url::parse(trimmed).map_err(|err| invalid(&format!("is not a valid URL ({err})")))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "carries a user name or password (user:password@); Altogic's URLs carry none. \
             Pass keys with client_key and apiKey",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid(
            "has a query or fragment; request paths are appended to it",
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_url_is_trimmed_once() {
        assert_eq!(
            normalize_env_url("  https://a.example.com/ \n").unwrap(),
            "https://a.example.com"
        );
        assert_eq!(
            normalize_env_url("http://127.0.0.1:8787").unwrap(),
            "http://127.0.0.1:8787"
        );
        assert_eq!(
            normalize_env_url("https://a.example.com/base//").unwrap(),
            "https://a.example.com/base/"
        );
    }

    #[test]
    fn task_urls_are_the_env_url_and_the_path() {
        let client =
            Client::new("https://a.example.com/app/", "k", ClientOptions::default()).unwrap();
        assert_eq!(
            client.task_url().as_str(),
            "https://a.example.com/app/_api/rest/v1/task"
        );
        assert_eq!(
            client.task_status_url("..%2Fx%3Fy%20%C3%A9").as_str(),
            "https://a.example.com/app/_api/rest/v1/task/..%2Fx%3Fy%20%C3%A9"
        );
        assert_eq!(client.origin(), "https://a.example.com");
        let client = Client::new("http://127.0.0.1:9/", "k", ClientOptions::default()).unwrap();
        assert_eq!(client.origin(), "http://127.0.0.1:9");
    }

    #[test]
    fn bad_env_urls_are_refused() {
        for url in [
            "ftp://x",
            "myapp.altogic.com",
            "http://",
            "https://a.com/?q=1",
            "https://a b.com",
            "http://a.com/\r\nX: y",
        ] {
            let err = normalize_env_url(url).unwrap_err();
            assert_eq!(err.first_code(), Some(codes::INVALID_ENV_URL), "{url}");
        }
        assert_eq!(
            normalize_env_url("  ").unwrap_err().first_code(),
            Some(codes::MISSING_REQUIRED_VALUE)
        );
    }

    #[test]
    fn options_refuse_unknown_keys_and_wrong_types() {
        let err = ClientOptions::from_json(r#"{"timeout":5}"#).unwrap_err();
        assert_eq!(err.first_code(), Some(codes::INVALID_ARGUMENT));
        assert!(err.items[0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `timeout`"));
        assert!(ClientOptions::from_json(r#"{"timeoutMs":"5"}"#).is_err());
        assert!(ClientOptions::from_json(r#"{"timeoutMs":-5}"#).is_err());
        assert!(ClientOptions::from_json("[]").is_err());
        let options = ClientOptions::from_json(
            r#"{"apiKey":"k","session":"s","timeoutMs":5,"connectTimeoutMs":6,"maxResponseBytes":7}"#,
        )
        .unwrap();
        assert_eq!(options.timeout_ms, Some(5));
        assert_eq!(options.max_response_bytes, Some(7));
    }

    #[test]
    fn limits_are_checked() {
        let zero = ClientOptions {
            timeout_ms: Some(0),
            ..Default::default()
        };
        assert!(Client::new("http://h", "k", zero).is_err());
        let huge = ClientOptions {
            connect_timeout_ms: Some(MAX_TIMEOUT_MS + 1),
            ..Default::default()
        };
        assert!(Client::new("http://h", "k", huge).is_err());
        let no_bytes = ClientOptions {
            max_response_bytes: Some(0),
            ..Default::default()
        };
        assert!(Client::new("http://h", "k", no_bytes).is_err());
    }

    #[test]
    fn header_values_refuse_cr_lf() {
        let err =
            Client::new("http://h", "key\r\nX-Evil: 1", ClientOptions::default()).unwrap_err();
        assert_eq!(err.first_code(), Some(codes::INVALID_ARGUMENT));
        let client = Client::new("http://h", "key", ClientOptions::default()).unwrap();
        assert!(client.set_session(Some("a\nb")).is_err());
        assert_eq!(
            client.set_session(Some("")).unwrap_err().first_code(),
            Some(codes::MISSING_REQUIRED_VALUE)
        );
        client.set_session(Some("tok\tok")).unwrap();
        assert_eq!(client.session().as_deref(), Some("tok\tok"));
    }

    #[test]
    fn session_is_dropped_only_if_unchanged() {
        let client = Client::new("http://h", "key", ClientOptions::default()).unwrap();
        client.set_session(Some("one")).unwrap();
        let sent = client.session_snapshot();
        client.set_session(Some("two")).unwrap();
        client.drop_session_if_current(&sent);
        assert_eq!(client.session().as_deref(), Some("two"));
        let sent = client.session_snapshot();
        client.drop_session_if_current(&sent);
        assert_eq!(client.session(), None);
    }
}
