//! Reading a value out of the JSON the library answers, for C and C++ callers who have no
//! JSON library at hand, so that no caller needs to scan the text for `"code":"`.

use std::ffi::c_char;
use std::ptr;

use serde_json::Value;

use crate::ffi::boundary::ffi_guard;
use crate::ffi::strings::{optional_str, to_c_string};

/// Reads one value out of a JSON text, such as the `{"info":...,"errors":...}` answer of a
/// task call or an APIError object, by a JSON Pointer (RFC 6901): `"/info/taskId"`,
/// `"/info/status"`, `"/errors/items/0/code"`, `"/items/0/message"`; `""` is the whole
/// document.
///
/// Returns the value as a new string: the text of a JSON string (escapes decoded), or the
/// compact JSON of any other value (`42`, `true`, `{"a":1}`). Returns NULL when `json` or
/// `pointer` is NULL or not UTF-8, `json` is not JSON, the pointer names no value, or the
/// value is JSON `null`. Free a non-NULL result with `altogic_string_free`.
///
/// Thread-safety: may be called from any thread. Ownership: both strings are borrowed for
/// the duration of the call.
///
/// # Safety
/// `json` and `pointer` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn altogic_json_get(
    json: *const c_char,
    pointer: *const c_char,
) -> *mut c_char {
    ffi_guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: the caller passes NULL or NUL-terminated strings.
            let (Ok(Some(json)), Ok(Some(pointer))) =
                (unsafe { optional_str("json", json) }, unsafe {
                    optional_str("pointer", pointer)
                })
            else {
                return ptr::null_mut();
            };
            match json_value(json, pointer) {
                Some(text) => to_c_string(text),
                None => ptr::null_mut(),
            }
        },
    )
}

/// The value at `pointer` in `json` as text: a string's own text, any other value's JSON.
fn json_value(json: &str, pointer: &str) -> Option<String> {
    let document: Value = serde_json::from_str(json).ok()?;
    match document.pointer(pointer)? {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_by_pointer() {
        let answer = r#"{"info":null,"errors":{"status":0,"items":[{"code":"x","message":"caf\u00e9 \"q\"","details":{"n":1.50}}]}}"#;
        assert_eq!(
            json_value(answer, "/errors/items/0/code").as_deref(),
            Some("x")
        );
        assert_eq!(
            json_value(answer, "/errors/items/0/message").as_deref(),
            Some("café \"q\"")
        );
        assert_eq!(
            json_value(answer, "/errors/items/0/details").as_deref(),
            Some(r#"{"n":1.50}"#)
        );
        assert_eq!(json_value(answer, "/errors/status").as_deref(), Some("0"));
        assert_eq!(json_value(answer, "/info"), None);
        assert_eq!(json_value(answer, "/nothing"), None);
        assert_eq!(json_value("not json", ""), None);
    }
}
