//! The task manager calls: `runOnce`, `getTaskStatus`, and waiting for an execution to end,
//! and how an answer of the service becomes an [`Outcome`] the way the official client
//! makes it.

use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::client::{invalid_argument, missing_value, Client};
use crate::outcome::{codes, error_item, ApiError, Outcome};
use crate::transport::{self, quote_body, reason_phrase, Request};

const TASK_PATH: &str = "/_api/rest/v1/task";
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

/// Statuses after which an execution changes no more.
pub fn is_final_status(status: &str) -> bool {
    matches!(status, "completed" | "errors")
}

impl Client {
    /// `POST {envUrl}/_api/rest/v1/task` with `{"taskNameOrId": ...}`: runs the task now,
    /// ahead of its schedule.
    pub fn run_once(&self, task_name_or_id: &str) -> Outcome {
        if task_name_or_id.is_empty() {
            return missing_value("task_name_or_id").into();
        }
        let body = json!({ "taskNameOrId": task_name_or_id }).to_string();
        self.call(
            Method::POST,
            format!("{}{TASK_PATH}", self.base_url()),
            Some(body),
            self.timeout(),
            "runOnce",
        )
    }

    /// `GET {envUrl}/_api/rest/v1/task/{taskId}`: the execution's TaskInfo, or info null
    /// when the service no longer keeps it (after seven days).
    pub fn get_task_status(&self, task_id: &str) -> Outcome {
        self.get_task_status_within(task_id, self.timeout())
    }

    fn get_task_status_within(&self, task_id: &str, deadline: Duration) -> Outcome {
        if task_id.is_empty() {
            return missing_value("task_id").into();
        }
        if task_id == "." || task_id == ".." {
            // URL parsers resolve these (even escaped as %2E) instead of sending them.
            return invalid_argument(format!(
                "task_id {task_id:?} cannot be sent as a path segment; pass the taskId that \
                 runOnce returned."
            ))
            .into();
        }
        let segment = utf8_percent_encode(task_id, PATH_SEGMENT);
        self.call(
            Method::GET,
            format!("{}{TASK_PATH}/{segment}", self.base_url()),
            None,
            deadline,
            "getTaskStatus",
        )
    }

    /// Polls the status until it is `completed` or `errors`, or info is null, backing off
    /// from [`WAIT_FIRST_BACKOFF`] to [`WAIT_MAX_BACKOFF`]. An error answer ends the wait and
    /// is returned as it is. `timeout` zero polls once. On timeout the last info seen comes
    /// back together with a `timeout` error.
    pub fn wait_for_task(&self, task_id: &str, timeout: Duration) -> Outcome {
        let deadline = Instant::now().checked_add(timeout);
        // Time left before the wait's deadline; None when it lies beyond what Instant holds,
        // and the wait polls until the task ends.
        let time_left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let mut backoff = WAIT_FIRST_BACKOFF;
        let mut last_info = None;
        loop {
            // `timeout` zero still makes one whole poll.
            let left = if timeout.is_zero() { None } else { time_left() };
            if left.is_some_and(|left| left.is_zero()) {
                return wait_timeout(task_id, timeout, last_info);
            }
            // The last poll may get less than timeoutMs: the wait's own deadline comes first.
            let poll_deadline = left.map_or(self.timeout(), |left| left.min(self.timeout()));
            let cut_by_wait = poll_deadline < self.timeout();
            let outcome = self.get_task_status_within(task_id, poll_deadline);
            if let Some(errors) = &outcome.errors {
                if errors.status == 0 && errors.has_code(codes::TIMEOUT) && cut_by_wait {
                    return wait_timeout(task_id, timeout, last_info);
                }
                return outcome;
            }
            if outcome.info.is_none() || outcome.task_status().is_some_and(is_final_status) {
                return outcome;
            }
            last_info = outcome.info;
            let pause = time_left().map_or(backoff, |left| left.min(backoff));
            if pause.is_zero() {
                return wait_timeout(task_id, timeout, last_info);
            }
            std::thread::sleep(pause);
            backoff = (backoff * 2).min(WAIT_MAX_BACKOFF);
        }
    }

    fn call(
        &self,
        method: Method,
        url: String,
        json_body: Option<String>,
        deadline: Duration,
        description: &str,
    ) -> Outcome {
        let session = self.session_snapshot();
        let headers = match self.request_headers(session.token.as_deref()) {
            Ok(headers) => headers,
            Err(error) => return error.into(),
        };
        let response = transport::send(Request {
            method,
            url,
            headers,
            json_body,
            deadline,
            connect_timeout: self.connect_timeout(),
            max_response_bytes: self.max_response_bytes(),
            description,
        });
        let outcome = match response {
            Ok(response) => interpret(response.status, &response.body),
            Err(error) => Outcome::error(error),
        };
        if let Some(errors) = &outcome.errors {
            if errors.status != 0
                && (errors.has_code(INVALID_SESSION_TOKEN)
                    || errors.has_code(MISSING_SESSION_TOKEN))
            {
                self.drop_session_if_current(&session);
            }
        }
        outcome
    }
}

fn wait_timeout(
    task_id: &str,
    timeout: Duration,
    last_info: Option<serde_json::Map<String, Value>>,
) -> Outcome {
    let last_status = last_info
        .as_ref()
        .and_then(|info| info.get("status"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let errors = ApiError::client(
        codes::TIMEOUT,
        format!(
            "task {task_id:?} did not finish within {} ms (last status: {}). Wait again, or \
             pass a larger timeout_ms.",
            timeout.as_millis(),
            last_status.as_deref().unwrap_or("unknown")
        ),
        Some(json!({ "timeoutMs": timeout.as_millis() as u64, "lastStatus": last_status })),
    );
    Outcome {
        info: last_info,
        errors: Some(errors),
    }
}

/// Turns a complete answer into the result the official client gives for it, with the
/// improvements PROTOCOL.md asks for (a non-JSON error body still gives well-formed errors;
/// a 2xx body that is not JSON is an `invalid_response` instead of a silent null).
pub fn interpret(status: StatusCode, body: &[u8]) -> Outcome {
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice::<Value>(body))
    };
    if status.is_success() {
        return match parsed {
            None | Some(Ok(Value::Null)) => Outcome::info(None),
            Some(Ok(Value::Object(info))) => Outcome::info(Some(info)),
            Some(Ok(other)) => {
                invalid_response(status, body, &format!("JSON {}", json_kind(&other)))
            }
            Some(Err(_)) => invalid_response(status, body, "a body that is not JSON"),
        };
    }
    let items = match parsed {
        Some(Ok(value @ (Value::Object(_) | Value::Array(_)))) => error_items(value),
        _ => vec![synthesized_item(status, body)],
    };
    Outcome::error(ApiError {
        status: status.as_u16(),
        status_text: reason_phrase(status).to_owned(),
        items,
    })
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
    let origin = if status.is_server_error() {
        "server_error"
    } else {
        "client_error"
    };
    let code = if status.canonical_reason().is_some() {
        snake_case(reason)
    } else {
        format!("http_{}", status.as_u16())
    };
    let message = if body.iter().all(u8::is_ascii_whitespace) {
        format!(
            "The service answered HTTP {} {reason} with an empty body.",
            status.as_u16()
        )
    } else {
        format!(
            "The service answered HTTP {} {reason} with a body that is not an Altogic error \
             object: {}",
            status.as_u16(),
            quote_body(body)
        )
    };
    error_item(origin, &code, message, None)
}

fn invalid_response(status: StatusCode, body: &[u8], what: &str) -> Outcome {
    Outcome::error(ApiError::client(
        codes::INVALID_RESPONSE,
        format!(
            "The service answered HTTP {} with {what} where a TaskInfo object was expected: {}",
            status.as_u16(),
            quote_body(body)
        ),
        Some(json!({ "httpStatus": status.as_u16() })),
    ))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
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
    fn success_bodies() {
        let outcome = interpret(
            status(200),
            br#"{"taskId":"t","status":"pending","new":{"a":1}}"#,
        );
        assert_eq!(
            outcome.to_json(),
            r#"{"info":{"taskId":"t","status":"pending","new":{"a":1}},"errors":null}"#
        );
        for expired in [&b""[..], b"null", b" \n"] {
            assert_eq!(
                interpret(status(200), expired).to_json(),
                r#"{"info":null,"errors":null}"#
            );
        }
        let not_json = interpret(status(200), b"<html>");
        assert_eq!(
            not_json.errors.as_ref().unwrap().first_code(),
            Some(codes::INVALID_RESPONSE)
        );
        assert_eq!(
            not_json.errors.as_ref().unwrap().items[0]["details"]["httpStatus"],
            200
        );
        let array = interpret(status(200), b"[1]");
        assert_eq!(
            array.errors.unwrap().first_code(),
            Some(codes::INVALID_RESPONSE)
        );
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
            assert_eq!(
                interpret(status(404), body.as_bytes()).to_json(),
                expected,
                "{body}"
            );
        }
    }

    #[test]
    fn non_json_error_bodies_are_well_formed() {
        let outcome = interpret(status(500), b"<html>\nboom</html>");
        let errors = outcome.errors.unwrap();
        assert_eq!(errors.status, 500);
        assert_eq!(errors.status_text, "Internal Server Error");
        assert_eq!(errors.items[0]["origin"], "server_error");
        assert_eq!(errors.items[0]["code"], "internal_server_error");
        assert!(errors.items[0]["message"]
            .as_str()
            .unwrap()
            .contains("<html> boom</html>"));
        let client = interpret(status(404), b"nope").errors.unwrap();
        assert_eq!(client.items[0]["origin"], "client_error");
        assert_eq!(client.items[0]["code"], "not_found");
        let teapot = interpret(status(418), b"").errors.unwrap();
        assert_eq!(teapot.items[0]["code"], "i_m_a_teapot");
        let unknown = interpret(status(599), b"\"x\"").errors.unwrap();
        assert_eq!(unknown.items[0]["code"], "http_599");
        assert_eq!(unknown.items[0]["origin"], "server_error");
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
    fn snake_case_codes() {
        assert_eq!(snake_case("Internal Server Error"), "internal_server_error");
        assert_eq!(
            snake_case("Non-Authoritative Information"),
            "non_authoritative_information"
        );
    }
}
