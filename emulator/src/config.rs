//! The app the emulator serves: client keys, API keys, session tokens and scheduled tasks,
//! read from a TOML file (`--config`) or the built-in demo app.

use crate::model::{id_from_name, is_object_id};
use crate::sched::Sched;
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
    pub schedule: Option<Sched>,
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
        url: String,
        headers: BTreeMap<String, String>,
    },
}

impl Service {
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
            Service::Http { url, .. } => format!("http POST {url}"),
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
    let err = |span: std::ops::Range<usize>, reason: String| ConfigError {
        file: file.to_string(),
        line: line_of(src, span.start),
        reason,
    };
    let raw: RawApp = toml::from_str(src).map_err(|e| {
        err(
            e.span().unwrap_or(0..0),
            e.message().trim().replace('\n', " "),
        )
    })?;

    let mut client_keys = HashMap::new();
    for ck in &raw.client_keys {
        let key = ck.get_ref().key.get_ref();
        if key.is_empty() {
            return Err(err(ck.get_ref().key.span(), "client key is empty".into()));
        }
        let value = ClientKey {
            enforce_session: ck.get_ref().enforce_session,
        };
        if client_keys.insert(key.clone(), value).is_some() {
            return Err(err(
                ck.get_ref().key.span(),
                format!("client key {key:?} is listed twice"),
            ));
        }
    }
    if client_keys.is_empty() {
        return Err(err(
            0..0,
            "no client keys: add at least one [[client_keys]] table".into(),
        ));
    }
    let mut api_keys = HashSet::new();
    for k in &raw.api_keys {
        if k.get_ref().is_empty() {
            return Err(err(k.span(), "API key is empty".into()));
        }
        api_keys.insert(k.get_ref().clone());
    }
    let mut session_tokens = HashSet::new();
    for k in &raw.session_tokens {
        if k.get_ref().is_empty() {
            return Err(err(k.span(), "session token is empty".into()));
        }
        session_tokens.insert(k.get_ref().clone());
    }

    let mut tasks: Vec<Arc<TaskDef>> = Vec::new();
    for t in raw.tasks {
        let t = t.into_inner();
        let name = t.name.get_ref().clone();
        if name.trim().is_empty() {
            return Err(err(t.name.span(), "task name is empty".into()));
        }
        if tasks.iter().any(|o| o.name == name) {
            return Err(err(
                t.name.span(),
                format!("task name {name:?} is used twice"),
            ));
        }
        let id = match &t.id {
            Some(id) => {
                if !is_object_id(id.get_ref()) {
                    return Err(err(
                        id.span(),
                        format!("task {name:?}: id {:?} is not 24 hex digits", id.get_ref()),
                    ));
                }
                id.get_ref().to_ascii_lowercase()
            }
            None => id_from_name(&name),
        };
        if let Some(other) = tasks.iter().find(|o| o.id == id) {
            let span = t.id.as_ref().map_or(t.name.span(), |s| s.span());
            return Err(err(
                span,
                format!(
                    "task {name:?}: id {id} is already used by task {:?}",
                    other.name
                ),
            ));
        }
        let timeout = match &t.timeout {
            Some(s) => {
                let d = parse_duration(s.get_ref())
                    .map_err(|e| err(s.span(), format!("task {name:?}: timeout {e}")))?;
                if d.is_zero() {
                    return Err(err(s.span(), format!("task {name:?}: timeout must be > 0")));
                }
                d
            }
            None => DEFAULT_TIMEOUT,
        };
        let schedule = match &t.schedule {
            Some(s) => Some(
                Sched::build(s.get_ref())
                    .map_err(|e| err(s.span(), format!("task {name:?}: schedule: {e}")))?,
            ),
            None => None,
        };
        let service_span = t.service.span();
        let service = match t.service.into_inner() {
            RawService::Simulated {
                duration,
                outcome,
                message,
            } => Service::Simulated {
                duration: match duration {
                    Some(d) => parse_duration(&d).map_err(|e| {
                        err(
                            service_span.clone(),
                            format!("task {name:?}: service duration {e}"),
                        )
                    })?,
                    None => Duration::ZERO,
                },
                success: outcome.unwrap_or(Outcome::Success) == Outcome::Success,
                message,
            },
            RawService::Command { argv, env, cwd } => {
                if argv.is_empty() || argv[0].is_empty() {
                    return Err(err(
                        service_span,
                        format!("task {name:?}: command service needs a non-empty argv"),
                    ));
                }
                Service::Command { argv, env, cwd }
            }
            RawService::Http { url, headers } => {
                if !url.starts_with("http://") {
                    return Err(err(
                        service_span,
                        format!("task {name:?}: http service url {url:?} must start with http://"),
                    ));
                }
                Service::Http { url, headers }
            }
        };
        tasks.push(Arc::new(TaskDef {
            name,
            id,
            enabled: t.enabled,
            timeout,
            schedule,
            service,
            next_run: Mutex::new(None),
        }));
    }

    Ok(App {
        client_keys,
        api_keys,
        session_tokens,
        tasks,
    })
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
