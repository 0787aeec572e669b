//! TaskInfo: one execution of a scheduled task, exactly as the service described it.
//!
//! The bottom of the crate with [`crate::error`]: it depends on nothing else in it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Answers nested deeper than this are refused (`invalid_response`), as serde_json refuses
/// them when it parses into values: a binding that parses the TaskInfo again (Python's
/// `json.loads`, Go's `encoding/json`) then never meets a depth it cannot handle.
pub const MAX_JSON_DEPTH: usize = 128;

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
    /// Reads a TaskInfo from JSON text: Ok(None) for JSON `null`, Err(what it is instead)
    /// for anything that is not an object, or is nested deeper than [`MAX_JSON_DEPTH`].
    pub fn from_json(text: &str) -> Result<Option<TaskInfo>, &'static str> {
        // The depth is checked first, in the pass that drops white space, so that nothing
        // deeper is ever handed on.
        let compact = compact_json(text)?;
        let raw: &RawValue =
            serde_json::from_str(&compact).map_err(|_| "a body that is not JSON")?;
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
        let task_id = known.task_id.map(Cow::into_owned);
        let status = known.status.map(Cow::into_owned);
        let raw = raw.to_owned();
        Ok(Some(TaskInfo {
            raw,
            task_id,
            status,
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

/// Statuses after which an execution changes no more.
pub fn is_final_status(status: &str) -> bool {
    matches!(status, "completed" | "errors")
}

/// Removes white space between JSON tokens (never inside strings), and refuses text nested
/// deeper than [`MAX_JSON_DEPTH`]; borrows when there is nothing to drop, as with every
/// compact answer. It does not validate otherwise: the parse that follows does.
fn compact_json(text: &str) -> Result<Cow<'_, str>, &'static str> {
    let bytes = text.as_bytes();
    let (mut in_string, mut escaped) = (false, false);
    let mut depth = 0usize;
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
            match byte {
                b'"' => in_string = true,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_JSON_DEPTH {
                        return Err("JSON nested deeper than 128 levels");
                    }
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
            matches!(byte, b' ' | b'\n' | b'\r' | b'\t')
        };
        match (&mut compact, dropped) {
            (None, true) => compact = Some(bytes[..index].to_vec()),
            (Some(kept), false) => kept.push(byte),
            _ => {}
        }
    }
    match compact.map(String::from_utf8) {
        Some(Ok(compact)) => Ok(Cow::Owned(compact)),
        _ => Ok(Cow::Borrowed(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn depth_is_bounded_outside_strings_only() {
        let nest = |depth: usize| {
            format!(
                "{{\"taskId\":\"t\",\"x\":{}1{}}}",
                "[".repeat(depth - 1),
                "]".repeat(depth - 1)
            )
        };
        assert!(TaskInfo::from_json(&nest(MAX_JSON_DEPTH))
            .unwrap()
            .is_some());
        assert_eq!(
            TaskInfo::from_json(&nest(MAX_JSON_DEPTH + 1)).unwrap_err(),
            "JSON nested deeper than 128 levels"
        );
        assert_eq!(
            TaskInfo::from_json(&nest(50_000)).unwrap_err(),
            "JSON nested deeper than 128 levels"
        );
        let brackets_in_a_string = format!("{{\"s\":\"{}\"}}", "[{".repeat(1000));
        assert!(TaskInfo::from_json(&brackets_in_a_string)
            .unwrap()
            .is_some());
    }
}
