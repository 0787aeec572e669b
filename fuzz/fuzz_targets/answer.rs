//! Any HTTP status and any body bytes: turning the answer into a result never panics, and
//! gives either a one-line TaskInfo object or an error whose every item has string origin,
//! code and message.
#![no_main]

use altogic::task::interpret;
use libfuzzer_sys::fuzz_target;
use reqwest::StatusCode;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = 100 + u16::from_le_bytes(*status) % 500;
    let status = StatusCode::from_u16(status).expect("100..600 is a valid status");
    match interpret(status, body) {
        Ok(None) => {}
        Ok(Some(info)) => {
            assert!(status.is_success());
            assert!(!info.as_json().contains('\n'));
            let value: Value = serde_json::from_str(info.as_json()).expect("TaskInfo is JSON");
            assert!(value.is_object());
        }
        Err(error) => {
            assert!(!error.items.is_empty());
            for item in &error.items {
                for field in ["origin", "code", "message"] {
                    assert!(item[field].is_string(), "{field} in {item}");
                }
            }
            let text = error.to_json();
            serde_json::from_str::<Value>(&text).expect("APIError is JSON");
        }
    }
});
