//! The result envelope every call answers: `{"info": TaskInfo|null, "errors": APIError|null}`,
//! the shape the official JavaScript client resolves to.

use serde::Serialize;
use serde_json::{json, Map, Value};

/// `statusText` of errors that never got a usable HTTP answer (`status` 0).
pub const CLIENT_ERROR_STATUS_TEXT: &str = "Client Error";

/// Error codes this library produces itself (status 0 unless stated otherwise).
pub mod codes {
    /// A required argument was NULL or empty, or the client handle was NULL.
    pub const MISSING_REQUIRED_VALUE: &str = "missing_required_value";
    /// An argument was not UTF-8, held CR/LF where a header value goes, or an option was bad.
    pub const INVALID_ARGUMENT: &str = "invalid_argument";
    /// The environment URL is not an absolute http(s) URL.
    pub const INVALID_ENV_URL: &str = "invalid_env_url";
    /// Connection refused, DNS failure, TLS failure, connection reset.
    pub const NETWORK_ERROR: &str = "network_error";
    /// The call (or the wait) did not finish in time.
    pub const TIMEOUT: &str = "timeout";
    /// A 2xx answer whose body is not a JSON TaskInfo.
    pub const INVALID_RESPONSE: &str = "invalid_response";
    /// The answer's body is larger than `maxResponseBytes`.
    pub const RESPONSE_TOO_LARGE: &str = "response_too_large";
    /// A 3xx answer: redirects are never followed (keeps keys on the configured origin).
    pub const REDIRECT_NOT_FOLLOWED: &str = "redirect_not_followed";
    /// A panic was caught at the C boundary; the message says where.
    pub const INTERNAL_ERROR: &str = "internal_error";
}

/// The APIError object: `{"status":..,"statusText":..,"items":[..]}`.
///
/// Items coming from the service are kept exactly as it sent them; items this library makes
/// have `origin`, `code`, `message` and `details`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    pub status: u16,
    #[serde(rename = "statusText")]
    pub status_text: String,
    pub items: Vec<Value>,
}

impl ApiError {
    /// A failure that never reached the service or got no usable answer: status 0,
    /// one `client_error` item.
    pub fn client(code: &str, message: impl Into<String>, details: Option<Value>) -> ApiError {
        ApiError {
            status: 0,
            status_text: CLIENT_ERROR_STATUS_TEXT.to_owned(),
            items: vec![error_item("client_error", code, message, details)],
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

/// What every task call answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The TaskInfo object as the service sent it (unknown fields included), or None.
    pub info: Option<Map<String, Value>>,
    pub errors: Option<ApiError>,
}

impl Outcome {
    pub fn info(info: Option<Map<String, Value>>) -> Outcome {
        Outcome { info, errors: None }
    }

    pub fn error(errors: ApiError) -> Outcome {
        Outcome {
            info: None,
            errors: Some(errors),
        }
    }

    /// The `status` field of the info, when there is one.
    pub fn task_status(&self) -> Option<&str> {
        self.info
            .as_ref()
            .and_then(|info| info.get("status"))
            .and_then(Value::as_str)
    }

    /// Compact one-line JSON, as handed to C callers.
    pub fn to_json(&self) -> String {
        // Serialising maps of JSON values with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"info":null,"errors":{"status":0,"statusText":"Client Error","items":[{"origin":"client_error","code":"internal_error","message":"the result could not be serialised","details":null}]}}"#.to_owned()
        })
    }
}

impl From<ApiError> for Outcome {
    fn from(errors: ApiError) -> Outcome {
        Outcome::error(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_error_has_the_official_shape() {
        let outcome = Outcome::error(ApiError::client(
            codes::TIMEOUT,
            "too slow",
            Some(json!({"timeoutMs": 5})),
        ));
        assert_eq!(
            outcome.to_json(),
            r#"{"info":null,"errors":{"status":0,"statusText":"Client Error","items":[{"origin":"client_error","code":"timeout","message":"too slow","details":{"timeoutMs":5}}]}}"#
        );
    }

    #[test]
    fn success_has_null_errors() {
        let info: Map<String, Value> =
            serde_json::from_str(r#"{"taskId":"a","status":"pending","x":1.50}"#).unwrap();
        let outcome = Outcome::info(Some(info));
        assert_eq!(outcome.task_status(), Some("pending"));
        assert_eq!(
            outcome.to_json(),
            r#"{"info":{"taskId":"a","status":"pending","x":1.50},"errors":null}"#
        );
    }

    #[test]
    fn codes_are_found_in_any_item() {
        let mut error = ApiError::client(codes::NETWORK_ERROR, "x", None);
        error.items.push(json!({"code": "invalid_session_token"}));
        assert_eq!(error.first_code(), Some("network_error"));
        assert!(error.has_code("invalid_session_token"));
        assert!(!error.has_code("missing_session_token"));
    }
}
