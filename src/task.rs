//! The task manager calls: `runOnce`, `getTaskStatus`, and waiting for an execution to end,
//! and how an answer of the service becomes an [`Outcome`] the way the official client
//! makes it.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::cancel::CancelToken;
use crate::client::{invalid_argument, missing_value, Client};
use crate::error::{code_of, codes, error_item, origin_of, reason_phrase, ApiError};
use crate::transport::{self, quote_body, Request};

const INVALID_SESSION_TOKEN: &str = "invalid_session_token";
const MISSING_SESSION_TOKEN: &str = "missing_session_token";

/// Everything but RFC 3986 unreserved characters is escaped, so an id is exactly one path
/// segment: `../x?y` becomes `..%2Fx%3Fy`.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// First pause between two status polls of a wait; doubled up to [`WAIT_MAX_BACKOFF`].
pub const WAIT_FIRST_BACKOFF: Duration = Duration::from_millis(50);
pub const WAIT_MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What every task call answers: the TaskInfo (None once the service no longer keeps the
/// execution), or the error.
pub type TaskResult = Result<Option<TaskInfo>, ApiError>;

/// A TaskInfo object exactly as the service sent it: every field, in its order, with its
/// numbers spelled as they were (only white space between tokens is removed, so it fits on
/// one line). The fields the library itself needs are read once.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    raw: Box<RawValue>,
    task_id: Option<String>,
    status: Option<String>,
}

/// The fields of a TaskInfo the library reads; any others are skipped.
#[derive(Deserialize)]
struct KnownFields<'a> {
    #[serde(rename = "taskId", borrow, default)]
    task_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
}

impl TaskInfo {
    /// Reads a TaskInfo from JSON text: Ok(None) for JSON `null`, Err(the JSON kind) for
    /// anything that is not an object.
    pub fn from_json(text: &str) -> Result<Option<TaskInfo>, &'static str> {
        let raw: &RawValue = serde_json::from_str(text).map_err(|_| "a body that is not JSON")?;
        match raw.get().as_bytes().first() {
            Some(b'{') => {}
            Some(b'n') => return Ok(None),
            Some(b'[') => return Err("JSON array"),
            Some(b'"') => return Err("JSON string"),
            Some(b't' | b'f') => return Err("JSON boolean"),
            _ => return Err("JSON number"),
        }
        // A field of another type than expected (a numeric status, say) is read as absent.
        let known = serde_json::from_str::<KnownFields<'_>>(raw.get()).unwrap_or_else(|_| {
            let map: Map<String, Value> = serde_json::from_str(raw.get()).unwrap_or_default();
            let field = |name: &str| map.get(name).and_then(Value::as_str).map(|s| s.to_owned());
            KnownFields {
                task_id: field("taskId").map(Cow::Owned),
                status: field("status").map(Cow::Owned),
            }
        });
        // A compact answer is copied as it is; only one with white space is validated again.
        let raw = match compact_json(raw.get()) {
            Cow::Borrowed(_) => raw.to_owned(),
            Cow::Owned(compact) => {
                RawValue::from_string(compact).map_err(|_| "a body that is not JSON")?
            }
        };
        Ok(Some(TaskInfo {
            task_id: known.task_id.map(Cow::into_owned),
            status: known.status.map(Cow::into_owned),
            raw,
        }))
    }

    /// The id of this execution, when the object has a string `taskId`.
    pub fn task_id(&self) -> Option<&str> {
        self.task_id.as_deref()
    }

    /// `pending`, `processing`, `completed` or `errors`, when the object has a string `status`.
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }

    /// Whether the execution has ended (`completed` or `errors`) and will change no more.
    pub fn is_final(&self) -> bool {
        self.status().is_some_and(is_final_status)
    }

    /// The object as compact one-line JSON text.
    pub fn as_json(&self) -> &str {
        self.raw.get()
    }

    /// The object's fields, parsed.
    pub fn fields(&self) -> Map<String, Value> {
        serde_json::from_str(self.raw.get()).unwrap_or_default()
    }
}

impl PartialEq for TaskInfo {
    fn eq(&self, other: &TaskInfo) -> bool {
        self.as_json() == other.as_json()
    }
}

impl Serialize for TaskInfo {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

/// Removes white space between JSON tokens (never inside strings); borrows when there is
/// none, as with every compact answer.
fn compact_json(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let (mut in_string, mut escaped) = (false, false);
    // Allocated at the first byte to drop; only ASCII bytes are dropped, so it stays UTF-8.
    let mut compact: Option<Vec<u8>> = None;
    for (index, &byte) in bytes.iter().enumerate() {
        let dropped = if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            false
        } else {
            in_string = byte == b'"';
            matches!(byte, b' ' | b'\n' | b'\r' | b'\t')
        };
        match (&mut compact, dropped) {
            (None, true) => compact = Some(bytes[..index].to_vec()),
            (Some(kept), false) => kept.push(byte),
            _ => {}
        }
    }
    match compact.map(String::from_utf8) {
        Some(Ok(compact)) => Cow::Owned(compact),
        _ => Cow::Borrowed(text),
    }
}

/// A task id as one percent-encoded path segment: only RFC 3986 unreserved characters stay
/// as they are.
pub fn task_path_segment(task_id: &str) -> String {
    utf8_percent_encode(task_id, PATH_SEGMENT).to_string()
}

/// Statuses after which an execution changes no more.
pub fn is_final_status(status: &str) -> bool {
    matches!(status, "completed" | "errors")
}

/// A failure a wait outlives: the service was unreachable, slow, overloaded or failing.
/// Other answers (401, 404, a malformed body) would not change by asking again.
fn is_transient(error: &ApiError) -> bool {
    error.is_client(codes::NETWORK_ERROR)
        || error.is_client(codes::TIMEOUT)
        || error.status == 429
        || (500..=599).contains(&error.status)
}

impl Client {
    /// `POST {envUrl}/_api/rest/v1/task` with `{"taskNameOrId": ...}`: runs the task now,
    /// ahead of its schedule. A triggered `cancel` ends the call at once.
    pub fn run_once(&self, task_name_or_id: &str, cancel: Option<&CancelToken>) -> TaskResult {
        if task_name_or_id.is_empty() {
            return Err(missing_value("task_name_or_id"));
        }
        let body = json!({ "taskNameOrId": task_name_or_id }).to_string();
        self.call(
            Method::POST,
            self.task_url().clone(),
            Some(body),
            self.timeout(),
            "runOnce",
            cancel,
        )
    }

    /// `GET {envUrl}/_api/rest/v1/task/{taskId}`: the execution's TaskInfo, or None when
    /// the service no longer keeps it (after seven days).
    pub fn get_task_status(&self, task_id: &str, cancel: Option<&CancelToken>) -> TaskResult {
        self.get_task_status_within(task_id, self.timeout(), cancel)
    }

    fn get_task_status_within(
        &self,
        task_id: &str,
        deadline: Duration,
        cancel: Option<&CancelToken>,
    ) -> TaskResult {
        if task_id.is_empty() {
            return Err(missing_value("task_id"));
        }
        if task_id == "." || task_id == ".." {
            // URL parsers resolve these (even escaped as %2E) instead of sending them.
            return Err(invalid_argument(format!(
                "task_id {task_id:?} cannot be sent as a path segment; pass the taskId that \
                 runOnce returned."
            )));
        }
        let segment = task_path_segment(task_id);
        self.call(
            Method::GET,
            self.task_status_url(&segment),
            None,
            deadline,
            "getTaskStatus",
            cancel,
        )
    }

    /// Polls the status until it is `completed` or `errors`, or the execution is gone,
    /// backing off from [`WAIT_FIRST_BACKOFF`] to [`WAIT_MAX_BACKOFF`]. `timeout` None waits
    /// without a deadline of its own (until the task ends or `cancel` is triggered); zero
    /// polls once.
    ///
    /// A poll that fails for a transient reason (network, timeout, 429, 5xx) is retried
    /// with the same backoff; any other error ends the wait. On its deadline the wait fails
    /// with `timeout`, carrying the last TaskInfo seen and the last transient error.
    pub fn wait_for_task(
        &self,
        task_id: &str,
        timeout: Option<Duration>,
        cancel: Option<&CancelToken>,
    ) -> TaskResult {
        let started = Instant::now();
        let deadline = timeout.and_then(|timeout| started.checked_add(timeout));
        // Time left before the wait's deadline; None when it has none.
        let time_left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let poll_once = timeout.is_some_and(|timeout| timeout.is_zero());
        let mut backoff = WAIT_FIRST_BACKOFF;
        let mut last_info = None;
        let mut last_error = None;
        loop {
            // `timeout` zero still makes one whole poll.
            let left = if poll_once { None } else { time_left() };
            if left.is_some_and(|left| left.is_zero()) {
                return Err(wait_timeout(task_id, timeout, last_info, last_error));
            }
            // The last poll may get less than timeoutMs: the wait's own deadline comes first.
            let poll_deadline = left.map_or(self.timeout(), |left| left.min(self.timeout()));
            let cut_by_wait = poll_deadline < self.timeout();
            match self.get_task_status_within(task_id, poll_deadline, cancel) {
                Ok(Some(info)) if !info.is_final() => {
                    last_info = Some(info);
                    last_error = None;
                }
                Ok(done) => return Ok(done),
                Err(error) if error.is_client(codes::TIMEOUT) && cut_by_wait => {
                    return Err(wait_timeout(task_id, timeout, last_info, Some(error)));
                }
                Err(error) if is_transient(&error) => last_error = Some(error),
                Err(error) => return Err(error),
            }
            let pause = time_left().map_or(backoff, |left| left.min(backoff));
            if poll_once || pause.is_zero() {
                return Err(wait_timeout(task_id, timeout, last_info, last_error));
            }
            transport::pause(pause, cancel, "wait", started)?;
            backoff = (backoff * 2).min(WAIT_MAX_BACKOFF);
        }
    }

    fn call(
        &self,
        method: Method,
        url: reqwest::Url,
        json_body: Option<String>,
        deadline: Duration,
        description: &str,
        cancel: Option<&CancelToken>,
    ) -> TaskResult {
        let session = self.session_snapshot();
        let headers = self.request_headers(session.token.as_deref())?;
        let response = transport::send(
            Request {
                method,
                url,
                headers,
                json_body,
                deadline,
                connect_timeout: self.connect_timeout(),
                max_response_bytes: self.max_response_bytes(),
                description,
            },
            cancel,
        )?;
        let result = interpret(response.status, &response.body);
        if let Err(errors) = &result {
            if errors.status != 0
                && (errors.has_code(INVALID_SESSION_TOKEN)
                    || errors.has_code(MISSING_SESSION_TOKEN))
            {
                self.drop_session_if_current(&session);
            }
        }
        result
    }
}

fn wait_timeout(
    task_id: &str,
    timeout: Option<Duration>,
    last_info: Option<TaskInfo>,
    last_error: Option<ApiError>,
) -> ApiError {
    let timeout_ms = timeout.unwrap_or_default().as_millis() as u64;
    let last_status = last_info
        .as_ref()
        .and_then(TaskInfo::status)
        .map(str::to_owned);
    let mut error = ApiError::client(
        codes::TIMEOUT,
        format!(
            "task {task_id:?} did not finish within {timeout_ms} ms (last status: {}{}). Wait \
             again, or pass a larger timeout_ms.",
            last_status.as_deref().unwrap_or("unknown"),
            last_error
                .as_ref()
                .and_then(ApiError::first_code)
                .map(|code| format!(", last error: {code}"))
                .unwrap_or_default(),
        ),
        Some(json!({
            "timeoutMs": timeout_ms,
            "lastStatus": last_status,
            "lastError": last_error,
        })),
    );
    error.last_info = last_info;
    error
}

/// Turns a complete answer into the result the official client gives for it, with the
/// improvements the library makes (a non-JSON error body still gives well-formed errors;
/// a 2xx body that is not JSON is an `invalid_response` instead of a silent null).
pub fn interpret(status: StatusCode, body: &[u8]) -> TaskResult {
    let blank = body.iter().all(u8::is_ascii_whitespace);
    if status.is_success() {
        if blank {
            return Ok(None);
        }
        let text = std::str::from_utf8(body).map_err(|_| "a body that is not UTF-8 text");
        return text
            .and_then(TaskInfo::from_json)
            .map_err(|what| invalid_response(status, body, what));
    }
    let items = match (!blank).then(|| serde_json::from_slice::<Value>(body)) {
        Some(Ok(value @ (Value::Object(_) | Value::Array(_)))) => error_items(value),
        _ => Vec::new(),
    };
    // An error always has at least one item to read the code from.
    let items = if items.is_empty() {
        vec![synthesized_item(status, body)]
    } else {
        items
    };
    Err(ApiError::from_service(status, items))
}

/// `{"errors":[...]}`, `{"errors":{...}}`, a bare array, or a single object, as the
/// official client reads them.
fn error_items(value: Value) -> Vec<Value> {
    match value {
        Value::Object(mut object) => match object.remove("errors") {
            Some(Value::Array(items)) => items,
            Some(errors) if is_truthy(&errors) => vec![errors],
            Some(errors) => {
                object.insert("errors".to_owned(), errors);
                vec![Value::Object(object)]
            }
            None => vec![Value::Object(object)],
        },
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// JavaScript truthiness, which decides whether the official client takes `errors`.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

fn synthesized_item(status: StatusCode, body: &[u8]) -> Value {
    let reason = reason_phrase(status);
    let message = if body.iter().all(u8::is_ascii_whitespace) {
        format!(
            "The service answered HTTP {} {reason} with an empty body.",
            status.as_u16()
        )
    } else {
        format!(
            "The service answered HTTP {} {reason} with a body that holds no Altogic error \
             object: {}",
            status.as_u16(),
            quote_body(body)
        )
    };
    error_item(origin_of(status), &code_of(status), message, None)
}

fn invalid_response(status: StatusCode, body: &[u8], what: &str) -> ApiError {
    ApiError::client(
        codes::INVALID_RESPONSE,
        format!(
            "The service answered HTTP {} with {what} where a TaskInfo object was expected: {}",
            status.as_u16(),
            quote_body(body)
        ),
        Some(json!({ "httpStatus": status.as_u16() })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::envelope_json;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    fn envelope(status_code: u16, body: &[u8]) -> String {
        envelope_json(interpret(status(status_code), body))
    }

    #[test]
    fn success_bodies() {
        assert_eq!(
            envelope(200, br#"{"taskId":"t","status":"pending","new":{"a":1}}"#),
            r#"{"info":{"taskId":"t","status":"pending","new":{"a":1}},"errors":null}"#
        );
        for expired in [&b""[..], b"null", b" \n", b" null "] {
            assert_eq!(envelope(200, expired), r#"{"info":null,"errors":null}"#);
        }
        for (body, what) in [
            (&b"<html>"[..], "not JSON"),
            (b"[1]", "JSON array"),
            (b"\"x\"", "JSON string"),
            (b"12", "JSON number"),
            (b"true", "JSON boolean"),
            (b"{\"a\":\xff}", "not UTF-8"),
        ] {
            let error = interpret(status(200), body).unwrap_err();
            assert_eq!(error.first_code(), Some(codes::INVALID_RESPONSE));
            assert_eq!(error.items[0]["details"]["httpStatus"], 200);
            let message = error.items[0]["message"].as_str().unwrap();
            assert!(message.contains(what), "{message}");
        }
    }

    #[test]
    fn task_info_keeps_its_spelling_on_one_line() {
        let body = "{ \"taskId\" : \"a b\",\n \"status\":\"processing\", \"n\": [1e400, -0, 1.50, 1E5],\n \"s\": \"x \\\" y\\n\" }";
        let info = TaskInfo::from_json(body).unwrap().unwrap();
        assert_eq!(
            info.as_json(),
            r#"{"taskId":"a b","status":"processing","n":[1e400,-0,1.50,1E5],"s":"x \" y\n"}"#
        );
        assert_eq!(info.task_id(), Some("a b"));
        assert_eq!(info.status(), Some("processing"));
        assert!(!info.is_final());
        let odd = TaskInfo::from_json(r#"{"status":5,"taskId":"t"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(odd.status(), None);
        assert_eq!(odd.task_id(), Some("t"));
    }

    #[test]
    fn error_bodies_in_every_shape() {
        let entry = r#"{"origin":"client_error","code":"not_found","message":"m","details":null}"#;
        let expected = format!(
            r#"{{"info":null,"errors":{{"status":404,"statusText":"Not Found","items":[{entry}]}}}}"#
        );
        for body in [
            format!(r#"{{"errors":[{entry}]}}"#),
            format!(r#"{{"errors":{entry}}}"#),
            format!("[{entry}]"),
            entry.to_owned(),
        ] {
            assert_eq!(envelope(404, body.as_bytes()), expected, "{body}");
        }
    }

    #[test]
    fn error_items_are_made_well_formed() {
        let error = interpret(
            status(503),
            br#"{"errors":["disk full", 42, {"code":"busy"}, {"message":"m","extra":1}]}"#,
        )
        .unwrap_err();
        for item in &error.items {
            for field in ["origin", "code", "message"] {
                assert!(item[field].is_string(), "{item}");
            }
        }
        assert_eq!(error.items[0]["message"], "disk full");
        assert_eq!(error.items[1]["message"], "42");
        assert_eq!(error.items[2]["code"], "busy");
        assert_eq!(error.items[2]["origin"], "server_error");
        assert_eq!(error.items[3]["code"], "service_unavailable");
        assert_eq!(error.items[3]["extra"], 1);
    }

    #[test]
    fn non_json_error_bodies_are_well_formed() {
        let errors = interpret(status(500), b"<html>\nboom</html>").unwrap_err();
        assert_eq!(errors.status, 500);
        assert_eq!(errors.status_text, "Internal Server Error");
        assert_eq!(errors.items[0]["origin"], "server_error");
        assert_eq!(errors.items[0]["code"], "internal_server_error");
        assert!(errors.items[0]["message"]
            .as_str()
            .unwrap()
            .contains("<html> boom</html>"));
        let client = interpret(status(404), b"nope").unwrap_err();
        assert_eq!(client.items[0]["origin"], "client_error");
        assert_eq!(client.items[0]["code"], "not_found");
        let teapot = interpret(status(418), b"").unwrap_err();
        assert_eq!(teapot.items[0]["code"], "i_m_a_teapot");
        let unknown = interpret(status(599), b"\"x\"").unwrap_err();
        assert_eq!(unknown.items[0]["code"], "http_599");
        assert_eq!(unknown.items[0]["origin"], "server_error");
    }

    #[test]
    fn an_empty_error_list_still_gives_one_item() {
        for body in [&b"[]"[..], br#"{"errors":[]}"#] {
            let error = interpret(status(404), body).unwrap_err();
            assert_eq!(error.items.len(), 1);
            assert_eq!(error.items[0]["code"], "not_found");
            assert_eq!(error.items[0]["origin"], "client_error");
        }
    }

    #[test]
    fn falsy_errors_key_keeps_the_whole_object() {
        let items = error_items(json!({"errors": null, "code": "x"}));
        assert_eq!(items, vec![json!({"errors": null, "code": "x"})]);
    }

    #[test]
    fn ids_are_one_path_segment() {
        let encoded = utf8_percent_encode("../x?y #é", PATH_SEGMENT).to_string();
        assert_eq!(encoded, "..%2Fx%3Fy%20%23%C3%A9");
        assert_eq!(
            utf8_percent_encode("6237b225b9a84d607cd79044", PATH_SEGMENT).to_string(),
            "6237b225b9a84d607cd79044"
        );
    }

    #[test]
    fn transient_failures_are_told_apart() {
        assert!(is_transient(&ApiError::client(
            codes::NETWORK_ERROR,
            "x",
            None
        )));
        assert!(is_transient(&ApiError::client(codes::TIMEOUT, "x", None)));
        assert!(!is_transient(&ApiError::client(
            codes::INVALID_RESPONSE,
            "x",
            None
        )));
        for (code, transient) in [
            (429, true),
            (500, true),
            (503, true),
            (401, false),
            (404, false),
        ] {
            let error = interpret(status(code), b"").unwrap_err();
            assert_eq!(is_transient(&error), transient, "{code}");
        }
    }
}
