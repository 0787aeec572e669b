//! The library against a real HTTP server on 127.0.0.1 (tests/support/fixture.rs).

mod support;

use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use altogic::error::codes;
use altogic::{Client, ClientOptions, TaskInfo, TaskResult};
use serde_json::{json as json_value, Value};
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

/// A result as the `{"info","errors"}` JSON C callers receive.
fn json(result: &TaskResult) -> Value {
    let fields = |info: &TaskInfo| Value::Object(info.fields());
    match result {
        Ok(info) => json_value!({ "info": info.as_ref().map(fields), "errors": null }),
        Err(error) => json_value!({
            "info": error.last_info.as_ref().map(fields),
            "errors": serde_json::to_value(error).unwrap(),
        }),
    }
}

/// The TaskInfo's JSON text exactly as the library passes it on.
fn info_text(result: &TaskResult) -> String {
    result
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap()
        .as_json()
        .to_owned()
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
    let outcome = client().run_once("echo-me", None);
    let result = json(&outcome);
    assert_eq!(result["errors"], Value::Null);
    let request = &result["info"]["_request"];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["path"], "/_api/rest/v1/task");
    assert_eq!(request["body"], r#"{"taskNameOrId":"echo-me"}"#);
    assert_eq!(header(&result, "x-client"), Some("altogic-c"));
    assert_eq!(header(&result, "x-client-key"), Some("the-client-key"));
    assert_eq!(header(&result, "content-type"), Some("application/json"));
    assert_eq!(header(&result, "accept"), Some("*/*"), "as fetch sends it");
    assert_eq!(header(&result, "authorization"), None);
    assert_eq!(header(&result, "session"), None);
    assert_eq!(result["info"]["status"], "pending");
}

#[test]
fn unknown_fields_pass_through_untouched() {
    let text = info_text(&client().run_once("echo-passthrough", None));
    assert!(
        text.contains(
            r#""futureField":{"zeta":1,"alpha":[2.50,12345678901234567890123],"text":"çağrı ✓"}"#
        ),
        "{text}"
    );
    assert!(text.starts_with(r#"{"taskId":"6237b225b9a84d607cd79044","scheduledTaskId":"#));
    assert!(!text.contains('\n'));
}

#[test]
fn api_key_and_session_headers_are_sent_as_is() {
    let client = client_with(r#"{"apiKey":"secret-api-key","session":"tok-1"}"#);
    let result = json(&client.get_task_status("6237b225b9a84d607cd79044", None));
    assert_eq!(result["info"]["_request"]["method"], "GET");
    assert_eq!(
        result["info"]["_request"]["path"],
        "/_api/rest/v1/task/6237b225b9a84d607cd79044"
    );
    assert_eq!(header(&result, "authorization"), Some("secret-api-key"));
    assert_eq!(header(&result, "session"), Some("tok-1"));
    assert_eq!(header(&result, "content-type"), None);
    client.set_session(None).unwrap();
    let result = json(&client.get_task_status("x", None));
    assert_eq!(header(&result, "session"), None);
}

#[test]
fn task_ids_cannot_inject_paths() {
    let result = json(&client().get_task_status("../x?y", None));
    assert_eq!(result["errors"], Value::Null, "{result}");
    assert_eq!(
        result["info"]["_request"]["path"],
        "/_api/rest/v1/task/..%2Fx%3Fy"
    );
    let result = json(&client().get_task_status("..", None));
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
        let result = json(&client().run_once(name, None));
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
    let result = json(&client().run_once("error-html", None));
    assert_eq!(result["errors"]["status"], 502);
    assert_eq!(result["errors"]["statusText"], "Bad Gateway");
    let item = first_item(&result);
    assert_eq!(item["origin"], "server_error");
    assert_eq!(item["code"], "bad_gateway");
    assert!(item["message"]
        .as_str()
        .unwrap()
        .contains("<html> <body>Bad gateway"));
    let result = json(&client().get_task_status("error-text-404", None));
    assert_eq!(first_item(&result)["origin"], "client_error");
    assert_eq!(first_item(&result)["code"], "not_found");
}

#[test]
fn success_bodies_that_are_not_task_info_are_invalid_responses() {
    for name in ["not-json-ok", "json-array-ok", "deep-ok"] {
        let result = json(&client().run_once(name, None));
        assert_eq!(result["errors"]["status"], 0);
        assert_eq!(result["errors"]["statusText"], "Client Error");
        assert_eq!(first_item(&result)["code"], codes::INVALID_RESPONSE);
        assert_eq!(first_item(&result)["details"]["httpStatus"], 200);
    }
    let deep = json(&client().get_task_status("deep-ok", None));
    let message = first_item(&deep)["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("nested deeper than 128 levels"),
        "{message}"
    );
}

#[test]
fn expired_executions_answer_null_null() {
    for id in ["expired-null", "expired-empty"] {
        assert_eq!(client().get_task_status(id, None), Ok(None));
    }
}

#[test]
fn session_errors_drop_the_session() {
    for name in ["invalid-session", "missing-session"] {
        let client = client_with(r#"{"session":"expired-token"}"#);
        let result = json(&client.run_once(name, None));
        assert_eq!(result["errors"]["status"], 401);
        assert_eq!(client.session(), None, "{name}");
        let result = json(&client.run_once("echo-after-drop", None));
        assert_eq!(header(&result, "session"), None);
    }
    let client = client_with(r#"{"session":"kept"}"#);
    assert!(client.run_once("error-array", None).is_err());
    assert_eq!(client.session().as_deref(), Some("kept"));
}

#[test]
fn redirects_are_not_followed() {
    let client = client_with(r#"{"apiKey":"must-not-leak"}"#);
    let result = json(&client.run_once("redirect", None));
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
        let result = json(&small.get_task_status(name, None));
        assert_eq!(
            first_item(&result)["code"],
            codes::RESPONSE_TOO_LARGE,
            "{name}"
        );
        assert_eq!(first_item(&result)["details"]["maxResponseBytes"], 1000);
    }
    let result = json(&client().get_task_status("big-chunked", None));
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
        let result = json(&client.run_once(name, None));
        assert_eq!(result["errors"]["status"], 0, "{name}");
        assert_eq!(first_item(&result)["code"], codes::TIMEOUT, "{name}");
        assert_eq!(first_item(&result)["details"]["timeoutMs"], 400);
    }
    // The trickling answer had sent its status line before the deadline.
    let result = json(&client.run_once("drip", None));
    assert_eq!(first_item(&result)["details"]["httpStatus"], 200);
}

/// A call to `url` fails with status 0, `network_error`, and a message naming `cause`.
fn assert_network_error(url: &str, cause: &str) {
    let client = Client::new(url, "k", ClientOptions::default()).unwrap();
    let result = json(&client.run_once("x", None));
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
    let done = json(&client.wait_for_task("seq-wait-1", Some(Duration::from_secs(10)), None));
    assert_eq!(done["info"]["status"], "completed");
    assert_eq!(done["errors"], Value::Null);
    let failed =
        json(&client.wait_for_task("seq-errors-wait-2", Some(Duration::from_secs(10)), None));
    assert_eq!(failed["info"]["status"], "errors");
    assert_eq!(failed["info"]["errors"]["code"], "job_failed");
    let gone = client
        .wait_for_task("vanish-wait-3", Some(Duration::from_secs(10)), None)
        .unwrap_err();
    assert_eq!(gone.first_code(), Some(codes::EXECUTION_NOT_FOUND));
    assert_eq!(gone.status, 0);
    assert_eq!(gone.items[0]["details"]["taskId"], "vanish-wait-3");
    let denied =
        json(&client.wait_for_task("deny-after-1-wait-4", Some(Duration::from_secs(10)), None));
    assert_eq!(denied["errors"]["status"], 403);
    assert_eq!(denied["info"], Value::Null);
}

#[test]
fn a_watched_wait_shows_each_status_its_polls_find_before_the_end() {
    let client = client();
    let seen = std::sync::Mutex::new(Vec::new());
    let watch = |info: &altogic::TaskInfo| {
        seen.lock()
            .unwrap()
            .push(info.status().unwrap_or("?").to_owned());
    };
    let done =
        client.wait_for_task_watching("seq-watched-1", Some(Duration::from_secs(10)), None, &watch);
    assert_eq!(json(&done)["info"]["status"], "completed");
    // The final TaskInfo is the wait's result, not something to watch.
    assert_eq!(*seen.lock().unwrap(), ["pending", "processing"]);
}

#[test]
fn wait_times_out_with_the_last_info() {
    let client = client();
    let result =
        json(&client.wait_for_task("forever-wait-5", Some(Duration::from_millis(300)), None));
    assert_eq!(result["info"]["status"], "processing");
    assert_eq!(first_item(&result)["code"], codes::TIMEOUT);
    assert_eq!(first_item(&result)["details"]["lastStatus"], "processing");
    assert_eq!(first_item(&result)["details"]["timeoutMs"], 300);

    // A poll cut short by the wait's deadline is the wait's timeout, not the request's.
    let stalled = json(&client.wait_for_task("stall", Some(Duration::from_millis(300)), None));
    assert_eq!(first_item(&stalled)["code"], codes::TIMEOUT);
    assert_eq!(first_item(&stalled)["details"]["timeoutMs"], 300);
    assert!(first_item(&stalled)["details"]
        .as_object()
        .unwrap()
        .contains_key("lastStatus"));

    let once = json(&client.wait_for_task("forever-wait-6", Some(Duration::ZERO), None));
    assert_eq!(once["info"]["status"], "processing");
    assert_eq!(first_item(&once)["code"], codes::TIMEOUT);
    let done = json(&client.wait_for_task("already-done", Some(Duration::ZERO), None));
    assert_eq!(done["info"]["status"], "completed");
    assert_eq!(done["errors"], Value::Null);
}

#[test]
fn one_client_serves_many_threads_at_once() {
    let client = client_of_own_fixture();
    let most_seen = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| json(&client.run_once("slow", None))))
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
            json(&client.run_once("echo-reuse", None))["info"]["_connection"]
                .as_u64()
                .unwrap()
        })
        .collect();
    // One connection, or two when the first was not back in the pool in time.
    assert!(connections.len() <= 2, "{connections:?}");
}

#[test]
fn tls_failures_are_tls_errors() {
    // An https URL pointing at the plain-HTTP fixture: the TLS handshake fails cleanly.
    let https_url = fixture_url().replace("http://", "https://");
    let client = Client::new(&https_url, "k", ClientOptions::default()).unwrap();
    let result = json(&client.run_once("x", None));
    assert_eq!(first_item(&result)["code"], codes::TLS_ERROR);
    let message = first_item(&result)["message"].as_str().unwrap();
    assert!(message.contains("TLS handshake"), "{message}");
}

#[test]
fn task_info_keeps_its_number_spelling_and_fits_one_line() {
    let text = info_text(&client().get_task_status("spelling", None));
    assert_eq!(
        text,
        r#"{"taskId":"6237b225b9a84d607cd79044","status":"completed","n":[1e400,-0,1.50,1E5,12345678901234567890123]}"#
    );
}

#[test]
fn every_error_item_has_string_origin_code_and_message() {
    let result = json(&client().run_once("error-odd-items", None));
    let items = result["errors"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    for item in items {
        for field in ["origin", "code", "message"] {
            assert!(item[field].is_string(), "{field} in {item}");
        }
        assert_eq!(item["origin"], "client_error");
    }
    assert_eq!(items[0]["message"], "plain text");
    assert_eq!(items[0]["code"], "bad_request");
    assert_eq!(items[1]["message"], "7");
    assert_eq!(items[2]["code"], "only_code");
    assert_eq!(items[2]["extra"]["n"], 1);
    assert_eq!(items[3]["message"], "only message");
}

#[test]
fn wait_outlives_transient_failures() {
    let result = json(&client().wait_for_task("flaky-wait-7", Some(Duration::from_secs(20)), None));
    assert_eq!(result["errors"], Value::Null, "{result}");
    assert_eq!(result["info"]["status"], "completed");
}

#[test]
fn wait_deadline_carries_the_last_transient_error() {
    let result =
        json(&client().wait_for_task("down-wait-8", Some(Duration::from_millis(600)), None));
    assert_eq!(first_item(&result)["code"], codes::TIMEOUT);
    assert_eq!(result["info"]["status"], "processing");
    let details = &first_item(&result)["details"];
    assert_eq!(details["lastStatus"], "processing");
    assert_eq!(details["lastError"]["status"], 503);
    assert_eq!(details["lastError"]["items"][0]["code"], "down");
}

/// How many requests the fixture received for `key`.
fn seen_count(client: &Client, key: &str) -> u64 {
    json(&client.get_task_status(&format!("count-of-{key}"), None))["info"]["seen"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_get_lost_before_its_answer_is_sent_once_more_a_post_never() {
    let client = client();
    let result = json(&client.get_task_status("reset-get-1", None));
    assert_eq!(first_item(&result)["code"], codes::NETWORK_ERROR);
    assert_eq!(seen_count(&client, "reset-get-1"), 2);
    let result = json(&client.run_once("reset-post-1", None));
    assert_eq!(first_item(&result)["code"], codes::NETWORK_ERROR);
    assert_eq!(seen_count(&client, "reset-post-1"), 1);
}

#[test]
fn gets_survive_a_server_that_closes_every_connection() {
    let client = client_of_own_fixture();
    let failures = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|worker| {
                let client = &client;
                scope.spawn(move || {
                    (0..40)
                        .filter(|call| {
                            let id = format!("close-after-{worker}-{call}");
                            client.get_task_status(&id, None).is_err()
                        })
                        .count()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .sum::<usize>()
    });
    assert_eq!(failures, 0);
}

mod cancellation {
    use super::*;
    use altogic::CancelToken;
    use std::time::Instant;

    /// Runs `call` with a token triggered from another thread after `after`; answers the
    /// result and how long the call took after the trigger.
    fn cancel_after(
        after: Duration,
        call: impl FnOnce(&CancelToken) -> TaskResult + Send,
    ) -> (Value, Duration) {
        let token = CancelToken::new();
        std::thread::scope(|scope| {
            let trigger = scope.spawn(|| {
                std::thread::sleep(after);
                token.trigger();
                Instant::now()
            });
            let result = call(&token);
            let returned = Instant::now();
            let triggered = trigger.join().unwrap();
            (json(&result), returned.saturating_duration_since(triggered))
        })
    }

    fn assert_cancelled(result: &Value) {
        assert_eq!(result["errors"]["status"], 0, "{result}");
        assert_eq!(first_item(result)["code"], codes::CANCELLED, "{result}");
        assert_eq!(result["info"], Value::Null);
    }

    #[test]
    fn a_triggered_token_sends_nothing() {
        let client = client();
        let token = CancelToken::new();
        token.trigger();
        token.trigger();
        assert!(token.is_triggered());
        assert_cancelled(&json(&client.run_once("counted-pre", Some(&token))));
        assert_cancelled(&json(&client.get_task_status("counted-pre", Some(&token))));
        let waited = json(&client.wait_for_task("counted-pre", None, Some(&token)));
        assert_cancelled(&waited);
        // The wait names itself, not the poll it never made.
        let message = first_item(&waited)["message"].as_str().unwrap();
        assert!(message.starts_with("wait was cancelled"), "{message}");
        assert_eq!(seen_count(&client, "counted-pre"), 0);
    }

    #[test]
    fn waiting_for_an_answer_ends_on_trigger() {
        let client = client();
        let (result, late) = cancel_after(Duration::from_millis(100), |token| {
            client.run_once("stall", Some(token))
        });
        assert_cancelled(&result);
        println!("run_once returned {late:?} after the trigger");
        assert!(late < Duration::from_millis(500), "{late:?}");
    }

    #[test]
    fn a_trickling_body_ends_on_trigger() {
        let client = client();
        let (result, late) = cancel_after(Duration::from_millis(250), |token| {
            client.get_task_status("drip", Some(token))
        });
        assert_cancelled(&result);
        assert!(late < Duration::from_millis(500), "{late:?}");
    }

    #[test]
    fn a_wait_without_deadline_ends_on_trigger_between_polls() {
        let client = client();
        let (result, late) = cancel_after(Duration::from_millis(700), |token| {
            client.wait_for_task("forever-cancel-1", None, Some(token))
        });
        assert_cancelled(&result);
        assert!(late < Duration::from_millis(500), "{late:?}");
    }

    #[test]
    fn one_token_ends_several_calls() {
        let client = client();
        let token = CancelToken::new();
        let results: Vec<Value> = std::thread::scope(|scope| {
            let calls: Vec<_> = (0..3)
                .map(|_| scope.spawn(|| json(&client.get_task_status("stall", Some(&token)))))
                .collect();
            std::thread::sleep(Duration::from_millis(150));
            token.trigger();
            calls.into_iter().map(|call| call.join().unwrap()).collect()
        });
        for result in &results {
            assert_cancelled(result);
        }
    }
}
