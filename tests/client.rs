//! The library against a real HTTP server on 127.0.0.1 (tests/support/fixture.rs).

mod support;

use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use altogic::outcome::codes;
use altogic::{Client, ClientOptions, Outcome};
use serde_json::Value;
use support::fixture::{Fixture, BIG_BODY_BYTES};

fn fixture_url() -> &'static str {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    &FIXTURE.get_or_init(Fixture::start).url
}

fn client_with(options: &str) -> Client {
    Client::new(
        fixture_url(),
        "the-client-key",
        ClientOptions::from_json(options).unwrap(),
    )
    .unwrap()
}

fn client() -> Client {
    client_with("{}")
}

/// A client of a fixture of its own, for tests that count what the server saw.
fn client_of_own_fixture() -> Client {
    let fixture = Fixture::start();
    Client::new(&fixture.url, "the-client-key", ClientOptions::default()).unwrap()
}

/// The outcome as JSON, through its C-facing serialisation.
fn json(outcome: &Outcome) -> Value {
    serde_json::from_str(&outcome.to_json()).unwrap()
}

fn header<'a>(result: &'a Value, name: &str) -> Option<&'a str> {
    result["info"]["_request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair[0] == name)
        .and_then(|pair| pair[1].as_str())
}

fn first_item(result: &Value) -> &Value {
    &result["errors"]["items"][0]
}

#[test]
fn run_once_sends_what_the_official_client_sends() {
    let outcome = client().run_once("echo-me");
    let result = json(&outcome);
    assert_eq!(result["errors"], Value::Null);
    let request = &result["info"]["_request"];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["path"], "/_api/rest/v1/task");
    assert_eq!(request["body"], r#"{"taskNameOrId":"echo-me"}"#);
    assert_eq!(header(&result, "x-client"), Some("altogic-c"));
    assert_eq!(header(&result, "x-client-key"), Some("the-client-key"));
    assert_eq!(header(&result, "content-type"), Some("application/json"));
    assert_eq!(header(&result, "authorization"), None);
    assert_eq!(header(&result, "session"), None);
    assert_eq!(result["info"]["status"], "pending");
}

#[test]
fn unknown_fields_pass_through_untouched() {
    let text = client().run_once("echo-passthrough").to_json();
    assert!(
        text.contains(
            r#""futureField":{"zeta":1,"alpha":[2.50,12345678901234567890123],"text":"çağrı ✓"}"#
        ),
        "{text}"
    );
    assert!(text.starts_with(r#"{"info":{"taskId":"6237b225b9a84d607cd79044","scheduledTaskId":"#));
    assert!(!text.contains('\n'));
}

#[test]
fn api_key_and_session_headers_are_sent_as_is() {
    let client = client_with(r#"{"apiKey":"secret-api-key","session":"tok-1"}"#);
    let result = json(&client.get_task_status("6237b225b9a84d607cd79044"));
    assert_eq!(result["info"]["_request"]["method"], "GET");
    assert_eq!(
        result["info"]["_request"]["path"],
        "/_api/rest/v1/task/6237b225b9a84d607cd79044"
    );
    assert_eq!(header(&result, "authorization"), Some("secret-api-key"));
    assert_eq!(header(&result, "session"), Some("tok-1"));
    assert_eq!(header(&result, "content-type"), None);
    client.set_session(None).unwrap();
    let result = json(&client.get_task_status("x"));
    assert_eq!(header(&result, "session"), None);
}

#[test]
fn task_ids_cannot_inject_paths() {
    let result = json(&client().get_task_status("../x?y"));
    assert_eq!(result["errors"], Value::Null, "{result}");
    assert_eq!(
        result["info"]["_request"]["path"],
        "/_api/rest/v1/task/..%2Fx%3Fy"
    );
    let result = json(&client().get_task_status(".."));
    assert_eq!(first_item(&result)["code"], codes::INVALID_ARGUMENT);
}

#[test]
fn error_bodies_of_every_shape_give_the_official_result() {
    let cases = [
        ("error-array", 404, "Not Found", "not_found"),
        ("error-object", 400, "Bad Request", "validation_error"),
        ("error-bare-array", 403, "Forbidden", "forbidden"),
        ("error-single", 409, "Conflict", "conflict"),
    ];
    for (name, status, status_text, code) in cases {
        let result = json(&client().run_once(name));
        assert_eq!(result["info"], Value::Null);
        assert_eq!(result["errors"]["status"], status, "{name}");
        assert_eq!(result["errors"]["statusText"], status_text, "{name}");
        assert_eq!(
            result["errors"]["items"],
            serde_json::json!([{"origin":"client_error","code":code,"message":format!("fixture says {code}"),"details":null}]),
            "{name}"
        );
    }
}

#[test]
fn error_bodies_that_are_not_json_are_well_formed() {
    let result = json(&client().run_once("error-html"));
    assert_eq!(result["errors"]["status"], 502);
    assert_eq!(result["errors"]["statusText"], "Bad Gateway");
    let item = first_item(&result);
    assert_eq!(item["origin"], "server_error");
    assert_eq!(item["code"], "bad_gateway");
    assert!(item["message"]
        .as_str()
        .unwrap()
        .contains("<html> <body>Bad gateway"));
    let result = json(&client().get_task_status("error-text-404"));
    assert_eq!(first_item(&result)["origin"], "client_error");
    assert_eq!(first_item(&result)["code"], "not_found");
}

#[test]
fn success_bodies_that_are_not_task_info_are_invalid_responses() {
    for name in ["not-json-ok", "json-array-ok"] {
        let result = json(&client().run_once(name));
        assert_eq!(result["errors"]["status"], 0);
        assert_eq!(result["errors"]["statusText"], "Client Error");
        assert_eq!(first_item(&result)["code"], codes::INVALID_RESPONSE);
        assert_eq!(first_item(&result)["details"]["httpStatus"], 200);
    }
}

#[test]
fn expired_executions_answer_null_null() {
    for id in ["expired-null", "expired-empty"] {
        assert_eq!(
            client().get_task_status(id).to_json(),
            r#"{"info":null,"errors":null}"#
        );
    }
}

#[test]
fn session_errors_drop_the_session() {
    for name in ["invalid-session", "missing-session"] {
        let client = client_with(r#"{"session":"expired-token"}"#);
        let result = json(&client.run_once(name));
        assert_eq!(result["errors"]["status"], 401);
        assert_eq!(client.session(), None, "{name}");
        let result = json(&client.run_once("echo-after-drop"));
        assert_eq!(header(&result, "session"), None);
    }
    let client = client_with(r#"{"session":"kept"}"#);
    client.run_once("error-array");
    assert_eq!(client.session().as_deref(), Some("kept"));
}

#[test]
fn redirects_are_not_followed() {
    let client = client_with(r#"{"apiKey":"must-not-leak"}"#);
    let result = json(&client.run_once("redirect"));
    assert_eq!(result["errors"]["status"], 302);
    assert_eq!(result["errors"]["statusText"], "Found");
    assert_eq!(first_item(&result)["code"], codes::REDIRECT_NOT_FOLLOWED);
    assert_eq!(
        first_item(&result)["details"]["location"],
        "http://127.0.0.1:9/elsewhere"
    );
}

#[test]
fn bodies_over_the_limit_are_refused() {
    let small = client_with(r#"{"maxResponseBytes":1000}"#);
    for name in ["big", "big-chunked"] {
        let result = json(&small.get_task_status(name));
        assert_eq!(
            first_item(&result)["code"],
            codes::RESPONSE_TOO_LARGE,
            "{name}"
        );
        assert_eq!(first_item(&result)["details"]["maxResponseBytes"], 1000);
    }
    let result = json(&client().get_task_status("big-chunked"));
    assert_eq!(result["errors"], Value::Null);
    assert_eq!(
        result["info"]["padding"].as_str().unwrap().len(),
        BIG_BODY_BYTES
    );
}

#[test]
fn the_timeout_bounds_the_whole_call_even_a_trickling_body() {
    let client = client_with(r#"{"timeoutMs":400}"#);
    for name in ["drip", "stall"] {
        let result = json(&client.run_once(name));
        assert_eq!(result["errors"]["status"], 0, "{name}");
        assert_eq!(first_item(&result)["code"], codes::TIMEOUT, "{name}");
        assert_eq!(first_item(&result)["details"]["timeoutMs"], 400);
    }
    // The trickling answer had sent its status line before the deadline.
    let result = json(&client.run_once("drip"));
    assert_eq!(first_item(&result)["details"]["httpStatus"], 200);
}

/// A call to `url` fails with status 0, `network_error`, and a message naming `cause`.
fn assert_network_error(url: &str, cause: &str) {
    let client = Client::new(url, "k", ClientOptions::default()).unwrap();
    let result = json(&client.run_once("x"));
    assert_eq!(result["errors"]["status"], 0);
    assert_eq!(first_item(&result)["code"], codes::NETWORK_ERROR);
    let message = first_item(&result)["message"].as_str().unwrap();
    assert!(message.contains(cause), "{message}");
}

#[test]
fn refused_connections_are_network_errors() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    assert_network_error(&format!("http://127.0.0.1:{port}"), "could not connect");
}

#[test]
fn wait_follows_an_execution_to_its_end() {
    let client = client();
    let done = json(&client.wait_for_task("seq-wait-1", Duration::from_secs(10)));
    assert_eq!(done["info"]["status"], "completed");
    assert_eq!(done["errors"], Value::Null);
    let failed = json(&client.wait_for_task("seq-errors-wait-2", Duration::from_secs(10)));
    assert_eq!(failed["info"]["status"], "errors");
    assert_eq!(failed["info"]["errors"]["code"], "job_failed");
    let gone = client.wait_for_task("vanish-wait-3", Duration::from_secs(10));
    assert_eq!(gone.to_json(), r#"{"info":null,"errors":null}"#);
    let broken = json(&client.wait_for_task("fail-after-1-wait-4", Duration::from_secs(10)));
    assert_eq!(broken["errors"]["status"], 503);
    assert_eq!(broken["info"], Value::Null);
}

#[test]
fn wait_times_out_with_the_last_info() {
    let client = client();
    let result = json(&client.wait_for_task("forever-wait-5", Duration::from_millis(300)));
    assert_eq!(result["info"]["status"], "processing");
    assert_eq!(first_item(&result)["code"], codes::TIMEOUT);
    assert_eq!(first_item(&result)["details"]["lastStatus"], "processing");
    assert_eq!(first_item(&result)["details"]["timeoutMs"], 300);

    // A poll cut short by the wait's deadline is the wait's timeout, not the request's.
    let stalled = json(&client.wait_for_task("stall", Duration::from_millis(300)));
    assert_eq!(first_item(&stalled)["code"], codes::TIMEOUT);
    assert_eq!(first_item(&stalled)["details"]["timeoutMs"], 300);
    assert!(first_item(&stalled)["details"]
        .as_object()
        .unwrap()
        .contains_key("lastStatus"));

    let once = json(&client.wait_for_task("forever-wait-6", Duration::ZERO));
    assert_eq!(once["info"]["status"], "processing");
    assert_eq!(first_item(&once)["code"], codes::TIMEOUT);
    let done = json(&client.wait_for_task("already-done", Duration::ZERO));
    assert_eq!(done["info"]["status"], "completed");
    assert_eq!(done["errors"], Value::Null);
}

#[test]
fn one_client_serves_many_threads_at_once() {
    let client = client_of_own_fixture();
    let most_seen = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| json(&client.run_once("slow"))))
            .collect();
        calls
            .into_iter()
            .map(|call| {
                call.join().unwrap()["info"]["maxInFlight"]
                    .as_u64()
                    .unwrap()
            })
            .max()
            .unwrap()
    });
    assert!(most_seen >= 2, "calls were serialised: {most_seen}");
}

#[test]
fn connections_are_kept_alive_and_reused() {
    let client = client_of_own_fixture();
    let connections: std::collections::BTreeSet<u64> = (0..6)
        .map(|_| {
            json(&client.run_once("echo-reuse"))["info"]["_connection"]
                .as_u64()
                .unwrap()
        })
        .collect();
    // One connection, or two when the first was not back in the pool in time.
    assert!(connections.len() <= 2, "{connections:?}");
}

#[test]
fn tls_failures_are_network_errors() {
    // An https URL pointing at the plain-HTTP fixture: the TLS handshake fails cleanly.
    let https_url = fixture_url().replace("http://", "https://");
    assert_network_error(&https_url, "tls");
}
