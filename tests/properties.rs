//! Property tests: whatever the service answers, whatever options or ids a caller passes,
//! and whatever bytes reach the C functions, the library answers a well-formed result and
//! never panics or crashes.

mod support;

use std::ffi::CString;
use std::sync::OnceLock;

use altogic::error::codes;
use altogic::task::{interpret, task_path_segment};
use altogic::{Client, ClientOptions};
use http::StatusCode;
use proptest::prelude::*;
use serde_json::Value;
use support::fixture::Fixture;

#[path = "support/c_abi.rs"]
mod c_abi;

use c_abi::*;

fn fixture_url() -> &'static str {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    &FIXTURE.get_or_init(Fixture::start).url
}

/// Every item has string origin, code and message.
fn assert_well_formed_items(error: &Value) {
    assert!(error["status"].is_u64(), "{error}");
    assert!(error["statusText"].is_string(), "{error}");
    let items = error["items"].as_array().expect("items is an array");
    assert!(!items.is_empty(), "{error}");
    for item in items {
        for field in ["origin", "code", "message"] {
            assert!(item[field].is_string(), "{field} in {item}");
        }
    }
}

/// A C result: one line of JSON with exactly `info` and `errors`, errors well-formed.
fn assert_well_formed_result(text: &str) {
    assert!(!text.contains('\n'), "{text}");
    let result: Value = serde_json::from_str(text).expect("a result is JSON");
    let object = result.as_object().expect("a result is an object");
    assert_eq!(object.len(), 2, "{text}");
    assert!(
        result["info"].is_null() || result["info"].is_object(),
        "{text}"
    );
    if !result["errors"].is_null() {
        assert_well_formed_items(&result["errors"]);
    }
}

/// Bytes as a C string: interior NULs cannot be passed through C and are dropped.
fn c_string(bytes: &[u8]) -> CString {
    CString::new(
        bytes
            .iter()
            .copied()
            .filter(|b| *b != 0)
            .collect::<Vec<u8>>(),
    )
    .unwrap()
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("origin"),
            Just("code"),
            Just("message"),
            Just("errors"),
            Just("status")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("errors".to_owned()),
                    Just("origin".to_owned()),
                    Just("code".to_owned()),
                    Just("message".to_owned()),
                    Just("status".to_owned()),
                    Just("taskId".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..5
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_answer_gives_a_well_formed_result(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..300)) {
        let status = StatusCode::from_u16(status).unwrap();
        check_answer(status, &body);
    }

    #[test]
    fn any_json_answer_gives_a_well_formed_result(status in 100u16..600, body in json_value()) {
        let status = StatusCode::from_u16(status).unwrap();
        check_answer(status, body.to_string().as_bytes());
    }

    #[test]
    fn any_options_are_accepted_or_refused_as_invalid_argument(text in ".{0,80}", value in json_value()) {
        for candidate in [text, value.to_string()] {
            match ClientOptions::from_json(&candidate) {
                Ok(options) => {
                    if let Err(error) = Client::new("http://127.0.0.1:1", "k", options) {
                        let code = error.first_code().unwrap();
                        prop_assert!(code == codes::INVALID_ARGUMENT || code == codes::MISSING_REQUIRED_VALUE, "{code}");
                    }
                }
                Err(error) => prop_assert_eq!(error.first_code(), Some(codes::INVALID_ARGUMENT)),
            }
        }
    }

    #[test]
    fn any_task_id_is_exactly_one_path_segment(id in any::<String>()) {
        prop_assume!(!id.is_empty() && id != "." && id != "..");
        let client = Client::new("https://a.example.com/app", "k", ClientOptions::default()).unwrap();
        let url = client.task_status_url(&task_path_segment(&id));
        prop_assert_eq!(url.query(), None);
        prop_assert_eq!(url.fragment(), None);
        let segments: Vec<&str> = url.path_segments().unwrap().collect();
        prop_assert_eq!(&segments[..segments.len() - 1], &["app", "_api", "rest", "v1", "task"][..]);
        let decoded = percent_encoding::percent_decode_str(segments[segments.len() - 1]).decode_utf8().unwrap();
        prop_assert_eq!(decoded, id.as_str());
    }

    #[test]
    fn any_argument_bytes_through_the_c_functions_give_a_result(
        url in prop::collection::vec(any::<u8>(), 0..40),
        key in prop::collection::vec(any::<u8>(), 0..20),
        options in prop::collection::vec(any::<u8>(), 0..40),
        name in prop::collection::vec(any::<u8>(), 0..40),
        token in prop::collection::vec(any::<u8>(), 0..20),
    ) {
        let (url, key, options) = (c_string(&url), c_string(&key), c_string(&options));
        let mut error = std::ptr::null_mut();
        // SAFETY: valid C strings and a writable error slot.
        let refused = unsafe { altogic_client_new(url.as_ptr(), key.as_ptr(), options.as_ptr(), &mut error) };
        prop_assert!(refused.is_null() == take(error).is_some());
        // NULL (no error, or a NULL result) reads as nothing, and freeing it is a no-op.
        prop_assert_eq!(take(std::ptr::null_mut()), None);
        // SAFETY: NULL or a live client, freed once.
        unsafe { altogic_client_free(refused) };

        // A real client, against the fixture, with the arbitrary name, id and token.
        let fixture = CString::new(fixture_url()).unwrap();
        // SAFETY: valid C strings; a NULL error slot is allowed.
        let client = unsafe { altogic_client_new(fixture.as_ptr(), c"k".as_ptr(), std::ptr::null(), std::ptr::null_mut()) };
        prop_assert!(!client.is_null());
        let name = c_string(&name);
        let token = c_string(&token);
        // SAFETY: a live client and valid C strings; results freed once by `take`.
        unsafe {
            if let Some(error) = take(altogic_client_set_session(client, token.as_ptr())) {
                assert_well_formed_items(&serde_json::from_str(&error).unwrap());
            }
            assert_well_formed_result(&take(altogic_task_run_once(client, name.as_ptr())).unwrap());
            assert_well_formed_result(&take(altogic_task_get_status(client, name.as_ptr())).unwrap());
            altogic_client_free(client);
        }
    }

    #[test]
    fn any_argument_bytes_through_a_queue_give_exactly_one_result_each(
        name in prop::collection::vec(any::<u8>(), 0..40),
        timeout_ms in 0u64..50,
        null_client in any::<bool>(),
    ) {
        let fixture = CString::new(fixture_url()).unwrap();
        let name = c_string(&name);
        // SAFETY: valid C strings, a NULL error slot; every handle is freed once below, and
        // each result once by `take`.
        unsafe {
            let client = if null_client {
                std::ptr::null_mut()
            } else {
                altogic_client_new(fixture.as_ptr(), c"k".as_ptr(), std::ptr::null(), std::ptr::null_mut())
            };
            let queue = altogic_queue_new(std::ptr::null_mut());
            prop_assert!(!queue.is_null());
            prop_assert!(altogic_task_run_once_start(client, name.as_ptr(), queue, 1, std::ptr::null()).is_null());
            prop_assert!(altogic_task_get_status_start(client, name.as_ptr(), queue, 2, std::ptr::null()).is_null());
            prop_assert!(altogic_task_wait_start(client, name.as_ptr(), timeout_ms, queue, 3, std::ptr::null()).is_null());
            // The client may go at once: the started calls keep what they need.
            altogic_client_free(client);
            let mut seen = [0; 4];
            for _ in 0..3 {
                let mut tag = 0;
                let result = take(altogic_queue_next(queue, 10_000, &mut tag));
                prop_assert!(result.is_some(), "a result for every started call");
                assert_well_formed_result(&result.unwrap());
                seen[tag.min(3) as usize] += 1;
            }
            prop_assert_eq!(seen, [0, 1, 1, 1]);
            prop_assert!(take(altogic_queue_next(queue, 0, std::ptr::null_mut())).is_none());
            altogic_queue_free(queue);
        }
    }
}

fn check_answer(status: StatusCode, body: &[u8]) {
    match interpret(status, body) {
        Ok(None) => {}
        Ok(Some(info)) => {
            assert!(status.is_success());
            let text = info.as_json();
            assert!(!text.contains('\n'), "{text}");
            assert!(serde_json::from_str::<Value>(text).unwrap().is_object());
        }
        Err(error) => assert_well_formed_items(&serde_json::to_value(&error).unwrap()),
    }
}
