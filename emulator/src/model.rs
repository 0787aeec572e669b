//! Executions (what getTaskStatus answers), ids and timestamps.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The life of an execution: `pending` → `processing` → `completed` or `errors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Processing,
    Completed,
    Errors,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Processing => "processing",
            Status::Completed => "completed",
            Status::Errors => "errors",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "pending" => Status::Pending,
            "processing" => Status::Processing,
            "completed" => Status::Completed,
            "errors" => Status::Errors,
            _ => return None,
        })
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Status::Completed | Status::Errors)
    }
}

/// One run of a scheduled task.
#[derive(Debug, Clone)]
pub struct Execution {
    /// Insertion order (stable across restarts with `--data-dir`).
    pub seq: u64,
    pub task_id: String,
    pub scheduled_task_id: String,
    pub scheduled_task_name: String,
    pub triggered_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub status: Status,
    pub errors: Option<serde_json::Value>,
}

/// The wire form, keys in the service's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInfo<'a> {
    task_id: &'a str,
    scheduled_task_id: &'a str,
    scheduled_task_name: &'a str,
    triggered_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<String>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a serde_json::Value>,
}

impl Execution {
    pub fn info(&self) -> TaskInfo<'_> {
        TaskInfo {
            task_id: &self.task_id,
            scheduled_task_id: &self.scheduled_task_id,
            scheduled_task_name: &self.scheduled_task_name,
            triggered_at: iso(self.triggered_at),
            started_at: self.started_at.map(iso),
            completed_at: self.completed_at.map(iso),
            status: self.status.as_str(),
            errors: if self.status == Status::Errors {
                self.errors.as_ref()
            } else {
                None
            },
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.info()).expect("TaskInfo serializes")
    }
}

/// `2022-03-20T23:00:53.966Z`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Now, truncated to milliseconds (what the wire carries, so stored values round-trip).
pub fn now_ms() -> DateTime<Utc> {
    from_ms(Utc::now().timestamp_millis())
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A fresh 24-hex-digit id shaped like a MongoDB ObjectId: 4 bytes of seconds, 5 random
/// bytes chosen once per process, a 3-byte counter. Unique within a process and, in
/// practice, across restarts.
pub fn new_object_id() -> String {
    static PROCESS: OnceLock<[u8; 5]> = OnceLock::new();
    static COUNTER: OnceLock<AtomicU32> = OnceLock::new();
    let process = PROCESS.get_or_init(rand::random::<[u8; 5]>);
    let counter = COUNTER
        .get_or_init(|| AtomicU32::new(rand::random::<u32>()))
        .fetch_add(1, Ordering::Relaxed);
    let secs = Utc::now().timestamp() as u32;
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    bytes[4..9].copy_from_slice(process);
    bytes[9..].copy_from_slice(&counter.to_be_bytes()[1..]);
    hex(&bytes)
}

/// A stable 24-hex-digit id derived from a task name (for tasks configured without an id).
pub fn id_from_name(name: &str) -> String {
    fn fnv1a(seed: u64, data: &[u8]) -> u64 {
        let mut h = seed;
        for b in data {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    }
    let a = fnv1a(0xcbf2_9ce4_8422_2325, name.as_bytes());
    let b = fnv1a(a ^ 0x9e37_79b9_7f4a_7c15, name.as_bytes());
    let mut bytes = [0u8; 12];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes()[..4]);
    hex(&bytes)
}

pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_24_hex_and_distinct() {
        let a = new_object_id();
        let b = new_object_id();
        assert!(is_object_id(&a) && is_object_id(&b));
        assert_ne!(a, b);
        assert!(is_object_id(&id_from_name("x")));
        assert_eq!(id_from_name("x"), id_from_name("x"));
        assert_ne!(id_from_name("x"), id_from_name("y"));
    }

    #[test]
    fn taskinfo_key_order_and_format() {
        let t = DateTime::parse_from_rfc3339("2022-03-20T23:00:53.966Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut e = Execution {
            seq: 0,
            task_id: "a".into(),
            scheduled_task_id: "b".into(),
            scheduled_task_name: "c".into(),
            triggered_at: t,
            started_at: None,
            completed_at: None,
            status: Status::Pending,
            errors: None,
        };
        assert_eq!(
            serde_json::to_string(&e.info()).unwrap(),
            r#"{"taskId":"a","scheduledTaskId":"b","scheduledTaskName":"c","triggeredAt":"2022-03-20T23:00:53.966Z","status":"pending"}"#
        );
        e.started_at = Some(t);
        e.completed_at = Some(t);
        e.status = Status::Errors;
        e.errors = Some(serde_json::json!({"code":"x"}));
        assert_eq!(
            serde_json::to_string(&e.info()).unwrap(),
            r#"{"taskId":"a","scheduledTaskId":"b","scheduledTaskName":"c","triggeredAt":"2022-03-20T23:00:53.966Z","startedAt":"2022-03-20T23:00:53.966Z","completedAt":"2022-03-20T23:00:53.966Z","status":"errors","errors":{"code":"x"}}"#
        );
    }
}
