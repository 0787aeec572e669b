//! Proxies, against a proxy fixture on 127.0.0.1 that maps the made-up host
//! `app.altogic.test` to 127.0.0.1: the `proxy` option, the environment variables (each
//! tried in a child process, since the library reads them once per process), NO_PROXY,
//! loopback never proxied from the environment, credentials, refusals, and the debug log.

mod support;

use std::time::Duration;

use altogic::error::codes;
use altogic::{Client, ClientOptions, TaskResult};
use support::child::run_child;
use support::fixture::Fixture;
use support::proxy::{Behaviour, ProxyFixture, EXPECTED_AUTHORIZATION};
use support::socks::{self, SocksFixture};
use support::tls::{temp_dir, Ca, TlsServer};

const MADE_UP_HOST: &str = "app.altogic.test";

fn client(
    url: &str,
    proxy: Option<&str>,
    ca_file: Option<&str>,
) -> Result<Client, altogic::ApiError> {
    let options = ClientOptions {
        proxy: proxy.map(str::to_owned),
        ca_file: ca_file.map(str::to_owned),
        timeout_ms: Some(5_000),
        connect_timeout_ms: Some(2_000),
        ..ClientOptions::default()
    };
    Client::new(url, "k", options)
}

fn code(result: &TaskResult) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(error) => error.first_code().unwrap_or_default().to_owned(),
    }
}

fn message(result: &TaskResult) -> String {
    match result {
        Ok(info) => format!("{info:?}"),
        Err(error) => error.to_json(),
    }
}

/// An HTTPS server whose certificate names the made-up host, and the CA file to trust it.
fn https_server() -> (TlsServer, String) {
    let dir = temp_dir("proxy-tls");
    let ca = Ca::new("proxy test CA");
    let server = TlsServer::start(&ca.issue(&[MADE_UP_HOST, "127.0.0.1"]));
    let ca_file = ca.write(&dir, "ca.pem").display().to_string();
    (server, ca_file)
}

fn with_credentials(proxy_url: &str) -> String {
    proxy_url.replace("http://", "http://tester:s3cret@")
}

#[test]
fn the_proxy_option_tunnels_https_and_forwards_http_with_credentials() {
    let proxy = ProxyFixture::start(Behaviour::RequireAuth);
    let (server, ca_file) = https_server();
    let https = format!("https://{MADE_UP_HOST}:{}", server.port);
    let through = with_credentials(&proxy.url);
    let result = client(&https, Some(&through), Some(&ca_file))
        .unwrap()
        .run_once("t", None);
    assert_eq!(code(&result), "ok", "{}", message(&result));

    let fixture = Fixture::start();
    let port = fixture.url.rsplit_once(':').unwrap().1;
    let http = format!("http://{MADE_UP_HOST}:{port}");
    let result = client(&http, Some(&through), None)
        .unwrap()
        .get_task_status("via-proxy", None);
    assert_eq!(code(&result), "ok", "{}", message(&result));

    let seen = proxy.seen();
    assert_eq!(seen[0].method, "CONNECT");
    assert_eq!(seen[0].target, format!("{MADE_UP_HOST}:{}", server.port));
    assert_eq!(
        seen[0].proxy_authorization.as_deref(),
        Some(EXPECTED_AUTHORIZATION)
    );
    assert_eq!(seen[1].method, "GET");
    assert_eq!(
        seen[1].target,
        format!("{http}/_api/rest/v1/task/via-proxy")
    );
    assert_eq!(
        seen[1].proxy_authorization.as_deref(),
        Some(EXPECTED_AUTHORIZATION)
    );
}

#[test]
fn the_option_proxies_every_request_even_to_loopback() {
    let proxy = ProxyFixture::start(Behaviour::Carry);
    let fixture = Fixture::start();
    let result = client(&fixture.url, Some(&proxy.url), None)
        .unwrap()
        .get_task_status("loop", None);
    assert_eq!(code(&result), "ok", "{}", message(&result));
    assert_eq!(proxy.seen().len(), 1);
}

#[test]
fn a_proxy_that_refuses_is_a_proxy_error_that_names_it_without_credentials() {
    let (server, ca_file) = https_server();
    let https = format!("https://{MADE_UP_HOST}:{}", server.port);
    let fixture = Fixture::start();
    let port = fixture.url.rsplit_once(':').unwrap().1;
    let http = format!("http://{MADE_UP_HOST}:{port}");

    let needs_auth = ProxyFixture::start(Behaviour::RequireAuth);
    let wrong = needs_auth
        .url
        .replace("http://", "http://tester:WRONGPASS@");
    let shown = needs_auth.url.clone();
    for target in [&https, &http] {
        let result = client(target, Some(&wrong), Some(&ca_file))
            .unwrap()
            .get_task_status("t", None);
        assert_eq!(
            code(&result),
            codes::PROXY_ERROR,
            "{target}: {}",
            message(&result)
        );
        let error = result.unwrap_err();
        let text = error.to_json();
        assert!(text.contains(&shown) && text.contains("407"), "{text}");
        assert!(!text.contains("WRONGPASS"), "{text}");
        assert_eq!(error.items[0]["details"]["proxyStatus"], 407);
        // A refusal is not retried by a wait.
        let started = std::time::Instant::now();
        let waited = client(target, Some(&wrong), Some(&ca_file))
            .unwrap()
            .wait_for_task("t", Some(Duration::from_secs(5)), None);
        assert_eq!(code(&waited), codes::PROXY_ERROR);
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    let refuses = ProxyFixture::start(Behaviour::RefuseTunnels);
    let result = client(&https, Some(&refuses.url), Some(&ca_file))
        .unwrap()
        .run_once("t", None);
    assert_eq!(code(&result), codes::PROXY_ERROR, "{}", message(&result));
    assert!(
        message(&result).contains("refused the CONNECT tunnel"),
        "{}",
        message(&result)
    );

    let closes = ProxyFixture::start(Behaviour::Close);
    for target in [&https, &http] {
        let result = client(target, Some(&with_credentials(&closes.url)), Some(&ca_file))
            .unwrap()
            .get_task_status("t", None);
        let text = message(&result);
        assert_eq!(code(&result), codes::NETWORK_ERROR, "{text}");
        assert!(
            text.contains(&closes.url) && text.contains("through the proxy"),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }
}

#[test]
fn a_malformed_proxy_is_invalid_argument_naming_the_option() {
    for bad in [
        "ftp://127.0.0.1:21",
        "http://",
        "http://a b:1",
        "quic://127.0.0.1:1",
    ] {
        let error = client("https://example.com", Some(bad), None).unwrap_err();
        assert_eq!(error.first_code(), Some(codes::INVALID_ARGUMENT), "{bad}");
        assert_eq!(error.items[0]["details"]["argument"], "proxy");
    }
    // "" means no proxy at all.
    assert!(client("https://example.com", Some(""), None).is_ok());
}

/// The child's side: calls ALTOGIC_TEST_URL (with ALTOGIC_TEST_CA_FILE and
/// ALTOGIC_TEST_PROXY_OPTION when set) and expects ALTOGIC_TEST_EXPECT: `ok`, or a code.
#[test]
#[ignore = "run by the tests below, in a process of its own"]
fn child_calls_through_the_environment() {
    let url = std::env::var("ALTOGIC_TEST_URL").unwrap();
    let ca_file = std::env::var("ALTOGIC_TEST_CA_FILE").ok();
    let option = std::env::var("ALTOGIC_TEST_PROXY_OPTION").ok();
    let expected = std::env::var("ALTOGIC_TEST_EXPECT").unwrap();
    let result = match client(&url, option.as_deref(), ca_file.as_deref()) {
        Ok(client) => client.get_task_status("from-the-environment", None),
        Err(error) => Err(error),
    };
    assert_eq!(code(&result), expected, "{}", message(&result));
    println!("child result: {}", message(&result));
}

fn env(pairs: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                &*Box::leak(name.to_string().into_boxed_str()),
                value.to_string(),
            )
        })
        .collect()
}

/// Runs `child_calls_through_the_environment` in a child with the variables `pairs`, trusting
/// `ca_file` if given, expecting `expected` ("ok" or an error code); what it printed.
fn expect_in_child(pairs: &[(&str, &str)], ca_file: Option<&str>, expected: &str) -> String {
    let mut pairs = pairs.to_vec();
    if let Some(ca_file) = ca_file {
        pairs.push(("ALTOGIC_TEST_CA_FILE", ca_file));
    }
    pairs.push(("ALTOGIC_TEST_EXPECT", expected));
    run_child("child_calls_through_the_environment", &env(&pairs), None)
}

#[test]
fn environment_proxies_as_curl_and_go_read_them() {
    let (server, ca_file) = https_server();
    let https = format!("https://{MADE_UP_HOST}:{}", server.port);
    let fixture = Fixture::start();
    let port = fixture.url.rsplit_once(':').unwrap().1.to_owned();
    let http = format!("http://{MADE_UP_HOST}:{port}");

    // Each variable, in either case, for the targets it serves.
    for (variable, target) in [
        ("HTTPS_PROXY", &https),
        ("https_proxy", &https),
        ("HTTP_PROXY", &http),
        ("http_proxy", &http),
        ("ALL_PROXY", &https),
        ("all_proxy", &http),
    ] {
        let proxy = ProxyFixture::start(Behaviour::Carry);
        expect_in_child(
            &[(variable, &proxy.url), ("ALTOGIC_TEST_URL", target)],
            Some(&ca_file),
            "ok",
        );
        assert_eq!(proxy.seen().len(), 1, "{variable} for {target}");
    }

    // HTTPS_PROXY does not serve http:// targets; NO_PROXY exempts a host; the option ""
    // turns the environment off. Unproxied, the made-up host does not resolve.
    let proxy = ProxyFixture::start(Behaviour::Carry);
    for extra in [
        vec![
            ("HTTPS_PROXY", proxy.url.as_str()),
            ("ALTOGIC_TEST_URL", http.as_str()),
        ],
        vec![
            ("HTTPS_PROXY", proxy.url.as_str()),
            ("NO_PROXY", ".altogic.test"),
            ("ALTOGIC_TEST_URL", https.as_str()),
        ],
        vec![
            ("HTTPS_PROXY", proxy.url.as_str()),
            ("ALTOGIC_TEST_PROXY_OPTION", ""),
            ("ALTOGIC_TEST_URL", https.as_str()),
        ],
    ] {
        expect_in_child(&extra, Some(&ca_file), codes::NETWORK_ERROR);
    }
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());

    // Loopback is never proxied from the environment.
    let loopback = format!("https://127.0.0.1:{}", server.port);
    expect_in_child(
        &[
            ("HTTPS_PROXY", &proxy.url),
            ("ALL_PROXY", &proxy.url),
            ("ALTOGIC_TEST_URL", &loopback),
        ],
        Some(&ca_file),
        "ok",
    );
    expect_in_child(
        &[
            ("HTTP_PROXY", &proxy.url),
            (
                "ALTOGIC_TEST_URL",
                &fixture.url.replace("127.0.0.1", "localhost"),
            ),
        ],
        None,
        "ok",
    );
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());

    // A malformed variable is refused by name.
    expect_in_child(
        &[
            ("HTTPS_PROXY", "ftp://tester:s3cret@proxy"),
            ("ALTOGIC_TEST_URL", &https),
        ],
        None,
        codes::INVALID_ARGUMENT,
    );
}

#[test]
fn the_debug_log_says_which_proxy_without_its_credentials() {
    let proxy = ProxyFixture::start(Behaviour::RequireAuth);
    let fixture = Fixture::start();
    let port = fixture.url.rsplit_once(':').unwrap().1;
    let http = format!("http://{MADE_UP_HOST}:{port}");
    let printed = expect_in_child(
        &[
            ("HTTP_PROXY", &with_credentials(&proxy.url)),
            ("ALTOGIC_LOG", "debug"),
            ("ALTOGIC_TEST_URL", &http),
        ],
        None,
        "ok",
    );
    let line = printed
        .lines()
        .find(|line| line.starts_with("altogic: GET"))
        .unwrap_or_else(|| panic!("no log line in:\n{printed}"));
    assert!(line.contains(&format!("via proxy {}", proxy.url)), "{line}");
    assert!(
        !printed.contains("s3cret") && !printed.contains("tester"),
        "{printed}"
    );
}

/// `socks5h://user:password@host:port` for the SOCKS fixture.
fn socks_with(fixture: &SocksFixture, user: &str, password: &str) -> String {
    fixture
        .url
        .replace("socks5h://", &format!("socks5h://{user}:{password}@"))
}

#[test]
fn socks5_carries_https_and_http_with_credentials_and_names_a_refusal() {
    let socks = SocksFixture::start(true);
    let (server, ca_file) = https_server();
    let https = format!("https://{MADE_UP_HOST}:{}", server.port);
    let fixture = Fixture::start();
    let port = fixture.url.rsplit_once(':').unwrap().1.to_owned();
    let http = format!("http://{MADE_UP_HOST}:{port}");
    let through = socks_with(&socks, socks::USER, socks::PASSWORD);
    let result = client(&https, Some(&through), Some(&ca_file))
        .unwrap()
        .run_once("t", None);
    assert_eq!(code(&result), "ok", "{}", message(&result));
    let result = client(&http, Some(&through), None)
        .unwrap()
        .get_task_status("via-socks", None);
    assert_eq!(code(&result), "ok", "{}", message(&result));
    // socks5h: the proxy resolved the made-up name.
    assert_eq!(
        socks.seen(),
        [
            format!("{MADE_UP_HOST}:{}", server.port),
            format!("{MADE_UP_HOST}:{port}")
        ]
    );

    let wrong = socks_with(&socks, socks::USER, "WRONGPASS");
    for target in [&https, &http] {
        let result = client(target, Some(&wrong), Some(&ca_file))
            .unwrap()
            .get_task_status("t", None);
        let text = message(&result);
        assert_eq!(code(&result), codes::PROXY_ERROR, "{target}: {text}");
        assert!(text.contains(&socks.url), "{text}");
        assert!(!text.contains("WRONGPASS"), "{text}");
    }
}

#[test]
fn a_proxy_whose_tls_fails_is_named_not_the_service() {
    let (server, ca_file) = https_server();
    // A TLS server whose CA the client does not trust, standing as an https:// proxy.
    let untrusted = TlsServer::start(&Ca::new("untrusted proxy CA").issue(&["127.0.0.1"]));
    let proxy = format!("https://127.0.0.1:{}", untrusted.port);
    let fixture = Fixture::start();
    let port = fixture.url.rsplit_once(':').unwrap().1;
    for target in [
        format!("https://{MADE_UP_HOST}:{}", server.port),
        format!("http://{MADE_UP_HOST}:{port}"),
    ] {
        let result = client(&target, Some(&proxy), Some(&ca_file))
            .unwrap()
            .run_once("t", None);
        let error = result.unwrap_err();
        let text = error.to_json();
        assert_eq!(
            error.first_code(),
            Some(codes::TLS_ERROR),
            "{target}: {text}"
        );
        let message = error.items[0]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("to the proxy {proxy}")) && message.contains("127.0.0.1"),
            "{message}"
        );
        assert!(!message.contains("envUrl"), "blames the service: {message}");
        assert_eq!(error.items[0]["details"]["proxy"], proxy.as_str());
    }
}

#[test]
fn environment_socks_cgi_and_wildcards_as_go_reads_them() {
    let (server, ca_file) = https_server();
    let https = format!("https://{MADE_UP_HOST}:{}", server.port);
    let fixture = Fixture::start();
    let port = fixture.url.rsplit_once(':').unwrap().1.to_owned();
    let http = format!("http://{MADE_UP_HOST}:{port}");
    let expect = |pairs: &[(&str, &str)], expected: &str| {
        expect_in_child(pairs, Some(&ca_file), expected);
    };

    // ALL_PROXY with a SOCKS URL, either case, for either scheme.
    let socks = SocksFixture::start(false);
    expect(
        &[("ALL_PROXY", &socks.url), ("ALTOGIC_TEST_URL", &https)],
        "ok",
    );
    expect(
        &[("all_proxy", &socks.url), ("ALTOGIC_TEST_URL", &http)],
        "ok",
    );
    assert_eq!(socks.seen().len(), 2, "{:?}", socks.seen());

    // CGI: a non-empty REQUEST_METHOD turns HTTP_PROXY off (unproxied, the made-up host
    // does not resolve), an empty one does not; HTTPS_PROXY still serves https://.
    let proxy = ProxyFixture::start(Behaviour::Carry);
    let via_http_proxy = [
        ("HTTP_PROXY", proxy.url.as_str()),
        ("ALTOGIC_TEST_URL", &http),
    ];
    expect(
        &[&via_http_proxy[..], &[("REQUEST_METHOD", "GET")]].concat(),
        codes::NETWORK_ERROR,
    );
    expect(
        &[&via_http_proxy[..], &[("REQUEST_METHOD", "")]].concat(),
        "ok",
    );
    expect(
        &[
            ("HTTPS_PROXY", proxy.url.as_str()),
            ("REQUEST_METHOD", "GET"),
            ("ALTOGIC_TEST_URL", &https),
        ],
        "ok",
    );
    assert_eq!(proxy.seen().len(), 2, "{:?}", proxy.seen());

    // NO_PROXY=*.domain: its subdomains, not the domain itself.
    let proxy = ProxyFixture::start(Behaviour::Carry);
    let via = ("HTTPS_PROXY", proxy.url.as_str());
    let to = ("ALTOGIC_TEST_URL", https.as_str());
    expect(
        &[via, to, ("NO_PROXY", "*.altogic.test")],
        codes::NETWORK_ERROR,
    );
    expect(&[via, to, ("NO_PROXY", "*.app.altogic.test")], "ok");
    assert_eq!(proxy.seen().len(), 1, "{:?}", proxy.seen());

    // socks:// (what GNOME exports) is read, as curl reads it (SOCKS4): a client is made,
    // and its call goes to that proxy (which refuses: nothing listens there). The target is
    // an address of TEST-NET-1, so nothing is looked up and nothing leaves this machine.
    expect(
        &[
            ("all_proxy", "socks://127.0.0.1:1/"),
            ("ALTOGIC_TEST_URL", "https://192.0.2.1"),
        ],
        codes::NETWORK_ERROR,
    );
}
