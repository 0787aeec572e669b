//! Command-line flags.

use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
THE DEMO APP (served when --config is not given)
  client keys:  demo-client-key   (no session needed)
                demo-session-key  (enforces sessions; valid Session: demo-session-token)
  tasks:        billOnDemand  6237b1f17c2a9625f0b2119e  completes after ~200 ms
                failingTask   6237b1f17c2a9625f0b2119f  ends in `errors` (simulated_failure) after ~200 ms
                slowReport    6237b1f17c2a9625f0b211a0  completes after ~5 s
                heartbeat     6237b1f17c2a9625f0b211a1  scheduled every 10 s, completes after ~50 ms

ENDPOINTS
  POST /_api/rest/v1/task            {\"taskNameOrId\":\"...\"}  -> TaskInfo (pending)
  GET  /_api/rest/v1/task/{taskId}   -> TaskInfo, or null when unknown or past the retention
  GET  /_emulator/tasks              scheduled tasks with their next run time
  GET  /_emulator/executions         recent executions, newest first (?limit=N&task=NAME&status=S)
  Headers: X-Client-Key (client key), Authorization (API key, as-is), Session (session token).

CONFIG FILE (TOML; see emulator/README.md and emulator/examples/app.toml)
  api_keys = [\"...\"]          # when non-empty, Authorization must carry one of them
  session_tokens = [\"...\"]    # valid Session tokens
  [[client_keys]]  key = \"...\"  enforce_session = true|false
  [[tasks]]  name = \"...\"  id = \"<24 hex digits, derived from the name when absent>\"
             enabled = true  timeout = \"30s\"  (default 5m)
             schedule = { type = \"interval\", every = \"10s\" | \"5m\".. | \"1h\".. }
                      | { type = \"daily\", at = \"09:30\" } | { type = \"weekly\", days = [\"mon\"], at = \"09:30\" }
                      | { type = \"monthly\", day = 15 | \"last\", at = \"09:30\" }
                      | { type = \"cron\", expression = \"*/5 * * * *\" }   (each with optional timezone = \"Europe/Istanbul\")
             service = { type = \"simulated\", duration = \"200ms\", outcome = \"success\"|\"failure\", message = \"...\" }
                     | { type = \"command\", argv = [\"prog\", \"arg\"], env = { K = \"V\" }, cwd = \"dir\" }
                     | { type = \"http\", url = \"http://127.0.0.1:9000/hook\", headers = { K = \"V\" } }
  A command gets the execution as JSON on stdin; exit 0 is `completed`, anything else `errors`.
  An http service gets it as a JSON POST; a 2xx answer is `completed`.

LIMITS
  A connection is closed when its request head has not fully arrived --header-timeout (10s)
  after it was accepted (first request; a silent connection too; with HTTPS the handshake
  counts) or after the head's first byte (later requests), and when it has been idle with
  no request for --idle-timeout (60s). A request body must arrive within --header-timeout
  of its head (else 400 invalid_request_body). At most --max-connections (512, lowered to fit
  `ulimit -n`) are open; more wait unaccepted in the listen backlog until one closes.
  --listen refuses addresses beyond loopback unless --allow-remote (then it warns: anyone
  who reaches the port can run the app's tasks; the demo app's keys are published).
  Views and logs show an http service's URL with its password as `***`, never header values.

HTTPS
  --tls-cert server.pem --tls-key server.key serves HTTPS only; plain HTTP to that port is
  refused (the handshake fails). scripts/make-certs.sh DIR makes a throw-away CA (DIR/ca.pem,
  for clients: curl --cacert, NODE_EXTRA_CA_CERTS) and a certificate for localhost.

On start the emulator prints one line to stdout, `altogic-emulator listening on http://ADDR`
(`https://ADDR` with --tls-cert); logs go to stderr. SIGINT or SIGTERM stops it cleanly:
it stops accepting connections, lets running executions finish (--shutdown-grace, then
marks them interrupted), writes everything, closes the data dir, and exits 0 (1 when a
write to the data dir failed). Usage errors (flags, config, TLS files, --listen) exit 2.";

/// Local emulator of the Altogic task manager: scheduled tasks, runOnce and getTaskStatus.
#[derive(Debug, Parser)]
#[command(name = "altogic-emulator", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub listen: String,

    /// TOML file describing the app (client keys, API keys, session tokens, tasks);
    /// without it the built-in demo app is served.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// How long finished executions stay retrievable (e.g. 7d, 1h, 2s).
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_retention)]
    pub retention: Duration,

    /// How many executions run at the same time; the others wait in the queue.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub workers: u16,

    /// Keep executions in DIR/executions.sqlite3 so they survive a restart or a crash:
    /// runOnce answers only once its execution is written there, and every later change
    /// is written before it is visible (default: in memory only).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// With --data-dir: also flush every commit to the disk itself (fsync), so that
    /// answered executions survive a power loss or an OS crash, not only the emulator
    /// being killed. Slower.
    #[arg(long, requires = "data_dir")]
    pub fsync: bool,

    /// On SIGINT/SIGTERM, how long running executions may take to finish before they
    /// are stopped and marked `errors` (code `interrupted`).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Serve HTTPS only, with this certificate chain (PEM, the server's certificate
    /// first); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// A connection whose request head has not fully arrived this long after the connection
    /// was accepted (first request) or after its first byte (later requests) is closed,
    /// silent ones included. With HTTPS the handshake counts too. A request body must
    /// arrive within as long after its head (else 400).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_positive)]
    pub header_timeout: Duration,

    /// A keep-alive connection with no request in progress for this long is closed.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_positive)]
    pub idle_timeout: Duration,

    /// At most this many connections are open at a time (lowered to fit the open-file
    /// limit, RLIMIT_NOFILE); further ones wait in the listen backlog, unaccepted, until one
    /// closes.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// Allow --listen on an address other than loopback (0.0.0.0, ::, a LAN address).
    /// Anyone who reaches the port can then run the app's tasks, command services
    /// included, and the demo app's keys are published.
    #[arg(long)]
    pub allow_remote: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?} is not a duration: {e}"))
}

fn parse_positive(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("it must be longer than zero".into());
    }
    Ok(d)
}

fn parse_retention(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("the retention must be longer than zero".into());
    }
    Ok(d)
}
