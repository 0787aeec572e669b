//! `altogic-task`: runs an Altogic scheduled task now, reads an execution's status, or waits
//! for it to end, from the command line, on the library's Rust API.
//!
//! Output is made for scripts: `run` prints the execution id alone (`id=$(altogic-task run
//! billOnDemand)`), `--json` prints the TaskInfo as the service sent it, errors go to stderr,
//! and the exit status says what happened (see [`EXIT_STATUS_HELP`]). A wait on a terminal
//! shows a live status line; anywhere else nothing but plain lines is written. SIGINT and
//! SIGTERM cancel the call in flight; `run --wait` interrupted after the execution started
//! prints its id, so that a script can follow it again with `altogic-task wait ID`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{mpsc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use altogic::error::codes;
use altogic::{ApiError, CancelToken, Client, ClientOptions, TaskInfo};
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0    the execution completed (run without --wait: it was started; status: it has not
       ended in errors)
  1    the execution ended in errors
  2    usage: a bad or missing argument, option or environment variable
  3    the service refused: it answered an error with an HTTP status (401, 404, ...), or it
       keeps no execution with that id
  4    no answer: network, TLS, a proxy that refuses, the call's own time limit, an answer
       that cannot be used
  5    the wait's --timeout passed before the execution ended
  130  interrupted by SIGINT (Ctrl-C): the call in flight was cancelled
  143  interrupted by SIGTERM: the same

Environment: ALTOGIC_ENV_URL, ALTOGIC_CLIENT_KEY, ALTOGIC_API_KEY, ALTOGIC_SESSION,
ALTOGIC_CA_FILE and ALTOGIC_PROXY stand for the options of the same name (an option given on
the command line wins); --help never shows their values. ALTOGIC_LOG=debug logs each
request to stderr (never its keys).

Interrupted: `run --wait` stopped by SIGINT or SIGTERM once the execution was started
prints that execution's id on stdout (with --json the object
{\"taskId\":ID,\"interrupted\":true,\"signal\":\"SIGINT\",\"lastTaskInfo\":{...}}, the last
TaskInfo it saw) before it exits 130 or 143; the execution goes on in the service: follow it
again with `altogic-task wait ID`.";

/// Exit statuses; documented in [`EXIT_STATUS_HELP`] and the README.
mod exit {
    pub const COMPLETED: u8 = 0;
    pub const ERRORS: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const REFUSED: u8 = 3;
    pub const NO_ANSWER: u8 = 4;
    pub const WAIT_TIMEOUT: u8 = 5;
    /// 128 + the signal's number, as shells report a program the signal ended.
    pub const INTERRUPTED_BY_SIGINT: u8 = 130;
    pub const INTERRUPTED_BY_SIGTERM: u8 = 143;
}

// `--help` shows the names of the environment variables, never their values
// (`hide_env_values` on every option, else clap prints `[env: NAME=VALUE]`, or `[env: NAME=]`
// when unset). The keys and the session are secrets. The URLs are not meant to be, but the
// proxy's often carries a password (http://user:password@host), and ALTOGIC_ENV_URL may hold
// one by mistake (the library refuses it, yet --help would print it): help text ends up in
// bug reports and CI logs, so no value is shown, the URL's and the CA file's included, and
// `[env: NAME]` reads the same whether the variable is set or not.
//
// env_url and client_key are required, but not declared so to clap: clap would list them in
// its usage line although the environment gives them. main() checks them after parsing, and
// names only what is missing. (The subcommands' usage lines are written out for the same
// reason: clap's usage in its errors repeats every option that has a value, those from the
// environment included, e.g. `altogic-task run --env-url <URL> --client-key <KEY> <TASK>`.)
#[derive(Parser)]
#[command(
    name = "altogic-task",
    version,
    about = "Run Altogic scheduled tasks now, and read or wait for their executions",
    after_help = EXIT_STATUS_HELP
)]
struct Cli {
    /// The app environment's URL, e.g. https://myapp.c1-na.altogic.com
    #[arg(
        long,
        env = "ALTOGIC_ENV_URL",
        value_name = "URL",
        hide_env_values = true,
        global = true
    )]
    env_url: Option<String>,

    /// The app's client key (sent in X-Client-Key)
    #[arg(
        long,
        env = "ALTOGIC_CLIENT_KEY",
        value_name = "KEY",
        hide_env_values = true,
        global = true
    )]
    client_key: Option<String>,

    /// An API key, sent as-is in Authorization
    #[arg(
        long,
        env = "ALTOGIC_API_KEY",
        value_name = "KEY",
        hide_env_values = true,
        global = true
    )]
    api_key: Option<String>,

    /// A session token, sent in Session
    #[arg(
        long,
        env = "ALTOGIC_SESSION",
        value_name = "TOKEN",
        hide_env_values = true,
        global = true
    )]
    session: Option<String>,

    /// A PEM file of CA certificates to trust besides the system's (SSL_CERT_FILE, SSL_CERT_DIR,
    /// the system bundle)
    #[arg(
        long,
        env = "ALTOGIC_CA_FILE",
        value_name = "PEM",
        hide_env_values = true,
        global = true
    )]
    ca_file: Option<String>,

    /// A proxy for every request (http://[user:password@]host:port), or "" for none; without
    /// it, HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY apply (never to loopback)
    #[arg(
        long,
        env = "ALTOGIC_PROXY",
        value_name = "URL",
        hide_env_values = true,
        global = true
    )]
    proxy: Option<String>,

    /// Print the TaskInfo (and errors) as one line of JSON, as the service sent it
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run TASK (a scheduled task's name or id) now; prints the new execution's id
    #[command(override_usage = "altogic-task run [OPTIONS] <TASK>")]
    Run {
        /// The scheduled task's name or id
        #[arg(value_name = TASK)]
        task: String,
        /// Wait for the execution to end; exit 0 when it completed, 1 when it ended in errors;
        /// interrupted (SIGINT, SIGTERM), print its id and exit 130 or 143 (see altogic-task --help)
        #[arg(long)]
        wait: bool,
        /// With --wait: give up after this long (e.g. 30s, 5m, 300ms); default: no limit
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "wait")]
        timeout: Option<Duration>,
    },
    /// Print an execution's status
    #[command(override_usage = "altogic-task status [OPTIONS] <ID>")]
    Status {
        /// The execution's id (what `run` printed)
        #[arg(value_name = ID)]
        id: String,
    },
    /// Wait for an execution to end; exit 0 when it completed, 1 when it ended in errors
    #[command(override_usage = "altogic-task wait [OPTIONS] <ID>")]
    Wait {
        /// The execution's id (what `run` printed)
        #[arg(value_name = ID)]
        id: String,
        /// Give up after this long (e.g. 30s, 5m, 300ms); default: no limit
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
}

/// The names of the positional arguments, in the usage lines and in error messages.
const TASK: &str = "TASK";
const ID: &str = "ID";

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|err| format!("{err} (examples: 300ms, 30s, 5m, 1h)"))
}

fn main() -> ExitCode {
    // Before any thread exists, so that every thread inherits SIGINT and SIGTERM blocked.
    let cancel = CancelToken::new();
    signals::cancel_on_signals(&cancel);
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    let (Some(env_url), Some(client_key)) = (cli.env_url.as_deref(), cli.client_key.as_deref())
    else {
        missing_env_url_or_client_key(&cli);
    };
    let options = ClientOptions {
        api_key: cli.api_key.clone(),
        session: cli.session.clone(),
        ca_file: cli.ca_file.clone(),
        proxy: cli.proxy.clone(),
        ..ClientOptions::default()
    };
    let output = Output {
        json: cli.json,
        live: std::io::stdout().is_terminal(),
        names: Names { matches },
    };
    let client = match Client::new(env_url, client_key, options) {
        Ok(client) => client,
        Err(error) => return ExitCode::from(output.error(&error, Step::Call)),
    };
    let code = match &cli.command {
        Command::Run {
            task,
            wait,
            timeout,
        } => match client.run_once(task, Some(&cancel)) {
            Err(error) => output.error(&error, Step::Call),
            Ok(None) => output.gone(task),
            Ok(Some(info)) if !wait => output.started(&info),
            Ok(Some(info)) => match info.task_id() {
                Some(id) => {
                    let mut last = info.clone();
                    let result =
                        wait_showing_status(&client, id, *timeout, &cancel, &output, &mut last);
                    match result {
                        Err(error) if is_interrupted(&error) => {
                            output.interrupted_after_start(id, &last, &error)
                        }
                        result => output.waited(id, result),
                    }
                }
                None => output.no_task_id(&info),
            },
        },
        Command::Status { id } => match client.get_task_status(id, Some(&cancel)) {
            Err(error) => output.error(&error, Step::Call),
            Ok(None) => output.gone(id),
            Ok(Some(info)) => output.status(&info),
        },
        Command::Wait { id, timeout } => {
            let mut last = None;
            output.waited(
                id,
                wait_showing_status(&client, id, *timeout, &cancel, &output, &mut last),
            )
        }
    };
    ExitCode::from(code)
}

/// The usage error for a missing --env-url or --client-key (or both), naming only what is
/// missing, under the usage line of the subcommand given.
fn missing_env_url_or_client_key(cli: &Cli) -> ! {
    let missing: Vec<&str> = [
        (
            cli.env_url.is_none(),
            "--env-url <URL> (or ALTOGIC_ENV_URL)",
        ),
        (
            cli.client_key.is_none(),
            "--client-key <KEY> (or ALTOGIC_CLIENT_KEY)",
        ),
    ]
    .into_iter()
    .filter_map(|(is_missing, name)| is_missing.then_some(name))
    .collect();
    let subcommand = match cli.command {
        Command::Run { .. } => "run",
        Command::Status { .. } => "status",
        Command::Wait { .. } => "wait",
    };
    let mut command = Cli::command();
    command.build();
    let command = command
        .find_subcommand_mut(subcommand)
        .expect("every subcommand is declared");
    command
        .error(
            ErrorKind::MissingRequiredArgument,
            format!(
                "the following required arguments were not provided:\n  {}",
                missing.join("\n  ")
            ),
        )
        .exit()
}

/// The CLI's names of the library's arguments (`details.argument` of its errors: the C
/// API's names), so that its errors speak of what the user typed or set.
struct Names {
    matches: ArgMatches,
}

impl Names {
    /// The CLI's name of the library's argument `argument`: the option as given on the
    /// command line (`--env-url`) or the environment variable it came from
    /// (`ALTOGIC_ENV_URL`); TASK and ID for the task calls' arguments; an environment
    /// variable the library read itself (HTTPS_PROXY) keeps its name. None for an argument
    /// the CLI never passes.
    fn of(&self, argument: &str) -> Option<String> {
        let id = match argument {
            "task_name_or_id" => return Some(TASK.to_owned()),
            "task_id" => return Some(ID.to_owned()),
            "env_url" => "env_url",
            "client_key" => "client_key",
            "apiKey" => "api_key",
            "session" => "session",
            "caFile" => "ca_file",
            "proxy" => "proxy",
            name if !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
            {
                return Some(name.to_owned())
            }
            _ => return None,
        };
        let command = Cli::command();
        let arg = command.get_arguments().find(|arg| arg.get_id() == id)?;
        let from_env = self.matches.value_source(id) == Some(ValueSource::EnvVariable);
        match (from_env, arg.get_env(), arg.get_long()) {
            (true, Some(variable), _) => Some(variable.to_string_lossy().into_owned()),
            (_, _, Some(long)) => Some(format!("--{long}")),
            _ => None,
        }
    }

    /// The error with the messages of its argument errors in the CLI's words: its name for
    /// the argument, then the library's reason (`details.reason`), e.g. "TASK is required
    /// but was empty or blank". Composed from the two fields, never by rewriting the
    /// library's message; other messages are kept.
    fn in_cli_terms(&self, error: &ApiError) -> ApiError {
        let mut error = error.clone();
        if error.status != 0 {
            return error;
        }
        for item in &mut error.items {
            let field = |key: &str| {
                item.get("details")
                    .and_then(|details| details.get(key))
                    .and_then(|value| value.as_str())
                    .filter(|text| !text.is_empty())
            };
            let (Some(argument), Some(reason)) = (field("argument"), field("reason")) else {
                continue;
            };
            if let Some(name) = self.of(argument) {
                item["message"] = format!("{name} {reason}").into();
            }
        }
        error
    }
}

/// Which call an error came from: a wait's `timeout` is its own deadline (exit 5), any
/// other call's `timeout` is an answer that never came (exit 4).
#[derive(Clone, Copy, PartialEq)]
enum Step {
    Call,
    Wait,
}

/// What a wait knows of the execution before it ends: the TaskInfo `run` got, then each one
/// the wait's polls found (a `TaskInfo`), or nothing yet (`Option<TaskInfo>`, for `wait`).
trait LastSeen: Send {
    fn status(&self) -> Option<&str>;
    fn update(&mut self, info: &TaskInfo);
}

impl LastSeen for TaskInfo {
    fn status(&self) -> Option<&str> {
        TaskInfo::status(self)
    }
    fn update(&mut self, info: &TaskInfo) {
        *self = info.clone();
    }
}

impl LastSeen for Option<TaskInfo> {
    fn status(&self) -> Option<&str> {
        self.as_ref().and_then(TaskInfo::status)
    }
    fn update(&mut self, info: &TaskInfo) {
        *self = Some(info.clone());
    }
}

/// Waits for the execution to end, keeping in `last` the last TaskInfo seen (what an
/// interrupted `run --wait` prints). On a terminal, a second thread redraws one status line
/// (the status and the time waited) ten times a second. Both come from the wait's own polls
/// (`wait_for_task_watching` hands each status it finds to the calling thread), so neither
/// costs a request. The wait runs in the library, with its own polling, retries and deadline.
fn wait_showing_status(
    client: &Client,
    id: &str,
    timeout: Option<Duration>,
    cancel: &CancelToken,
    output: &Output,
    last: &mut impl LastSeen,
) -> Result<Option<TaskInfo>, ApiError> {
    let last = Mutex::new(last);
    if !output.live {
        let watch = |info: &TaskInfo| {
            last.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .update(info);
        };
        return client.wait_for_task_watching(id, timeout, Some(cancel), &watch);
    }
    let started = Instant::now();
    let known_status = last
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .status()
        .map(str::to_owned);
    let status = Mutex::new(known_status.unwrap_or_else(|| "waiting".to_owned()));
    let (finished, until_finished) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let status = &status;
        scope.spawn(move || {
            loop {
                let elapsed = started.elapsed().as_secs_f64();
                let shown = status
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                output.draw(&format!("{id} {shown} ({elapsed:.1} s)"));
                // Nothing is ever sent: the channel closes when the wait has returned.
                let tick = until_finished.recv_timeout(Duration::from_millis(100));
                if tick == Err(mpsc::RecvTimeoutError::Disconnected) {
                    break;
                }
            }
            output.draw("");
        });
        let watch = |info: &TaskInfo| {
            let seen = info.status().unwrap_or("unknown").to_owned();
            *status.lock().unwrap_or_else(PoisonError::into_inner) = seen;
            last.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .update(info);
        };
        let result = client.wait_for_task_watching(id, timeout, Some(cancel), &watch);
        drop(finished);
        result
    })
}

/// What goes to stdout and stderr, and the exit status that goes with it.
struct Output {
    json: bool,
    /// stdout is a terminal: a wait redraws a status line there.
    live: bool,
    /// The CLI's names of the library's arguments, for its errors.
    names: Names,
}

impl Output {
    fn started(&self, info: &TaskInfo) -> u8 {
        match (self.json, info.task_id()) {
            (true, _) => print_line(info.as_json()),
            (false, Some(id)) => print_line(id),
            (false, None) => return self.no_task_id(info),
        }
        exit::COMPLETED
    }

    fn status(&self, info: &TaskInfo) -> u8 {
        print_line(&self.describe(info));
        match info.status() {
            Some("errors") => exit::ERRORS,
            _ => exit::COMPLETED,
        }
    }

    fn waited(&self, id: &str, result: Result<Option<TaskInfo>, ApiError>) -> u8 {
        match result {
            Err(error) => self.error(&error, Step::Wait),
            Ok(None) => self.gone(id),
            Ok(Some(info)) => self.status(&info),
        }
    }

    /// `run --wait` interrupted once the execution started: its id on stdout, alone (or with
    /// --json the object `{"taskId":ID,"interrupted":true,"signal":NAME,"lastTaskInfo":{...}}`),
    /// for `altogic-task wait ID`; on stderr what happened, as for any interrupted call.
    fn interrupted_after_start(&self, id: &str, last: &TaskInfo, error: &ApiError) -> u8 {
        let signal = signals::caught().map_or("a signal", signals::name);
        if self.json {
            print_line(&format!(
                r#"{{"taskId":{},"interrupted":true,"signal":{},"lastTaskInfo":{}}}"#,
                json_string(id),
                json_string(signal),
                last.as_json()
            ));
            eprint_line(&self.names.in_cli_terms(error).to_json());
        } else {
            print_line(id);
            eprint_line(&format!(
                "altogic-task: interrupted by {signal}: the wait was cancelled; the execution \
                 {id} goes on in the service (last seen {}): altogic-task wait {id}",
                last.status().unwrap_or("(no status)")
            ));
        }
        exit_status(error, Step::Wait)
    }

    /// `ID STATUS (NAME)`, and the execution's errors when it has some; or the JSON.
    fn describe(&self, info: &TaskInfo) -> String {
        if self.json {
            return info.as_json().to_owned();
        }
        let fields = info.fields();
        let mut line = format!(
            "{} {}",
            info.task_id().unwrap_or("(no taskId)"),
            info.status().unwrap_or("(no status)")
        );
        if let Some(name) = fields.get("scheduledTaskName").and_then(|v| v.as_str()) {
            line.push_str(&format!(" ({name})"));
        }
        if let Some(errors) = fields.get("errors").filter(|v| !v.is_null()) {
            line.push_str(&format!(": {errors}"));
        }
        line
    }

    fn error(&self, error: &ApiError, step: Step) -> u8 {
        let code = exit_status(error, step);
        let error = &self.names.in_cli_terms(error);
        if self.json {
            eprint_line(&error.to_json());
            return code;
        }
        let first = error.items.first();
        let text = |key: &str| {
            first
                .and_then(|item| item.get(key))
                .and_then(|v| v.as_str())
        };
        let mut line = format!(
            "altogic-task: {}: {}",
            text("code").unwrap_or("error"),
            text("message").unwrap_or("(no message)")
        );
        if error.status != 0 {
            line.push_str(&format!(" (HTTP {} {})", error.status, error.status_text));
        }
        if is_interrupted(error) {
            let signal = signals::caught().map_or("a signal", signals::name);
            line = format!("altogic-task: interrupted by {signal}: the call was cancelled");
        }
        eprint_line(&line);
        code
    }

    fn gone(&self, id: &str) -> u8 {
        eprint_line(&format!(
            "altogic-task: {}: the service keeps no execution {id:?} (an unknown id, or older \
             than its retention of 7 days)",
            codes::EXECUTION_NOT_FOUND
        ));
        exit::REFUSED
    }

    fn no_task_id(&self, info: &TaskInfo) -> u8 {
        eprint_line(&format!(
            "altogic-task: invalid_response: the service's TaskInfo has no taskId: {}",
            info.as_json()
        ));
        exit::NO_ANSWER
    }

    /// Replaces the status line (terminal only); an empty text erases it.
    fn draw(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = write!(stdout, "\r\x1b[K{text}");
        let _ = stdout.flush();
    }
}

/// The call was cancelled because SIGINT or SIGTERM came (the only trigger of the token).
fn is_interrupted(error: &ApiError) -> bool {
    error.is_client(codes::CANCELLED) && signals::caught().is_some()
}

fn exit_status(error: &ApiError, step: Step) -> u8 {
    if is_interrupted(error) {
        match signals::caught() {
            Some(libc::SIGTERM) => exit::INTERRUPTED_BY_SIGTERM,
            _ => exit::INTERRUPTED_BY_SIGINT,
        }
    } else if error.status != 0 || error.is_client(codes::EXECUTION_NOT_FOUND) {
        // The service answered: no, or (execution_not_found) it keeps no such execution.
        exit::REFUSED
    } else if step == Step::Wait && error.is_client("timeout") {
        exit::WAIT_TIMEOUT
    } else if [
        "invalid_argument",
        "missing_required_value",
        "invalid_env_url",
    ]
    .iter()
    .any(|code| error.is_client(code))
    {
        exit::USAGE
    } else {
        exit::NO_ANSWER
    }
}

/// `text` as a JSON string.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A line on stdout; a closed pipe (`| head`) is not an error worth a panic.
fn print_line(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn eprint_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// SIGINT (Ctrl-C) and SIGTERM cancel the call in flight: both are blocked in every thread
/// and taken by one thread with `sigwait`, which notes the first one and triggers the token;
/// the call then returns `cancelled` within milliseconds, and the program says so and exits
/// 128 + the signal's number (130, 143). No code runs in a signal handler.
mod signals {
    use super::*;

    /// The first signal taken (0: none yet).
    static CAUGHT: AtomicI32 = AtomicI32::new(0);

    /// The first of SIGINT and SIGTERM that came, if one did.
    pub fn caught() -> Option<i32> {
        match CAUGHT.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(signal),
        }
    }

    pub fn name(signal: i32) -> &'static str {
        match signal {
            libc::SIGINT => "SIGINT",
            libc::SIGTERM => "SIGTERM",
            _ => "a signal",
        }
    }

    /// Ctrl-C or Ctrl-Break in the console (Windows has no SIGTERM to send a program; the
    /// handler runs on a thread the system starts for it), taken as SIGINT.
    #[cfg(windows)]
    pub fn cancel_on_signals(cancel: &CancelToken) {
        let cancel = cancel.clone();
        let _ = ctrlc::set_handler(move || {
            let _ = CAUGHT.compare_exchange(0, libc::SIGINT, Ordering::SeqCst, Ordering::SeqCst);
            cancel.trigger();
        });
    }

    /// Must run before any other thread starts. Leaves alone a signal that is ignored (as
    /// SIGINT is for a background job of a shell script), so the program stays deaf to it as
    /// asked.
    #[cfg(unix)]
    pub fn cancel_on_signals(cancel: &CancelToken) {
        // SAFETY: plain libc calls on local, initialised values: sigaction only reads the
        // current disposition, and sigset_t is initialised by sigemptyset before use.
        let set = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            let mut taken = 0;
            for signal in [libc::SIGINT, libc::SIGTERM] {
                let mut current: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut current) == 0
                    && current.sa_sigaction != libc::SIG_IGN
                {
                    libc::sigaddset(&mut set, signal);
                    taken += 1;
                }
            }
            if taken == 0 || libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0
            {
                return;
            }
            set
        };
        let cancel = cancel.clone();
        std::thread::spawn(move || loop {
            let mut signal = 0;
            // SAFETY: `set` is an initialised sigset_t owned by this thread.
            if unsafe { libc::sigwait(&set, &mut signal) } == 0
                && (signal == libc::SIGINT || signal == libc::SIGTERM)
            {
                let _ = CAUGHT.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                cancel.trigger();
            }
        });
    }
}
