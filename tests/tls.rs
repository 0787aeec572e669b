//! Trust over TLS, against HTTPS servers on 127.0.0.1 with certificates made at run time:
//! the system's trust store as OpenSSL and Go read it (SSL_CERT_FILE, SSL_CERT_DIR, the
//! system bundle, shown to a child process alone through a private mount namespace), the
//! bundled roots where the system has none, `caFile`, and `tls_error` for every failure.
//!
//! The default trust store is read once per process, so each environment is tried in a
//! child process: the parent runs this test binary again with one `#[ignore]`d test named
//! and the environment set, and the child reports by passing or failing.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use altogic::error::codes;
use altogic::{Client, ClientOptions};
use support::child::run_child;
use support::fixture::Fixture;
use support::tls::{temp_dir, Ca, TlsServer};

fn client_with(url: &str, ca_file: Option<&Path>) -> Result<Client, altogic::ApiError> {
    let options = ClientOptions {
        ca_file: ca_file.map(|path| path.display().to_string()),
        timeout_ms: Some(5_000),
        ..ClientOptions::default()
    };
    Client::new(url, "k", options)
}

fn first_code(result: &altogic::TaskResult) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(error) => error.first_code().unwrap_or_default().to_owned(),
    }
}

fn message(result: &altogic::TaskResult) -> String {
    match result {
        Ok(info) => format!("{info:?}"),
        Err(error) => error.items[0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

#[test]
fn a_ca_the_machine_does_not_trust_is_a_tls_error_a_wait_does_not_retry() {
    let ca = Ca::new("untrusted test CA");
    let server = TlsServer::start(&ca.issue(&["localhost", "127.0.0.1"]));
    let client = client_with(&format!("https://127.0.0.1:{}", server.port), None).unwrap();
    let result = client.run_once("billOnDemand", None);
    assert_eq!(first_code(&result), codes::TLS_ERROR, "{result:?}");
    let text = message(&result);
    assert!(
        text.contains("not signed by a CA this machine trusts"),
        "{text}"
    );
    assert!(
        text.contains("caFile") && text.contains("SSL_CERT_FILE"),
        "{text}"
    );

    let started = Instant::now();
    let waited = client.wait_for_task("t", Some(Duration::from_secs(5)), None);
    assert_eq!(first_code(&waited), codes::TLS_ERROR, "{waited:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the wait retried a certificate failure for {:?}",
        started.elapsed()
    );
    assert_eq!(server.answered.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn ca_file_adds_a_trusted_ca() {
    let dir = temp_dir("cafile");
    let ca = Ca::new("corporate test CA");
    let server = TlsServer::start(&ca.issue(&["localhost", "127.0.0.1"]));
    let ca_file = ca.write(&dir, "corporate.pem");
    for host in ["127.0.0.1", "localhost"] {
        let client =
            client_with(&format!("https://{host}:{}", server.port), Some(&ca_file)).unwrap();
        let info = client.run_once("billOnDemand", None).unwrap().unwrap();
        assert_eq!(info.task_id(), Some("tls-task"));
        let info = client.get_task_status("tls-task", None).unwrap().unwrap();
        assert_eq!(info.status(), Some("completed"));
    }
    // A CA that did not sign the server's certificate does not help.
    let other = Ca::new("unrelated test CA").write(&dir, "unrelated.pem");
    let client = client_with(&format!("https://127.0.0.1:{}", server.port), Some(&other)).unwrap();
    assert_eq!(first_code(&client.run_once("x", None)), codes::TLS_ERROR);
}

#[test]
fn ca_file_that_cannot_serve_is_invalid_argument_naming_it() {
    let dir = temp_dir("cafile-bad");
    let not_pem = dir.join("notes.txt");
    std::fs::write(&not_pem, "no certificate here\n").unwrap();
    let broken = dir.join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let missing = dir.join("missing.pem");
    for (path, why) in [
        (missing.as_path(), "cannot be read"),
        (dir.as_path(), "cannot be read"),
        (not_pem.as_path(), "holds no certificate"),
        (broken.as_path(), "not valid PEM"),
    ] {
        let error = client_with("https://127.0.0.1:1", Some(path)).unwrap_err();
        assert_eq!(
            error.first_code(),
            Some(codes::INVALID_ARGUMENT),
            "{path:?}"
        );
        let text = error.items[0]["message"].as_str().unwrap();
        assert!(
            text.contains(&path.display().to_string()) && text.contains(why),
            "{text}"
        );
        assert_eq!(error.items[0]["details"]["argument"], "caFile");
    }
}

#[test]
fn every_certificate_failure_is_a_tls_error_that_says_what_failed() {
    let dir = temp_dir("tls-failures");
    let ca = Ca::new("test CA");
    let ca_file = ca.write(&dir, "ca.pem");
    let wrong_name = TlsServer::start(&ca.issue(&["app.other.test"]));
    let expired = TlsServer::start(&ca.issue_expired(&["localhost", "127.0.0.1"]));
    let plain = Fixture::start();
    for (url, expected) in [
        (
            format!("https://127.0.0.1:{}", wrong_name.port),
            "not valid for the name 127.0.0.1",
        ),
        (format!("https://127.0.0.1:{}", expired.port), "has expired"),
        (plain.url.replace("http://", "https://"), "TLS"),
    ] {
        let client = client_with(&url, Some(&ca_file)).unwrap();
        let result = client.get_task_status("t", None);
        assert_eq!(first_code(&result), codes::TLS_ERROR, "{url}: {result:?}");
        let text = message(&result);
        assert!(text.contains(expected), "{url}: {text}");
    }
}

/// The child's side: calls the server at ALTOGIC_TEST_URL with the default trust store and
/// expects ALTOGIC_TEST_EXPECT (`ok`, or a code and a text its message holds).
#[test]
#[ignore = "run by the tests above, in a process of its own"]
fn child_calls_with_the_default_trust_store() {
    let url = std::env::var("ALTOGIC_TEST_URL").unwrap();
    let expected = std::env::var("ALTOGIC_TEST_EXPECT").unwrap();
    let client = client_with(&url, None).unwrap();
    let result = client.run_once("billOnDemand", None);
    match expected.split_once(' ') {
        None => assert!(result.is_ok(), "{result:?}"),
        Some((code, text)) => {
            assert_eq!(first_code(&result), code, "{result:?}");
            assert!(message(&result).contains(text), "{}", message(&result));
        }
    }
}

fn server_and_ca(dir: &Path) -> (TlsServer, std::path::PathBuf) {
    let ca = Ca::new("environment test CA");
    let server = TlsServer::start(&ca.issue(&["localhost", "127.0.0.1"]));
    (server, ca.write(dir, "ca.pem"))
}

#[test]
fn ssl_cert_file_and_ssl_cert_dir_are_trusted() {
    let dir = temp_dir("ssl-cert-env");
    let (server, ca_file) = server_and_ca(&dir);
    let url = format!("https://127.0.0.1:{}", server.port);
    let child = "child_calls_with_the_default_trust_store";
    let ok = ("ALTOGIC_TEST_EXPECT", "ok".to_owned());
    run_child(
        child,
        &[
            ("ALTOGIC_TEST_URL", url.clone()),
            ok.clone(),
            ("SSL_CERT_FILE", ca_file.display().to_string()),
        ],
        None,
    );
    let cert_dir = dir.join("certs");
    std::fs::create_dir_all(&cert_dir).unwrap();
    std::fs::copy(&ca_file, cert_dir.join("environment-ca.pem")).unwrap();
    run_child(
        child,
        &[
            ("ALTOGIC_TEST_URL", url.clone()),
            ok,
            ("SSL_CERT_DIR", cert_dir.display().to_string()),
        ],
        None,
    );
    // Set but naming another CA: only those files count, as with OpenSSL.
    let other = Ca::new("other test CA").write(&dir, "other.pem");
    run_child(
        child,
        &[
            ("ALTOGIC_TEST_URL", url),
            (
                "ALTOGIC_TEST_EXPECT",
                "tls_error SSL_CERT_FILE/SSL_CERT_DIR".to_owned(),
            ),
            ("SSL_CERT_FILE", other.display().to_string()),
        ],
        None,
    );
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "Linux only: mounts another /etc/ssl/certs in a private mount namespace (unshare)"
)]
fn the_system_bundle_is_trusted_and_the_bundled_roots_serve_when_it_is_empty() {
    let dir = temp_dir("system-bundle");
    let (server, ca_file) = server_and_ca(&dir);
    let url = format!("https://127.0.0.1:{}", server.port);
    let child = "child_calls_with_the_default_trust_store";
    // What update-ca-certificates writes, holding this run's CA alone.
    let system = dir.join("etc-ssl-certs");
    std::fs::create_dir_all(&system).unwrap();
    std::fs::copy(&ca_file, system.join("ca-certificates.crt")).unwrap();
    run_child(
        child,
        &[
            ("ALTOGIC_TEST_URL", url.clone()),
            ("ALTOGIC_TEST_EXPECT", "ok".to_owned()),
        ],
        Some(&system),
    );
    // A system without any certificate (a scratch container): the bundled Mozilla roots,
    // which do not hold this run's CA.
    let empty = dir.join("empty-certs");
    std::fs::create_dir_all(&empty).unwrap();
    run_child(
        child,
        &[
            ("ALTOGIC_TEST_URL", url),
            (
                "ALTOGIC_TEST_EXPECT",
                "tls_error Mozilla roots built into the library".to_owned(),
            ),
        ],
        Some(&empty),
    );
}
