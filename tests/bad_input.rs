//! The shared table of bad input (`tests/data/bad_input.json`), which the C, Python and Go
//! suites read too: every case is refused with its code, names its argument in
//! `details.argument`, says what is wrong in `details.reason` (the message is the C API's
//! "{argument} {reason}."), and never repeats a secret it was given.

use altogic::{ApiError, Client, ClientOptions};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let text = include_str!("data/bad_input.json");
    let table: Value = serde_json::from_str(text).expect("bad_input.json is JSON");
    table["cases"].as_array().expect("a cases array").clone()
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| {
            panic!("bad_input.json: no string at {pointer} in {value}");
        })
}

/// What the library answers to one case.
fn answer(case: &Value) -> ApiError {
    if let Some(create) = case.get("create") {
        let options = match create.get("options") {
            Some(options) => ClientOptions::from_json(&options.to_string()),
            None => Ok(ClientOptions::default()),
        };
        let made = options.and_then(|options| {
            Client::new(
                text(create, "/env_url"),
                text(create, "/client_key"),
                options,
            )
        });
        return made.expect_err("the client was made");
    }
    let client = Client::new("http://127.0.0.1:9", "k", ClientOptions::default()).unwrap();
    let argument = text(case, "/call/argument");
    let result = match text(case, "/call/name") {
        "run_once" => client.run_once(argument, None).map(drop),
        "get_status" => client.get_task_status(argument, None).map(drop),
        "wait" => client.wait_for_task(argument, None, None).map(drop),
        "set_session" => client.set_session(Some(argument)),
        other => panic!("bad_input.json: no call {other}"),
    };
    result.expect_err("the call was accepted")
}

#[test]
fn every_case_of_the_shared_table_is_refused_as_it_says() {
    let cases = cases();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    for case in &cases {
        let error = answer(case);
        let item = &error.items[0];
        let argument = text(case, "/argument");
        assert_eq!(error.status, 0, "{case}");
        assert_eq!(item["code"], case["code"], "{case}: {}", error.to_json());
        assert_eq!(item["details"]["argument"], argument, "{case}");
        let reason = item["details"]["reason"].as_str().expect("details.reason");
        assert_eq!(item["message"], format!("{argument} {reason}."), "{case}");
        assert!(
            !reason.ends_with('.') && !reason.contains("NULL"),
            "{reason}"
        );
        if let Some(secret) = case.get("never").and_then(Value::as_str) {
            assert!(!error.to_json().contains(secret), "{}", error.to_json());
        }
    }
}
