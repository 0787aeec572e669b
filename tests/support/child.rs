//! Running one `#[ignore]`d test of the current test binary in a child process, with an
//! environment of its own: what the library reads once per process (the trust store, the
//! proxy variables, `ALTOGIC_LOG`) is tried that way.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Runs `test` of this binary in a child process with `env` (and without the variables
/// the library reads, unless `env` sets them), optionally inside a private mount namespace
/// where `system_certs` is mounted over /etc/ssl/certs; asserts that it passed and returns
/// what it printed.
pub fn run_child(test: &str, env: &[(&str, String)], system_certs: Option<&Path>) -> String {
    let binary = std::env::current_exe().unwrap();
    let mut command = match system_certs {
        None => Command::new(&binary),
        Some(certs) => {
            // Only this child sees the other bundle; the machine's trust store is untouched.
            let mut command = Command::new("unshare");
            command.args(["--mount", "--propagation", "private", "sh", "-c"]);
            command.arg(r#"mount --bind "$0" /etc/ssl/certs && exec "$@""#);
            command.arg(certs).arg(&binary);
            command
        }
    };
    command.args([
        "--exact",
        test,
        "--ignored",
        "--nocapture",
        "--test-threads",
        "1",
    ]);
    for variable in [
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "REQUEST_METHOD",
        "ALTOGIC_LOG",
    ] {
        command.env_remove(variable);
    }
    command.envs(env.iter().map(|(name, value)| (name, value)));
    let output = command.output().expect("the test binary runs again");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{test} failed:\n{text}");
    assert!(text.contains("1 passed"), "{test} did not run:\n{text}");
    text
}
