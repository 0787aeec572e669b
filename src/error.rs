//! The APIError shape every failure takes, the codes this library produces, and the rule
//! that makes every error item usable by a typed binding (string `origin`, `code`,
//! `message`), whatever the service sent.
//!
//! The bottom of the crate with [`crate::info`]: every other module may use it, it uses
//! none of them.

use http::StatusCode;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::info::TaskInfo;

/// The longest `message` an error item keeps, in characters; longer ones are cut and end
/// with `…`.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// `statusText` of errors that never got a usable HTTP answer (`status` 0).
pub const CLIENT_ERROR_STATUS_TEXT: &str = "Client Error";

/// Error codes this library produces itself (status 0 unless stated otherwise). build.rs
/// copies each into the header as `ALTOGIC_CODE_<NAME>`, so C callers and the bindings'
/// tests read them from one place.
pub mod codes {
    /// A required argument was NULL, empty or blank, or the client handle was NULL.
    pub const MISSING_REQUIRED_VALUE: &str = "missing_required_value";
    /// An argument was not UTF-8, held CR/LF where a header value goes, or an option was bad.
    pub const INVALID_ARGUMENT: &str = "invalid_argument";
    /// The environment URL is not an absolute http(s) URL, or carries a user name or password.
    pub const INVALID_ENV_URL: &str = "invalid_env_url";
    /// Connection refused, DNS failure, connection reset or closed, a proxy that could not
    /// be reached.
    pub const NETWORK_ERROR: &str = "network_error";
    /// A certificate or TLS handshake failure: unknown issuer, expired, wrong name, refused
    /// handshake, a server that does not speak TLS. Asking again would not change it.
    pub const TLS_ERROR: &str = "tls_error";
    /// The proxy refused to carry the request (HTTP 407, or a refused CONNECT tunnel).
    pub const PROXY_ERROR: &str = "proxy_error";
    /// The call (or the wait) did not finish in time.
    pub const TIMEOUT: &str = "timeout";
    /// The call was cancelled through its cancellation token.
    pub const CANCELLED: &str = "cancelled";
    /// A wait's execution is not kept by the service: the id is unknown, or the execution is
    /// older than the service's retention (seven days). `details.taskId` names it. (A
    /// getTaskStatus answers `info` null instead, as the official client does.)
    pub const EXECUTION_NOT_FOUND: &str = "execution_not_found";
    /// A 2xx answer whose body is not a JSON TaskInfo.
    pub const INVALID_RESPONSE: &str = "invalid_response";
    /// The answer's body is larger than `maxResponseBytes`.
    pub const RESPONSE_TOO_LARGE: &str = "response_too_large";
    /// A 3xx answer: redirects are never followed (keeps keys on the configured origin).
    pub const REDIRECT_NOT_FOLLOWED: &str = "redirect_not_followed";
    /// Not a failure of its own: the item added after the first `ALTOGIC_MAX_ERROR_ITEMS`
    /// items of an error answer, saying in `details.droppedItems` how many were dropped.
    pub const ERROR_ITEMS_DROPPED: &str = "error_items_dropped";
    /// A fault of the library itself: a panic caught at the C boundary (with its message),
    /// or a runtime or HTTP client that could not be built. Never the caller's doing.
    pub const INTERNAL_ERROR: &str = "internal_error";
}

/// The APIError object: `{"status":..,"statusText":..,"items":[..]}`.
///
/// Every item has string `origin`, `code` and `message`: items this library makes are
/// built that way, and items from the service go through [`normalize_item`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    pub status: u16,
    #[serde(rename = "statusText")]
    pub status_text: String,
    pub items: Vec<Value>,
    /// The last TaskInfo a wait saw before it timed out; the C envelope puts it in `info`.
    #[serde(skip)]
    pub last_info: Option<TaskInfo>,
}

impl ApiError {
    /// A failure that never reached the service or got no usable answer: status 0,
    /// one `client_error` item.
    pub fn client(code: &str, message: impl Into<String>, details: Option<Value>) -> ApiError {
        ApiError {
            status: 0,
            status_text: CLIENT_ERROR_STATUS_TEXT.to_owned(),
            items: vec![error_item("client_error", code, message, details)],
            last_info: None,
        }
    }

    /// An answer of the service with a non-2xx status, its items made well-formed.
    pub fn from_service(status: StatusCode, items: Vec<Value>) -> ApiError {
        ApiError {
            status: status.as_u16(),
            status_text: reason_phrase(status).to_owned(),
            items: items
                .into_iter()
                .map(|item| normalize_item(status, item))
                .collect(),
            last_info: None,
        }
    }

    /// The code of the first item, when it has one.
    pub fn first_code(&self) -> Option<&str> {
        self.items
            .first()
            .and_then(|item| item.get("code"))
            .and_then(Value::as_str)
    }

    /// Whether any item carries `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.items
            .iter()
            .any(|item| item.get("code").and_then(Value::as_str) == Some(code))
    }

    /// Whether this failure never got an answer from the service and has `code`.
    pub fn is_client(&self, code: &str) -> bool {
        self.status == 0 && self.has_code(code)
    }

    /// Compact one-line JSON, as handed to C callers.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and JSON values always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// `invalid_argument`: an argument or option the library cannot use.
/// `text` in double quotes for a message, control characters and quotes escaped but not
/// backslashes, so that a Windows path reads as the user wrote it (`{:?}` doubles them).
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn invalid_argument(message: impl Into<String>) -> ApiError {
    ApiError::client(codes::INVALID_ARGUMENT, message, None)
}

/// An error about the argument `name` (as the C API names it): the message is
/// "{name} {reason}.", and `details` carries both, `argument` and `reason`, so that a
/// binding says the same with its own name for the argument ("{its name} {reason}")
/// instead of rewriting the message. `reason` follows the name, ends without a full stop,
/// and uses no word of one language (no `NULL`, `None` or `nil`; quantities in words).
pub fn argument_error(code: &str, name: &str, reason: impl Into<String>) -> ApiError {
    let reason = reason.into();
    ApiError::client(
        code,
        format!("{name} {reason}."),
        Some(json!({ "argument": name, "reason": reason })),
    )
}

/// `invalid_argument` about the argument `name` (see [`argument_error`]).
pub fn invalid_named_argument(name: &str, reason: impl Into<String>) -> ApiError {
    argument_error(codes::INVALID_ARGUMENT, name, reason)
}

/// `missing_required_value`: the argument `name` was empty or blank.
pub fn missing_value(name: &str) -> ApiError {
    argument_error(
        codes::MISSING_REQUIRED_VALUE,
        name,
        "is required but was empty or blank",
    )
}

/// `missing_required_value`: the argument `name` was a NULL pointer, which only C can pass.
pub fn null_argument(name: &str) -> ApiError {
    argument_error(
        codes::MISSING_REQUIRED_VALUE,
        name,
        "is required but was NULL",
    )
}

/// One ErrorEntry as this library writes it.
pub fn error_item(
    origin: &str,
    code: &str,
    message: impl Into<String>,
    details: Option<Value>,
) -> Value {
    json!({
        "origin": origin,
        "code": code,
        "message": message.into(),
        "details": details.unwrap_or(Value::Null),
    })
}

/// The standard reason phrase ("Not Found"), or "Unknown Status" for codes without one.
pub fn reason_phrase(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Unknown Status")
}

/// `origin` for an answer with this status: `server_error` for 5xx, else `client_error`.
pub fn origin_of(status: StatusCode) -> &'static str {
    if status.is_server_error() {
        "server_error"
    } else {
        "client_error"
    }
}

/// `code` for an answer with this status: its reason phrase in snake_case
/// (`internal_server_error`), or `http_599` for a status without one.
pub fn code_of(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => snake_case(reason),
        None => format!("http_{}", status.as_u16()),
    }
}

/// Makes an item from the service well-formed. An object keeps every field it has; a
/// missing or non-string `origin` or `code` is derived from the status, and a missing
/// `message` says which answer it came from (a non-string one becomes its JSON text). An
/// item that is not an object (a string, a number) becomes one whose message is its text.
pub fn normalize_item(status: StatusCode, item: Value) -> Value {
    let mut object = match item {
        Value::Object(object) => object,
        Value::String(text) => single_field("message", Value::String(text)),
        other => single_field("message", Value::String(other.to_string())),
    };
    if !object.get("origin").is_some_and(Value::is_string) {
        object.insert("origin".to_owned(), json!(origin_of(status)));
    }
    let has_code = matches!(object.get("code"), Some(Value::String(code)) if !code.is_empty());
    if !has_code {
        object.insert("code".to_owned(), json!(code_of(status)));
    }
    match object.get_mut("message") {
        Some(Value::String(message)) => {
            if message.chars().nth(MAX_MESSAGE_CHARS).is_some() {
                *message = truncate_chars(message, MAX_MESSAGE_CHARS);
            }
        }
        None | Some(Value::Null) => {
            let message = format!(
                "The service answered HTTP {} {} without a message.",
                status.as_u16(),
                reason_phrase(status)
            );
            object.insert("message".to_owned(), Value::String(message));
        }
        Some(other) => {
            let text = truncate_chars(&other.to_string(), MAX_MESSAGE_CHARS);
            object.insert("message".to_owned(), Value::String(text));
        }
    }
    Value::Object(object)
}

/// `text` with the user name and password of a URL in it (`scheme://user:pass@host`)
/// replaced by `***`, for messages. Works on text that is not a valid URL too.
pub fn without_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://").map(|at| at + 3) else {
        return text.to_owned();
    };
    let rest = &text[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..scheme_end], &rest[at..]),
        None => text.to_owned(),
    }
}

/// `text` cut to `max` characters, ending with `…` when it was cut.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

fn single_field(name: &str, value: Value) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert(name.to_owned(), value);
    object
}

/// "Internal Server Error" -> "internal_server_error".
fn snake_case(phrase: &str) -> String {
    let mut code = String::with_capacity(phrase.len());
    for c in phrase.chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c.to_ascii_lowercase());
        } else if !code.ends_with('_') {
            code.push('_');
        }
    }
    code.trim_matches('_').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn client_error_has_the_official_shape() {
        let error = ApiError::client(codes::TIMEOUT, "too slow", Some(json!({"timeoutMs": 5})));
        assert_eq!(
            error.to_json(),
            r#"{"status":0,"statusText":"Client Error","items":[{"origin":"client_error","code":"timeout","message":"too slow","details":{"timeoutMs":5}}]}"#
        );
    }

    #[test]
    fn codes_are_found_in_any_item() {
        let mut error = ApiError::client(codes::NETWORK_ERROR, "x", None);
        error.items.push(json!({"code": "invalid_session_token"}));
        assert_eq!(error.first_code(), Some("network_error"));
        assert!(error.has_code("invalid_session_token"));
        assert!(!error.has_code("missing_session_token"));
        assert!(error.is_client(codes::NETWORK_ERROR));
    }

    #[test]
    fn items_missing_fields_are_filled_in_and_keep_the_rest() {
        let item = normalize_item(status(404), json!({"details": {"a": 1}, "extra": true}));
        assert_eq!(
            item,
            json!({"details":{"a":1},"extra":true,"origin":"client_error","code":"not_found",
                   "message":"The service answered HTTP 404 Not Found without a message."})
        );
        let item = normalize_item(status(503), json!({"code": 7, "message": {"x": 1}}));
        assert_eq!(item["origin"], "server_error");
        assert_eq!(item["code"], "service_unavailable");
        assert_eq!(item["message"], r#"{"x":1}"#);
        let kept = json!({"origin":"o","code":"c","message":"m","details":null});
        assert_eq!(normalize_item(status(400), kept.clone()), kept);
    }

    #[test]
    fn items_that_are_not_objects_become_objects() {
        let item = normalize_item(status(500), json!("disk full"));
        assert_eq!(
            item,
            json!({"message":"disk full","origin":"server_error","code":"internal_server_error"})
        );
        let item = normalize_item(status(599), json!(42));
        assert_eq!(item["message"], "42");
        assert_eq!(item["code"], "http_599");
    }

    #[test]
    fn snake_case_codes() {
        assert_eq!(code_of(status(500)), "internal_server_error");
        assert_eq!(code_of(status(203)), "non_authoritative_information");
        assert_eq!(code_of(status(418)), "i_m_a_teapot");
    }
}

#[cfg(test)]
mod quoting_tests {
    use super::quoted;

    #[test]
    fn windows_paths_keep_single_backslashes() {
        assert_eq!(quoted(r"C:\certs\ca.pem"), r#""C:\certs\ca.pem""#);
        assert_eq!(quoted("a\"b\nc"), r#""a\"b\nc""#);
    }
}
