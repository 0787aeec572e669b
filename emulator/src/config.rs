//! The app the emulator serves: client keys, API keys, session tokens and scheduled tasks,
//! read from a TOML file (`--config`) or the built-in demo app.

use crate::guarded_schedule::GuardedSchedule;
use crate::model::{id_from_name, is_object_id};
use altogic_schedule::ScheduleConfig;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use toml::Spanned;

/// The built-in demo app (served when no `--config` is given).
pub const DEMO_TOML: &str = r#"# The built-in demo app of altogic-emulator.
session_tokens = ["demo-session-token"]

[[client_keys]]
key = "demo-client-key"
enforce_session = false

[[client_keys]]
key = "demo-session-key"
enforce_session = true

[[tasks]]
name = "billOnDemand"
id = "6237b1f17c2a9625f0b2119e"
service = { type = "simulated", duration = "200ms", outcome = "success" }

[[tasks]]
name = "failingTask"
id = "6237b1f17c2a9625f0b2119f"
service = { type = "simulated", duration = "200ms", outcome = "failure", message = "failingTask always fails (simulated)" }

[[tasks]]
name = "slowReport"
id = "6237b1f17c2a9625f0b211a0"
service = { type = "simulated", duration = "5s", outcome = "success" }

[[tasks]]
name = "heartbeat"
id = "6237b1f17c2a9625f0b211a1"
schedule = { type = "interval", every = "10s" }
service = { type = "simulated", duration = "50ms", outcome = "success" }
"#;

/// Timeout of a task whose config gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub struct App {
    pub client_keys: HashMap<String, ClientKey>,
    pub api_keys: HashSet<String>,
    pub session_tokens: HashSet<String>,
    pub tasks: Vec<Arc<TaskDef>>,
}

#[derive(Debug, Clone)]
pub struct ClientKey {
    pub enforce_session: bool,
}

#[derive(Debug)]
pub struct TaskDef {
    pub name: String,
    pub id: String,
    pub enabled: bool,
    pub timeout: Duration,
    pub schedule: Option<GuardedSchedule>,
    pub service: Service,
    /// When the scheduler will next run it (None: no schedule, disabled or no next run).
    pub next_run: Mutex<Option<DateTime<Utc>>>,
}

#[derive(Debug, Clone)]
pub enum Service {
    Simulated {
        duration: Duration,
        success: bool,
        message: Option<String>,
    },
    Command {
        argv: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
    },
    Http {
        /// As configured, credentials included: only for making the request.
        url: String,
        /// What logs and views show: [`shown_url`].
        shown: String,
        /// Their values are never shown.
        headers: BTreeMap<String, String>,
    },
}

impl Service {
    /// What logs and `/_emulator/tasks` show: no credentials of an http service (its URL's
    /// password and its header values are hidden); a command's argv as configured.
    pub fn describe(&self) -> String {
        match self {
            Service::Simulated {
                duration, success, ..
            } => format!(
                "simulated {} after {}",
                if *success { "success" } else { "failure" },
                humantime::format_duration(*duration)
            ),
            Service::Command { argv, .. } => format!("command {argv:?}"),
            Service::Http { shown, .. } => format!("http POST {shown}"),
        }
    }
}

impl App {
    /// Finds a task by name, or by id (ids compare case-insensitively).
    pub fn find(&self, name_or_id: &str) -> Option<&Arc<TaskDef>> {
        self.tasks
            .iter()
            .find(|t| t.name == name_or_id)
            .or_else(|| {
                self.tasks
                    .iter()
                    .find(|t| t.id.eq_ignore_ascii_case(name_or_id))
            })
    }

    pub fn by_id(&self, id: &str) -> Option<&Arc<TaskDef>> {
        self.tasks.iter().find(|t| t.id == id)
    }
}

/// A config error: `FILE:LINE: reason` (`FILE: reason` when the file cannot be read).
#[derive(Debug)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    #[serde(default)]
    client_keys: Vec<Spanned<RawClientKey>>,
    #[serde(default)]
    api_keys: Vec<Spanned<String>>,
    #[serde(default)]
    session_tokens: Vec<Spanned<String>>,
    #[serde(default)]
    tasks: Vec<Spanned<RawTask>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClientKey {
    key: Spanned<String>,
    #[serde(default)]
    enforce_session: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    name: Spanned<String>,
    id: Option<Spanned<String>>,
    #[serde(default = "yes")]
    enabled: bool,
    timeout: Option<Spanned<String>>,
    schedule: Option<Spanned<ScheduleConfig>>,
    service: Spanned<RawService>,
}

#[derive(Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Success,
    Failure,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum RawService {
    Simulated {
        duration: Option<String>,
        outcome: Option<Outcome>,
        message: Option<String>,
    },
    Command {
        argv: Vec<String>,
        #[serde(default)]
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
    },
    Http {
        url: String,
        #[serde(default)]
        headers: BTreeMap<String, String>,
    },
}

fn line_of(src: &str, offset: usize) -> usize {
    src.get(..offset.min(src.len()))
        .unwrap_or(src)
        .matches('\n')
        .count()
        + 1
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("{s:?} is not a duration ({e})"))
}

/// Parses and validates an app; `file` names it in errors.
pub fn parse(file: &str, src: &str) -> Result<App, ConfigError> {
    let at = Located { file, src };
    let raw: RawApp = toml::from_str(src).map_err(|e| {
        at.error(
            e.span().unwrap_or(0..0),
            e.message().trim().replace('\n', " "),
        )
    })?;
    let client_keys = client_keys(&at, &raw.client_keys)?;
    let api_keys = secrets(&at, &raw.api_keys, "API key")?;
    let session_tokens = secrets(&at, &raw.session_tokens, "session token")?;
    let mut tasks: Vec<Arc<TaskDef>> = Vec::new();
    for t in raw.tasks {
        let task = task(&at, t.into_inner(), &tasks)?;
        tasks.push(Arc::new(task));
    }
    Ok(App {
        client_keys,
        api_keys,
        session_tokens,
        tasks,
    })
}

/// The file being parsed, to turn a span of it into a `FILE:LINE: reason` error.
struct Located<'a> {
    file: &'a str,
    src: &'a str,
}

impl Located<'_> {
    fn error(&self, span: std::ops::Range<usize>, reason: String) -> ConfigError {
        ConfigError {
            file: self.file.to_string(),
            line: line_of(self.src, span.start),
            reason,
        }
    }
}

/// At least one, none empty, none twice.
fn client_keys(
    at: &Located,
    raw: &[Spanned<RawClientKey>],
) -> Result<HashMap<String, ClientKey>, ConfigError> {
    let mut keys = HashMap::new();
    for ck in raw {
        let key = &ck.get_ref().key;
        if key.get_ref().is_empty() {
            return Err(at.error(key.span(), "client key is empty".into()));
        }
        let value = ClientKey {
            enforce_session: ck.get_ref().enforce_session,
        };
        if keys.insert(key.get_ref().clone(), value).is_some() {
            return Err(at.error(
                key.span(),
                format!("client key {:?} is listed twice", key.get_ref()),
            ));
        }
    }
    if keys.is_empty() {
        return Err(at.error(
            0..0,
            "no client keys: add at least one [[client_keys]] table".into(),
        ));
    }
    Ok(keys)
}

/// API keys or session tokens: none empty.
fn secrets(
    at: &Located,
    raw: &[Spanned<String>],
    what: &str,
) -> Result<HashSet<String>, ConfigError> {
    let mut set = HashSet::new();
    for k in raw {
        if k.get_ref().is_empty() {
            return Err(at.error(k.span(), format!("{what} is empty")));
        }
        set.insert(k.get_ref().clone());
    }
    Ok(set)
}

/// One `[[tasks]]` table; `earlier` are the tasks before it (names and ids are unique).
fn task(at: &Located, t: RawTask, earlier: &[Arc<TaskDef>]) -> Result<TaskDef, ConfigError> {
    let name = t.name.get_ref().clone();
    if name.trim().is_empty() {
        return Err(at.error(t.name.span(), "task name is empty".into()));
    }
    if earlier.iter().any(|o| o.name == name) {
        return Err(at.error(t.name.span(), format!("task name {name:?} is used twice")));
    }
    let id = task_id(at, &name, &t, earlier)?;
    let timeout = match &t.timeout {
        Some(s) => {
            let d = parse_duration(s.get_ref())
                .map_err(|e| at.error(s.span(), format!("task {name:?}: timeout {e}")))?;
            if d.is_zero() {
                return Err(at.error(s.span(), format!("task {name:?}: timeout must be > 0")));
            }
            d
        }
        None => DEFAULT_TIMEOUT,
    };
    let schedule = match &t.schedule {
        Some(s) => Some(
            GuardedSchedule::build(s.get_ref())
                .map_err(|e| at.error(s.span(), format!("task {name:?}: schedule: {e}")))?,
        ),
        None => None,
    };
    let service_span = t.service.span();
    let service = service(t.service.into_inner())
        .map_err(|e| at.error(service_span, format!("task {name:?}: {e}")))?;
    Ok(TaskDef {
        name,
        id,
        enabled: t.enabled,
        timeout,
        schedule,
        service,
        next_run: Mutex::new(None),
    })
}

/// The configured id (24 hex digits, kept in lower case) or one derived from the name;
/// not used by an earlier task.
fn task_id(
    at: &Located,
    name: &str,
    t: &RawTask,
    earlier: &[Arc<TaskDef>],
) -> Result<String, ConfigError> {
    let id = match &t.id {
        Some(id) => {
            if !is_object_id(id.get_ref()) {
                return Err(at.error(
                    id.span(),
                    format!("task {name:?}: id {:?} is not 24 hex digits", id.get_ref()),
                ));
            }
            id.get_ref().to_ascii_lowercase()
        }
        None => id_from_name(name),
    };
    if let Some(other) = earlier.iter().find(|o| o.id == id) {
        let span = t.id.as_ref().map_or(t.name.span(), |s| s.span());
        return Err(at.error(
            span,
            format!(
                "task {name:?}: id {id} is already used by task {:?}",
                other.name
            ),
        ));
    }
    Ok(id)
}

fn service(raw: RawService) -> Result<Service, String> {
    Ok(match raw {
        RawService::Simulated {
            duration,
            outcome,
            message,
        } => Service::Simulated {
            duration: match duration {
                Some(d) => parse_duration(&d).map_err(|e| format!("service duration {e}"))?,
                None => Duration::ZERO,
            },
            success: outcome.unwrap_or(Outcome::Success) == Outcome::Success,
            message,
        },
        RawService::Command { argv, env, cwd } => {
            if argv.is_empty() || argv[0].is_empty() {
                return Err("command service needs a non-empty argv".into());
            }
            Service::Command { argv, env, cwd }
        }
        RawService::Http { url, headers } => {
            let parsed =
                url::Url::parse(&url).map_err(|e| format!("http service url: not a URL ({e})"))?;
            if parsed.scheme() != "http" {
                return Err(format!(
                    "http service url {:?} must start with http://",
                    shown_url(&parsed)
                ));
            }
            Service::Http {
                shown: shown_url(&parsed),
                url,
                headers,
            }
        }
    })
}

/// A URL as the emulator shows it (logs, `/_emulator` views, `errors` objects): its
/// password replaced by `***`, and a user name without a password (which is then the
/// credential, as in `http://TOKEN@host/`) too.
pub fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    if url.password().is_some() {
        let _ = shown.set_password(Some("***"));
    } else if !url.username().is_empty() {
        let _ = shown.set_username("***");
    }
    shown.to_string()
}

/// Reads and parses a config file.
pub fn load(path: &std::path::Path) -> Result<App, ConfigError> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: 0,
        reason: format!("cannot read the file: {e}"),
    })?;
    parse(&file, &src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_loads() {
        let app = parse("demo", DEMO_TOML).unwrap();
        assert_eq!(app.tasks.len(), 4);
        assert_eq!(
            app.find("billOnDemand").unwrap().id,
            "6237b1f17c2a9625f0b2119e"
        );
        assert_eq!(
            app.find("6237B1F17C2A9625F0B211A1").unwrap().name,
            "heartbeat"
        );
        assert!(app.client_keys["demo-session-key"].enforce_session);
    }

    #[test]
    fn example_loads() {
        let src = include_str!("../examples/app.toml");
        parse("examples/app.toml", src).unwrap();
    }

    #[test]
    fn shown_urls_hide_credentials() {
        let shown = |u: &str| shown_url(&url::Url::parse(u).unwrap());
        assert_eq!(
            shown("http://alice:s3cret@127.0.0.1:9000/hook?x=1"),
            "http://alice:***@127.0.0.1:9000/hook?x=1"
        );
        assert_eq!(shown("http://T0KEN@host/"), "http://***@host/");
        assert_eq!(shown("http://:pw@host/"), "http://:***@host/");
        assert_eq!(shown("http://host:9000/a/b"), "http://host:9000/a/b");
        // A refused URL is not echoed with its password either.
        let src = "[[client_keys]]\nkey = \"k\"\n[[tasks]]\nname = \"a\"\nservice = { type = \"http\", url = \"https://u:s3cret@h/\" }\n";
        let e = parse("f.toml", src).unwrap_err().to_string();
        assert!(
            e.contains("must start with http://") && !e.contains("s3cret"),
            "{e}"
        );
        let src = src.replace("https://u:s3cret@h/", "http://u:s3cret@[::1/");
        let e = parse("f.toml", &src).unwrap_err().to_string();
        assert!(e.contains("not a URL") && !e.contains("s3cret"), "{e}");
    }

    #[test]
    fn errors_carry_lines() {
        let src = "[[client_keys]]\nkey = \"k\"\n\n[[tasks]]\nname = \"a\"\nid = \"xyz\"\nservice = { type = \"simulated\" }\n";
        let e = parse("f.toml", src).unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.to_string().starts_with("f.toml:6: "), "{e}");

        let src = "[[client_keys]]\nkey = \"k\"\nbogus = 1\n";
        let e = parse("f.toml", src).unwrap_err();
        assert_eq!(e.line, 3, "{e}");

        let src = "[[client_keys]]\nkey = \"k\"\n[[tasks]]\nname = \"a\"\nservice = { type = \"nope\" }\n";
        let e = parse("f.toml", src).unwrap_err();
        assert_eq!(e.line, 5, "{e}");

        let src = "[[client_keys]]\nkey = \"k\"\n[[tasks]]\nname = \"a\"\ntimeout = \"soon\"\nservice = { type = \"simulated\" }\n";
        let e = parse("f.toml", src).unwrap_err();
        assert_eq!(e.line, 5, "{e}");
    }
}
