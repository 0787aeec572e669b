//! Any HTTP status and any body bytes: turning the answer into a result never panics, and
//! gives either a one-line TaskInfo object or an error whose every item has string origin,
//! code and message. A third byte may ask for the body to be repeated into a huge one (up to
//! a few MB, as an array of copies), which must give a result of bounded size.
#![no_main]

use altogic::task::interpret;
use libfuzzer_sys::fuzz_target;
use http::StatusCode;
use serde_json::Value;

/// Results are never much larger than this, whatever the body (see src/answer.rs).
const RESULT_BOUND: usize = 101 * (16 * 1024 + 2100) + 4096;

fuzz_target!(|data: &[u8]| {
    let Some(([status_low, status_high, repeat], body)) = data.split_first_chunk::<3>() else {
        return;
    };
    let status = 100 + u16::from_le_bytes([*status_low, *status_high]) % 500;
    let status = StatusCode::from_u16(status).expect("100..600 is a valid status");
    // Huge bodies: `[body,body,...]` with up to 2^20 copies, capped at 4 MB.
    let huge;
    let body = if *repeat >= 0xF0 && !body.is_empty() {
        let copies = (1usize << (repeat - 0xF0 + 6)).min((4 << 20) / (body.len() + 1));
        let mut text = Vec::with_capacity(copies * (body.len() + 1) + 2);
        text.push(b'[');
        for copy in 0..copies {
            if copy > 0 {
                text.push(b',');
            }
            text.extend_from_slice(body);
        }
        text.push(b']');
        huge = text;
        &huge[..]
    } else {
        body
    };
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
            assert!(error.items.len() <= 101, "{} items", error.items.len());
            for item in &error.items {
                for field in ["origin", "code", "message"] {
                    assert!(item[field].is_string(), "{field} in {item}");
                }
            }
            let text = error.to_json();
            assert!(text.len() <= RESULT_BOUND.max(body.len() + 4096), "{} bytes", text.len());
            serde_json::from_str::<Value>(&text).expect("APIError is JSON");
        }
    }
});
