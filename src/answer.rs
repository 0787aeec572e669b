//! How a complete answer of the service becomes a result, the way the official client
//! makes it, with the improvements the library makes (a non-JSON error body still gives
//! well-formed errors; a 2xx body that is not JSON is an `invalid_response` instead of a
//! silent null) and bounds that hold whatever the body holds.
//!
//! Bounds: an error answer keeps at most [`MAX_ERROR_ITEMS`] items (the others are skipped
//! without being parsed, and one more item, code `error_items_dropped`, says how many);
//! an item larger than [`MAX_ITEM_BYTES`] of JSON keeps only its `origin`, `code` and
//! `message`; a message keeps at most [`crate::error::MAX_MESSAGE_CHARS`] characters. So the
//! work and the memory an error answer costs stay proportional to its size, and the result
//! is never much larger than the body (itself at most `maxResponseBytes`).

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::error::{
    code_of, codes, error_item, origin_of, reason_phrase, truncate_chars, ApiError,
    MAX_MESSAGE_CHARS,
};
use crate::info::TaskInfo;
use crate::transport::quote_body;

/// The result of every task call: the TaskInfo (None once the service no longer keeps the
/// execution), or the error.
pub type TaskResult = Result<Option<TaskInfo>, ApiError>;

/// Error items kept from one answer.
pub const MAX_ERROR_ITEMS: usize = 100;
/// Items whose JSON is larger than this keep only `origin`, `code` and `message`.
pub const MAX_ITEM_BYTES: usize = 16 * 1024;

/// Turns a complete answer into the result the official client gives for it.
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
    let (raw_items, dropped) = if blank {
        (Vec::new(), 0)
    } else {
        std::str::from_utf8(body)
            .ok()
            .and_then(|text| serde_json::from_str::<&RawValue>(text).ok())
            .map(error_items)
            .unwrap_or_default()
    };
    let mut items: Vec<Value> = raw_items.into_iter().map(item_value).collect();
    // An error always has at least one item to read the code from.
    if items.is_empty() {
        items.push(synthesized_item(status, body));
    }
    let mut error = ApiError::from_service(status, items);
    if dropped > 0 {
        error.items.push(error_item(
            "client_error",
            codes::ERROR_ITEMS_DROPPED,
            format!(
                "The service sent {} error items; the first {MAX_ERROR_ITEMS} are kept and \
                 {dropped} were dropped.",
                MAX_ERROR_ITEMS + dropped
            ),
            Some(json!({ "droppedItems": dropped, "keptItems": MAX_ERROR_ITEMS })),
        ));
    }
    Err(error)
}

/// The items of an error body, as the official client reads them: `{"errors":[...]}`,
/// `{"errors":{...}}`, a bare array, or a single object; and how many were dropped beyond
/// [`MAX_ERROR_ITEMS`]. Other JSON gives none.
fn error_items(body: &RawValue) -> (Vec<&RawValue>, usize) {
    match body.get().as_bytes().first() {
        Some(b'[') => bounded_list(body),
        Some(b'{') => match serde_json::from_str::<TopObject<'_>>(body.get()) {
            Ok(TopObject {
                errors: Some(errors),
            }) if errors.get().starts_with('[') => bounded_list(errors),
            Ok(TopObject {
                errors: Some(errors),
            }) if is_truthy(errors) => (vec![errors], 0),
            // `errors` absent or falsy: the official client takes the whole object.
            _ => (vec![body], 0),
        },
        _ => (Vec::new(), 0),
    }
}

#[derive(Deserialize)]
struct TopObject<'a> {
    #[serde(borrow, default)]
    errors: Option<&'a RawValue>,
}

/// Reads a JSON array, keeping the first [`MAX_ERROR_ITEMS`] elements (unparsed) and
/// counting the others without parsing them.
fn bounded_list(array: &RawValue) -> (Vec<&RawValue>, usize) {
    struct Bounded;
    impl<'de> Visitor<'de> for Bounded {
        type Value = (Vec<&'de RawValue>, usize);
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut kept = Vec::new();
            while kept.len() < MAX_ERROR_ITEMS {
                match seq.next_element::<&'de RawValue>()? {
                    Some(item) => kept.push(item),
                    None => return Ok((kept, 0)),
                }
            }
            let mut dropped = 0;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                dropped += 1;
            }
            Ok((kept, dropped))
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(array.get());
    deserializer.deserialize_seq(Bounded).unwrap_or_default()
}

/// One item as a value: whole when it is small, otherwise only its `origin`, `code` and
/// `message`, with `details.itemBytes` saying how large it was.
fn item_value(raw: &RawValue) -> Value {
    let size = raw.get().len();
    if size <= MAX_ITEM_BYTES {
        if let Ok(value) = serde_json::from_str::<Value>(raw.get()) {
            return value;
        }
    }
    #[derive(Deserialize, Default)]
    struct Head<'a> {
        #[serde(borrow, default)]
        origin: Option<&'a RawValue>,
        #[serde(borrow, default)]
        code: Option<&'a RawValue>,
        #[serde(borrow, default)]
        message: Option<&'a RawValue>,
    }
    let head = if raw.get().starts_with('{') {
        serde_json::from_str::<Head<'_>>(raw.get()).unwrap_or_default()
    } else {
        Head {
            message: Some(raw),
            ..Head::default()
        }
    };
    let mut item = Map::new();
    for (name, field) in [
        ("origin", head.origin),
        ("code", head.code),
        ("message", head.message),
    ] {
        if let Some(text) = field.and_then(short_string) {
            item.insert(name.to_owned(), Value::String(text));
        }
    }
    item.insert(
        "details".to_owned(),
        json!({ "truncated": true, "itemBytes": size }),
    );
    Value::Object(item)
}

/// A JSON string's text, cut to [`MAX_MESSAGE_CHARS`]; None for anything else.
fn short_string(raw: &RawValue) -> Option<String> {
    let text = serde_json::from_str::<Cow<'_, str>>(raw.get()).ok()?;
    Some(truncate_chars(&text, MAX_MESSAGE_CHARS))
}

/// JavaScript truthiness, which decides whether the official client takes `errors`.
fn is_truthy(value: &RawValue) -> bool {
    let text = value.get();
    match text.as_bytes().first() {
        Some(b'{' | b'[') => true,
        Some(b'"') => text != "\"\"",
        Some(b't') => true,
        Some(b'f' | b'n') => false,
        _ => text.parse::<f64>().is_ok_and(|n| n != 0.0 && !n.is_nan()),
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
        for falsy in ["null", "false", "0", "\"\""] {
            let body = format!(r#"{{"errors":{falsy},"code":"x"}}"#);
            let error = interpret(status(400), body.as_bytes()).unwrap_err();
            assert_eq!(error.items.len(), 1);
            assert_eq!(error.items[0]["code"], "x", "{body}");
        }
    }
}
