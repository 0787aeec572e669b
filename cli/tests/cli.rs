//! `altogic-task` as a script or a person runs it: the built binary against the real
//! emulator on 127.0.0.1, every exit status, the output of each command, and no escape
//! codes unless stdout is a terminal.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use altogic::task::{WAIT_FIRST_BACKOFF, WAIT_MAX_BACKOFF};

const CLI: &str = env!("CARGO_BIN_EXE_altogic-task");

/// The emulator on a free loopback port, stopped when dropped.
struct Emulator {
    child: Child,
    url: String,
}

impl Emulator {
    fn start() -> Emulator {
        let path = emulator_path();
        let mut child = Command::new(&path)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", path.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the emulator writes its listening line");
        let url = line
            .trim()
            .strip_prefix("altogic-emulator listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Emulator { child, url }
    }

    /// `altogic-task ARGS` with this emulator's URL and the demo client key in the
    /// environment, stdin closed, bounded to 30 s.
    fn cli(&self, args: &[&str]) -> Output {
        self.cli_with(args, &[])
    }

    fn cli_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        run(command)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(CLI);
        command
            .args(args)
            .env_remove("ALTOGIC_API_KEY")
            .env_remove("ALTOGIC_SESSION")
            .env_remove("ALTOGIC_LOG")
            .env_remove("ALTOGIC_CA_FILE")
            .env_remove("ALTOGIC_PROXY")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("all_proxy")
            .env("ALTOGIC_ENV_URL", &self.url)
            .env("ALTOGIC_CLIENT_KEY", "demo-client-key")
            .stdin(Stdio::null());
        command
    }

    /// Starts TASK and returns the execution id `run` printed.
    fn start_task(&self, task: &str) -> String {
        let out = self.cli(&["run", task]);
        assert_eq!(code(&out), 0, "run {task}: {}", text(&out.stderr));
        text(&out.stdout).trim_end().to_owned()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$ALTOGIC_EMULATOR`, or altogic-emulator beside this test's binary of altogic-task
/// (cargo builds it there with the workspace), or in target/release.
fn emulator_path() -> PathBuf {
    if let Some(path) = std::env::var_os("ALTOGIC_EMULATOR") {
        return PathBuf::from(path);
    }
    let beside = PathBuf::from(CLI).with_file_name("altogic-emulator");
    let release =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/altogic-emulator");
    for path in [beside, release] {
        if path.is_file() {
            return path;
        }
    }
    panic!("altogic-emulator is not built: cargo build --release -p altogic-emulator (or set ALTOGIC_EMULATOR)");
}

fn run(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("altogic-task starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("altogic-task ran for more than 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed by a signal")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// Not on a terminal: plain lines, never an escape code or a carriage return.
fn assert_plain(out: &Output) {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !bytes.iter().any(|&b| b == 0x1b || b == b'\r'),
            "{name} has escape codes or \\r: {:?}",
            text(bytes)
        );
    }
}

fn is_execution_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn run_prints_the_execution_id_alone_then_status_and_wait_follow_it() {
    let emu = Emulator::start();
    let out = emu.cli(&["run", "billOnDemand"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_plain(&out);
    let stdout = text(&out.stdout);
    let id = stdout.strip_suffix('\n').expect("one line");
    assert!(is_execution_id(id) && !id.contains('\n'), "{stdout:?}");
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));

    let status = emu.cli(&["status", id]);
    assert_eq!(code(&status), 0, "{}", text(&status.stderr));
    assert_plain(&status);
    let line = text(&status.stdout);
    assert!(line.starts_with(&format!("{id} ")), "{line:?}");
    assert!(line.contains("(billOnDemand)"), "{line:?}");

    let waited = emu.cli(&["wait", id]);
    assert_eq!(code(&waited), 0, "{}", text(&waited.stderr));
    assert_plain(&waited);
    assert_eq!(
        text(&waited.stdout),
        format!("{id} completed (billOnDemand)\n")
    );
}

#[test]
fn json_prints_the_task_info_as_the_service_sent_it() {
    let emu = Emulator::start();
    let started = emu.cli(&["--json", "run", "billOnDemand"]);
    assert_eq!(code(&started), 0, "{}", text(&started.stderr));
    let info: serde_json::Value = serde_json::from_slice(&started.stdout).expect("JSON");
    assert_eq!(info["status"], "pending");
    assert_eq!(info["scheduledTaskName"], "billOnDemand");
    let id = info["taskId"].as_str().expect("taskId");

    let done = emu.cli(&["wait", id, "--json"]);
    assert_eq!(code(&done), 0, "{}", text(&done.stderr));
    assert_plain(&done);
    let stdout = text(&done.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    let info: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(info["taskId"], id);
    assert_eq!(info["status"], "completed");
    assert!(info["completedAt"].is_string(), "{info}");
}

#[test]
fn run_wait_exits_0_when_completed_and_1_when_the_execution_ends_in_errors() {
    let emu = Emulator::start();
    let ok = emu.cli(&["run", "billOnDemand", "--wait", "--timeout", "20s"]);
    assert_eq!(code(&ok), 0, "{}", text(&ok.stderr));
    assert_plain(&ok);
    assert!(
        text(&ok.stdout).ends_with(" completed (billOnDemand)\n"),
        "{}",
        text(&ok.stdout)
    );

    let failed = emu.cli(&["run", "failingTask", "--wait"]);
    assert_eq!(code(&failed), 1, "{}", text(&failed.stderr));
    assert_plain(&failed);
    let line = text(&failed.stdout);
    assert!(line.contains(" errors (failingTask): {"), "{line:?}");
    assert!(line.contains("simulated_failure"), "{line:?}");

    // `status` of an execution that ended in errors says so too.
    let id = line.split(' ').next().expect("id");
    assert_eq!(code(&emu.cli(&["status", id])), 1);
}

#[test]
fn bad_usage_exits_2() {
    let emu = Emulator::start();
    let cases: &[&[&str]] = &[
        &[],
        &["run"],
        &["frobnicate"],
        &["run", "billOnDemand", "--no-such-flag"],
        &["wait", "x", "--timeout", "soon"],
        &["run", "billOnDemand", "--timeout", "1s"], // --timeout needs --wait
        &["--env-url", "not-a-url", "run", "billOnDemand"],
        &["--env-url", "ftp://127.0.0.1/", "status", "x"],
    ];
    for args in cases {
        let out = emu.cli(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", text(&out.stderr));
        assert_plain(&out);
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
        assert!(!out.stderr.is_empty(), "{args:?} says nothing");
    }
    // No URL or no client key at all, neither as an option nor in the environment: the
    // error names what is missing, and only that.
    for (removed, named, not_named) in [
        (
            &["ALTOGIC_ENV_URL"][..],
            &["--env-url <URL> (or ALTOGIC_ENV_URL)"][..],
            &["--client-key"][..],
        ),
        (
            &["ALTOGIC_CLIENT_KEY"],
            &["--client-key <KEY> (or ALTOGIC_CLIENT_KEY)"],
            &["--env-url"],
        ),
        (
            &["ALTOGIC_ENV_URL", "ALTOGIC_CLIENT_KEY"],
            &["--env-url <URL>", "--client-key <KEY>"],
            &[],
        ),
    ] {
        let mut command = emu.command(&["run", "billOnDemand"]);
        for variable in removed {
            command.env_remove(variable);
        }
        let out = run(command);
        assert_eq!(code(&out), 2);
        let stderr = text(&out.stderr);
        assert!(stderr.contains("required"), "{stderr}");
        for name in named {
            assert!(
                stderr.contains(name),
                "{removed:?}: {name} is not named: {stderr}"
            );
        }
        for name in not_named {
            assert!(
                !stderr.contains(name),
                "{removed:?}: {name} is named: {stderr}"
            );
        }
        assert!(
            stderr.contains("Usage: altogic-task run [OPTIONS] <TASK>"),
            "{stderr}"
        );
    }
}

/// Usage errors list what is missing, not the options the environment already gives
/// (clap's own usage line would: `run --env-url <URL> --client-key <KEY> <TASK>`).
#[test]
fn usage_errors_list_only_what_is_missing() {
    let emu = Emulator::start();
    for (args, missing, usage) in [
        (&["run"][..], "<TASK>", "altogic-task run [OPTIONS] <TASK>"),
        (&["status"], "<ID>", "altogic-task status [OPTIONS] <ID>"),
        (
            &["wait", "--timeout", "1s"],
            "<ID>",
            "altogic-task wait [OPTIONS] <ID>",
        ),
        (
            &["run", "x", "--timeout", "1s"],
            "--wait",
            "altogic-task run [OPTIONS] <TASK>",
        ),
    ] {
        let out = emu.cli(args);
        assert_eq!(code(&out), 2, "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("not provided:\n  {missing}\n")),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("Usage: {usage}\n")),
            "{args:?}: {stderr}"
        );
        for set in ["--env-url", "--client-key", "<URL>", "<KEY>"] {
            assert!(!stderr.contains(set), "{args:?} names {set}: {stderr}");
        }
    }
}

/// The library's names of its arguments (details.argument), which the CLI's errors never
/// show: they name the CLI's own options, variables and arguments.
const LIBRARY_NAMES: [&str; 8] = [
    "task_name_or_id",
    "task_id",
    "env_url",
    "client_key",
    "apiKey",
    "caFile",
    "session_token",
    "options_json",
];

/// Checks the message of an error line `altogic-task: CODE: MESSAGE` (a code such as
/// invalid_env_url is no argument's name).
fn assert_names_none_of_the_librarys(stderr: &str) {
    let message = stderr.splitn(3, ": ").nth(2).unwrap_or(stderr);
    for name in LIBRARY_NAMES {
        assert!(
            !message.contains(name),
            "the library's name {name}: {stderr}"
        );
    }
}

/// Arguments, environment variables, and how the error line goes on after "altogic-task: ".
type ArgumentCase<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

/// Bad arguments, options and variables: exit 2, and the message names them as the CLI
/// does (the option when it was given on the command line, the variable when it came from
/// the environment), then says what the library found wrong (details.reason).
#[test]
fn argument_errors_name_the_clis_options_variables_and_arguments() {
    let emu = Emulator::start();
    let cases: &[ArgumentCase] = &[
        (
            &["run", "  "],
            &[],
            "missing_required_value: TASK is required but was empty or blank",
        ),
        (
            &["status", ""],
            &[],
            "missing_required_value: ID is required but was empty or blank",
        ),
        (
            &["wait", " "],
            &[],
            "missing_required_value: ID is required but was empty or blank",
        ),
        (
            &["status", ".."],
            &[],
            "invalid_argument: ID \"..\" cannot be sent",
        ),
        (
            &["--env-url", "myapp.example.com", "run", "x"],
            &[],
            "invalid_env_url: --env-url \"myapp.example.com\" ",
        ),
        (
            &["run", "x"],
            &[("ALTOGIC_ENV_URL", "ftp://myapp.example.com")],
            "invalid_env_url: ALTOGIC_ENV_URL \"ftp://myapp.example.com\" ",
        ),
        (
            &["run", "x"],
            &[("ALTOGIC_ENV_URL", " ")],
            "missing_required_value: ALTOGIC_ENV_URL is required but was empty or blank",
        ),
        (
            &["--env-url", "", "run", "x"],
            &[],
            "missing_required_value: --env-url is required but was empty or blank",
        ),
        (
            &["--client-key", "k\r\nX-Evil: 1", "run", "x"],
            &[],
            "invalid_argument: --client-key contains a carriage return",
        ),
        (
            &["run", "x"],
            &[("ALTOGIC_CLIENT_KEY", " ")],
            "missing_required_value: ALTOGIC_CLIENT_KEY is required",
        ),
        (
            &["--api-key", "a\nb", "run", "x"],
            &[],
            "invalid_argument: --api-key contains a line feed",
        ),
        (
            &["run", "x"],
            &[("ALTOGIC_API_KEY", " ")],
            "missing_required_value: ALTOGIC_API_KEY is required",
        ),
        (
            &["--session", "x\ry", "run", "x"],
            &[],
            "invalid_argument: --session contains a carriage return",
        ),
        (
            &["run", "x"],
            &[("ALTOGIC_SESSION", "x\ry")],
            "invalid_argument: ALTOGIC_SESSION contains a carriage return",
        ),
        (
            &["--ca-file", "/nonexistent/altogic-ca.pem", "run", "x"],
            &[],
            "invalid_argument: --ca-file \"/nonexistent/altogic-ca.pem\" cannot be read",
        ),
        (
            &["--proxy", "http://tester:s3cret-pw@exa mple:1", "run", "x"],
            &[],
            "invalid_argument: --proxy \"",
        ),
        (
            &["run", "x"],
            &[("ALTOGIC_PROXY", "ftp://127.0.0.1:21")],
            "invalid_argument: ALTOGIC_PROXY \"ftp://127.0.0.1:21\" ",
        ),
    ];
    for (args, env, want) in cases {
        let out = emu.cli_with(args, env);
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), 2, "{args:?} {env:?}: {stderr}");
        assert_plain(&out);
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr.starts_with(&format!("altogic-task: {want}")),
            "{args:?} {env:?}: {stderr:?}, want it to start with altogic-task: {want}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("s3cret-pw"), "{stderr}");
        assert_names_none_of_the_librarys(&stderr);
    }

    // --json: the APIError object, its message in the same words; details keep the
    // library's name of the argument, for programs.
    let out = emu.cli(&["--json", "run", " "]);
    assert_eq!(code(&out), 2);
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).expect("APIError JSON");
    let item = &error["items"][0];
    assert_eq!(item["message"], "TASK is required but was empty or blank");
    assert_eq!(item["details"]["argument"], "task_name_or_id");
    assert_eq!(
        item["details"]["reason"],
        "is required but was empty or blank"
    );
}

/// A proxy variable of the environment the library reads itself keeps its name.
#[test]
fn a_proxy_variable_the_library_reads_keeps_its_name() {
    let emu = Emulator::start();
    // Loopback is never proxied: a URL elsewhere, refused before anything is sent.
    let out = emu.cli_with(
        &["--env-url", "https://altogic.invalid", "run", "x"],
        &[("HTTPS_PROXY", "ftp://127.0.0.1:21")],
    );
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 2, "{stderr}");
    assert!(
        stderr.starts_with("altogic-task: invalid_argument: HTTPS_PROXY \"ftp://127.0.0.1:21\" "),
        "{stderr}"
    );
}

#[test]
fn a_refusal_of_the_service_exits_3_with_its_code_and_status() {
    let emu = Emulator::start();
    let unknown = emu.cli(&["run", "noSuchTask"]);
    assert_eq!(code(&unknown), 3);
    assert_plain(&unknown);
    assert!(unknown.stdout.is_empty());
    let stderr = text(&unknown.stderr);
    assert!(stderr.starts_with("altogic-task: not_found: "), "{stderr}");
    assert!(stderr.contains("(HTTP 404 Not Found)"), "{stderr}");

    let wrong_key = emu.cli(&["--client-key", "wrong-key", "run", "billOnDemand"]);
    assert_eq!(code(&wrong_key), 3, "{}", text(&wrong_key.stderr));
    assert!(
        text(&wrong_key.stderr).contains("HTTP 401"),
        "{}",
        text(&wrong_key.stderr)
    );

    // An id the service keeps no execution for: status, and a wait (whose error is the
    // library's execution_not_found).
    for args in [
        &["status", "000000000000000000000000"][..],
        &["wait", "000000000000000000000000"],
    ] {
        let gone = emu.cli(args);
        assert_eq!(code(&gone), 3, "{args:?}: {}", text(&gone.stderr));
        assert!(
            text(&gone.stderr).starts_with("altogic-task: execution_not_found: "),
            "{args:?}: {}",
            text(&gone.stderr)
        );
    }

    // --json: the APIError object on stderr.
    let json = emu.cli(&["--json", "run", "noSuchTask"]);
    assert_eq!(code(&json), 3);
    let error: serde_json::Value = serde_json::from_slice(&json.stderr).expect("APIError JSON");
    assert_eq!(error["status"], 404);
    assert_eq!(error["items"][0]["code"], "not_found");
}

#[test]
fn sessions_from_the_option_or_the_environment_the_option_winning() {
    let emu = Emulator::start();
    let args = ["--client-key", "demo-session-key", "run", "billOnDemand"];
    let without = emu.cli(&args);
    assert_eq!(code(&without), 3);
    assert!(
        text(&without.stderr).contains("missing_session_token"),
        "{}",
        text(&without.stderr)
    );

    let from_env = emu.cli_with(&args, &[("ALTOGIC_SESSION", "demo-session-token")]);
    assert_eq!(code(&from_env), 0, "{}", text(&from_env.stderr));

    let mut with_flag = vec!["--session", "demo-session-token"];
    with_flag.extend_from_slice(&args);
    let flag_wins = emu.cli_with(&with_flag, &[("ALTOGIC_SESSION", "not-the-token")]);
    assert_eq!(code(&flag_wins), 0, "{}", text(&flag_wins.stderr));

    let env_key = emu.cli_with(
        &["run", "billOnDemand", "--session", "demo-session-token"],
        &[("ALTOGIC_CLIENT_KEY", "demo-session-key")],
    );
    assert_eq!(code(&env_key), 0, "{}", text(&env_key.stderr));
}

#[test]
fn no_answer_exits_4() {
    let emu = Emulator::start();
    let url = closed_port_url();
    for args in [
        &["--env-url", &url, "run", "billOnDemand"][..],
        &["--env-url", &url, "status", "abc"],
        &["--env-url", &url, "wait", "abc", "--timeout", "300ms"],
    ] {
        let out = emu.cli(args);
        assert_plain(&out);
        let stderr = text(&out.stderr);
        if args.contains(&"wait") {
            // A wait retries network errors until its deadline, then says what it last saw.
            assert_eq!(code(&out), 5, "{args:?}: {stderr}");
            assert!(stderr.contains("network_error"), "{stderr}");
        } else {
            assert_eq!(code(&out), 4, "{args:?}: {stderr}");
            assert!(
                stderr.starts_with("altogic-task: network_error: "),
                "{stderr}"
            );
        }
    }
}

/// A proxy on 127.0.0.1 that answers every request with 407, for `count` connections.
fn refusing_proxy(count: usize) -> (String, std::thread::JoinHandle<()>) {
    use std::io::Write;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let thread = std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (url, thread)
}

#[test]
fn tls_proxies_and_ca_files_reach_the_library() {
    let emu = Emulator::start();
    // TLS to a server that speaks plain HTTP: no answer (4), code tls_error.
    let https = emu.url.replace("http://", "https://");
    let out = emu.cli(&["--env-url", &https, "run", "billOnDemand"]);
    assert_eq!(code(&out), 4, "{}", text(&out.stderr));
    assert_plain(&out);
    assert!(
        text(&out.stderr).starts_with("altogic-task: tls_error: "),
        "{}",
        text(&out.stderr)
    );

    // A CA file that does not exist is refused before anything is sent (2).
    let out = emu.cli(&["--ca-file", "/nonexistent/ca.pem", "run", "billOnDemand"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    let out = emu.cli_with(
        &["run", "billOnDemand"],
        &[("ALTOGIC_CA_FILE", "/nonexistent/ca.pem")],
    );
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));

    // A proxy that refuses (407), from the option and from ALTOGIC_PROXY: no answer (4).
    let (proxy, thread) = refusing_proxy(2);
    let out = emu.cli(&["--proxy", &proxy, "run", "billOnDemand"]);
    assert_eq!(code(&out), 4, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("proxy_error"),
        "{}",
        text(&out.stderr)
    );
    let out = emu.cli_with(&["status", "abc"], &[("ALTOGIC_PROXY", proxy.as_str())]);
    assert_eq!(code(&out), 4, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("proxy_error"),
        "{}",
        text(&out.stderr)
    );
    thread.join().expect("proxy thread");
    // --proxy "" means none, whatever ALTOGIC_PROXY says.
    let out = emu.cli_with(
        &["--proxy", "", "run", "billOnDemand"],
        &[("ALTOGIC_PROXY", "http://127.0.0.1:1")],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
}

#[test]
fn the_waits_timeout_exits_5() {
    let emu = Emulator::start();
    let id = emu.start_task("slowReport");
    let started = Instant::now();
    let out = emu.cli(&["wait", &id, "--timeout", "300ms"]);
    let took = started.elapsed();
    assert_eq!(code(&out), 5, "{}", text(&out.stderr));
    assert_plain(&out);
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).starts_with("altogic-task: timeout: "),
        "{}",
        text(&out.stderr)
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");

    let out = emu.cli(&["run", "slowReport", "--wait", "--timeout", "300ms"]);
    assert_eq!(code(&out), 5, "{}", text(&out.stderr));
}

#[test]
fn ctrl_c_cancels_the_wait_at_once_and_exits_130() {
    let emu = Emulator::start();
    let id = emu.start_task("slowReport");
    let mut command = emu.command(&["wait", &id]);
    // SIGINT as a terminal delivers it: not ignored, whatever this test process inherited
    // (altogic-task stays deaf to a SIGINT its parent ignores, as shells want of background
    // jobs).
    // SAFETY: signal() is async-signal-safe; the closure runs in the child before exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the wait ended early"
    );
    let pid = child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let sent = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "no exit 2 s after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(130));
    assert!(
        took < Duration::from_millis(500),
        "took {took:?} to exit after SIGINT"
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(stderr.contains("interrupted"), "{stderr}");
}

/// `altogic-task ARGS` with SIGINT and SIGTERM at their default dispositions (as a terminal
/// or a service manager delivers them, whatever this test process inherited), ALTOGIC_LOG=debug
/// (a line on stderr per request), stdout and stderr piped.
fn spawn_interruptible(emu: &Emulator, args: &[&str]) -> Child {
    let mut command = emu.command(args);
    command.env("ALTOGIC_LOG", "debug");
    // SAFETY: signal() is async-signal-safe; the closure runs in the child before exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        });
    }
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts")
}

/// Reads the child's stderr on a thread until a line holding `needle` came (within 10 s):
/// the lines so far, and a thread that reads the rest (join it for the whole stderr).
fn stderr_until(child: &mut Child, needle: &str) -> std::thread::JoinHandle<String> {
    let stderr = child.stderr.take().expect("piped");
    let (seen, until_seen) = std::sync::mpsc::channel();
    let wanted = needle.to_owned();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        let mut seen = Some(seen);
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains(&wanted) {
                if let Some(seen) = seen.take() {
                    let _ = seen.send(());
                }
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    assert!(
        until_seen.recv_timeout(Duration::from_secs(10)).is_ok(),
        "no {needle:?} on stderr within 10 s"
    );
    reader
}

/// Sends `signal` to the child and waits (at most 2 s) for it to exit: its exit status, stdout
/// and how long it took.
fn interrupt(child: &mut Child, signal: libc::c_int) -> (i32, String, Duration) {
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    let sent = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "no exit 2 s after signal {signal}"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = sent.elapsed();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .expect("read");
    let code = status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {status:?}"));
    (code, stdout, took)
}

/// `run --wait` stopped by SIGINT or SIGTERM after runOnce answered prints the execution's id
/// (plain: alone on stdout; --json: an object with taskId), exits 130 or 143, and `wait ID`
/// then follows the execution to its end.
#[test]
fn an_interrupted_run_wait_prints_the_id_it_started_and_wait_follows_it() {
    let emu = Emulator::start();
    let mut ids = Vec::new();
    for (signal, name, json, want_code) in [
        (libc::SIGINT, "SIGINT", false, 130),
        (libc::SIGTERM, "SIGTERM", true, 143),
        (libc::SIGTERM, "SIGTERM", false, 143),
        (libc::SIGINT, "SIGINT", true, 130),
    ] {
        let mut args = vec!["run", "slowReport", "--wait"];
        if json {
            args.insert(0, "--json");
        }
        let mut child = spawn_interruptible(&emu, &args);
        // runOnce answered (its request's log line), and the wait polled once.
        let stderr = stderr_until(&mut child, "altogic: GET ");
        let (code, stdout, took) = interrupt(&mut child, signal);
        let stderr = stderr.join().expect("stderr");
        assert_eq!(code, want_code, "{name} json={json}: {stdout} {stderr}");
        assert!(took < Duration::from_millis(500), "{name}: took {took:?}");
        assert_eq!(stdout.lines().count(), 1, "{name} json={json}: {stdout:?}");
        let id = if json {
            let printed: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
            assert_eq!(printed["interrupted"], true, "{printed}");
            assert_eq!(printed["signal"], name, "{printed}");
            let id = printed["taskId"].as_str().expect("taskId").to_owned();
            assert_eq!(printed["lastTaskInfo"]["taskId"], id.as_str(), "{printed}");
            // runOnce's (pending), or what the wait's poll found (processing) when it reached
            // the main thread before the signal.
            let last = &printed["lastTaskInfo"]["status"];
            assert!(last == "pending" || last == "processing", "{printed}");
            let error: serde_json::Value = serde_json::from_str(
                stderr
                    .lines()
                    .last()
                    .expect("the APIError on stderr's last line"),
            )
            .expect("APIError JSON");
            assert_eq!(error["items"][0]["code"], "cancelled", "{stderr}");
            id
        } else {
            let id = stdout.trim_end().to_owned();
            let said = stderr
                .lines()
                .find(|line| line.starts_with("altogic-task: interrupted"))
                .unwrap_or_else(|| panic!("{name}: not said: {stderr}"));
            let last_seen = said
                .strip_prefix(&format!(
                    "altogic-task: interrupted by {name}: the wait was cancelled; the execution \
                     {id} goes on in the service (last seen "
                ))
                .and_then(|rest| rest.strip_suffix(&format!("): altogic-task wait {id}")))
                .unwrap_or_else(|| panic!("{said}"));
            assert!(["pending", "processing"].contains(&last_seen), "{said}");
            id
        };
        assert!(is_execution_id(&id), "{name} json={json}: {stdout:?}");
        ids.push(id);
    }
    // The executions went on: `wait ID` follows each to its end.
    for id in &ids {
        let waited = emu.cli(&["wait", id]);
        assert_eq!(code(&waited), 0, "{}", text(&waited.stderr));
        assert_eq!(
            text(&waited.stdout),
            format!("{id} completed (slowReport)\n")
        );
    }
}

/// SIGTERM is handled as SIGINT is, by every command: the call is cancelled, exit 143.
#[test]
fn sigterm_cancels_the_call_and_exits_143() {
    let emu = Emulator::start();
    let id = emu.start_task("slowReport");
    let mut child = spawn_interruptible(&emu, &["wait", &id]);
    let stderr = stderr_until(&mut child, "altogic: GET ");
    let (code, stdout, took) = interrupt(&mut child, libc::SIGTERM);
    let stderr = stderr.join().expect("stderr");
    assert_eq!(code, 143, "{stderr}");
    assert!(took < Duration::from_millis(500), "took {took:?}");
    assert!(stdout.is_empty(), "{stdout:?}");
    assert!(
        stderr.ends_with("altogic-task: interrupted by SIGTERM: the call was cancelled\n"),
        "{stderr}"
    );

    // `run --wait` interrupted before runOnce answered (a server that accepts and never
    // answers): no execution id is known, nothing on stdout.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let mut child = spawn_interruptible(&emu, &["--env-url", &url, "run", "slowReport", "--wait"]);
    let (connection, _) = listener.accept().expect("the runOnce connects");
    std::thread::sleep(Duration::from_millis(100));
    let (code, stdout, took) = interrupt(&mut child, libc::SIGTERM);
    drop(connection);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("read");
    assert_eq!(code, 143, "{stderr}");
    assert!(took < Duration::from_millis(500), "took {took:?}");
    assert!(stdout.is_empty(), "{stdout:?}");
    assert!(
        stderr.contains("altogic-task: interrupted by SIGTERM: the call was cancelled\n"),
        "{stderr}"
    );
}

#[test]
fn a_sigint_the_parent_ignores_stays_ignored() {
    // As for a background job of a shell script (`altogic-task wait ID &`).
    let emu = Emulator::start();
    let id = emu.start_task("slowReport");
    let mut command = emu.command(&["wait", &id]);
    // SAFETY: signal() is async-signal-safe; the closure runs in the child before exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: sending a signal to our own child process.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    std::thread::sleep(Duration::from_millis(500));
    let still_waiting = child.try_wait().expect("try_wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(still_waiting, "an ignored SIGINT ended the wait");
}

/// `altogic-task wait ID` with a pseudo-terminal as stdout and stderr (util-linux `script`),
/// with this emulator and `env`: its exit status and what the terminal showed. None when
/// `script` is not installed.
fn wait_on_a_terminal(emu: &Emulator, id: &str, env: &[(&str, &str)]) -> Option<(i32, String)> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return None;
    }
    let command_line = format!("{CLI} wait {id}");
    let mut command = Command::new("script");
    command
        .args(["-q", "-e", "-c", &command_line, "/dev/null"])
        .env("ALTOGIC_ENV_URL", &emu.url)
        .env("ALTOGIC_CLIENT_KEY", "demo-client-key")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    let out = run(command);
    Some((code(&out), text(&out.stdout)))
}

#[test]
fn on_a_terminal_a_wait_redraws_one_status_line() {
    let emu = Emulator::start();
    let id = emu.start_task("billOnDemand");
    let Some((code, screen)) = wait_on_a_terminal(&emu, &id, &[]) else {
        return;
    };
    assert_eq!(code, 0, "{screen:?}");
    assert!(screen.contains(&format!("\r\x1b[K{id} ")), "{screen:?}");
    assert!(screen.contains(" s)"), "no elapsed time: {screen:?}");
    // The status line is erased, then the result is printed as a plain line.
    assert!(
        screen.ends_with(&format!("\r\x1b[K{id} completed (billOnDemand)\r\n")),
        "{screen:?}"
    );
}

#[test]
fn the_status_line_shows_what_the_waits_polls_found_and_sends_nothing_itself() {
    let emu = Emulator::start();
    let id = emu.start_task("slowReport"); // processing for about 5 s
    let started = Instant::now();
    // The debug log writes a line per request, on the terminal too.
    let Some((code, screen)) = wait_on_a_terminal(&emu, &id, &[("ALTOGIC_LOG", "debug")]) else {
        return;
    };
    let waited = started.elapsed();
    assert_eq!(code, 0, "{screen:?}");
    assert!(screen.contains(&format!("{id} processing (")), "{screen:?}");
    // The wait polls at once, then after pauses that double from WAIT_FIRST_BACKOFF up to
    // WAIT_MAX_BACKOFF (the library's backoff): no more polls than fit in the time the
    // command took. A status line making requests of its own would add one a second.
    let mut polls_that_fit = 1;
    let (mut pause, mut paused) = (WAIT_FIRST_BACKOFF, Duration::ZERO);
    while paused + pause <= waited {
        paused += pause;
        polls_that_fit += 1;
        pause = (pause * 2).min(WAIT_MAX_BACKOFF);
    }
    let requests = screen.matches("altogic: GET ").count();
    assert!(
        (2..=polls_that_fit).contains(&requests),
        "{requests} GET requests in {waited:?}, where the wait makes at most {polls_that_fit}: \
         {screen:?}"
    );
}

#[test]
fn help_lists_the_exit_statuses_and_version_is_the_release() {
    let out = run({
        let mut command = Command::new(CLI);
        command.arg("--help");
        command
    });
    assert_eq!(code(&out), 0);
    let help = text(&out.stdout);
    for needle in [
        "Exit status:",
        "  3 ",
        "  4 ",
        "  5 ",
        "  130 ",
        "  143 ",
        "ALTOGIC_ENV_URL",
        "--env-url",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    assert!(
        !help.contains("=]"),
        "--help shows an unset variable as empty:\n{help}"
    );
    let out = run({
        let mut command = Command::new(CLI);
        command.arg("--version");
        command
    });
    assert_eq!(
        text(&out.stdout),
        format!("altogic-task {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// `--help` names the environment variables and never shows their values, set or not: the
/// keys and the session are secrets, and a URL may carry a password.
#[test]
fn help_never_shows_the_values_of_the_environment() {
    let secrets = [
        (
            "ALTOGIC_ENV_URL",
            "https://user:envurl-pw@myapp.example.com",
        ),
        ("ALTOGIC_CLIENT_KEY", "client-key-secret"),
        ("ALTOGIC_API_KEY", "api-key-secret"),
        ("ALTOGIC_SESSION", "session-secret"),
        ("ALTOGIC_CA_FILE", "/ca-file-path.pem"),
        (
            "ALTOGIC_PROXY",
            "http://user:proxy-pw@proxy.example.com:3128",
        ),
    ];
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["wait", "--help"],
        &["help", "status"],
    ] {
        for set in [false, true] {
            let mut command = Command::new(CLI);
            command.args(args);
            for (variable, value) in secrets {
                if set {
                    command.env(variable, value);
                } else {
                    command.env_remove(variable);
                }
            }
            let out = run(command);
            assert_eq!(code(&out), 0, "{args:?}");
            let help = text(&out.stdout);
            for (variable, value) in secrets {
                assert!(
                    help.contains(&format!("[env: {variable}]")),
                    "{args:?} set={set}: {variable}:\n{help}"
                );
                assert!(!help.contains(value), "{args:?} shows {value}:\n{help}");
            }
            assert!(!help.contains("=]"), "{args:?} set={set}:\n{help}");
        }
    }
}
