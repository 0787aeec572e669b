//! The task manager calls: `runOnce`, `getTaskStatus`, and waiting for an execution to end.
//!
//! Each call is made in two steps, so that every way of running it shares them:
//! 1. [`Client::run_once_call`], [`Client::status_call`] or [`Client::wait_call`] checks
//!    the arguments and prepares a [`Call`], without any I/O;
//! 2. it runs on the library's one runtime for the process (`transport::runtime`), with
//!    the process's connection pools: the blocking calls below spawn it there and wait for
//!    its result; a completion queue's started calls run through
//!    [`Client::execute_started`], where requests to one host take turns.

use std::future::Future;
use std::pin::Pin;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use http::Method;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::json;

pub use crate::answer::{interpret, TaskResult};
use crate::cancel::{cancelled_error, CancelToken};
use crate::client::Client;
use crate::error::{codes, invalid_named_argument, missing_value, ApiError};
use crate::info::TaskInfo;
use crate::log::{self, Level};
use crate::transport::limit::HostLimit;
use crate::transport::runtime::{self, Runtime};
use crate::transport::{self, cancellable, Request};

const INVALID_SESSION_TOKEN: &str = "invalid_session_token";
const MISSING_SESSION_TOKEN: &str = "missing_session_token";

/// Everything but RFC 3986 unreserved characters is escaped, so an id is exactly one path
/// segment: `../x?y` becomes `..%2Fx%3Fy`.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest task id sent, in bytes of UTF-8. The service's ids are 24 hex digits; a
/// longer one is surely a mistake, and one much longer does not fit in a URL at all.
pub const MAX_TASK_ID_BYTES: usize = 4096;

/// First pause between two status polls of a wait; doubled up to [`WAIT_MAX_BACKOFF`].
pub const WAIT_FIRST_BACKOFF: Duration = Duration::from_millis(50);
pub const WAIT_MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The names calls go by in messages and the log.
pub const RUN_ONCE: &str = "runOnce";
pub const GET_TASK_STATUS: &str = "getTaskStatus";
pub const WAIT: &str = "wait";

/// What [`Client::wait_for_task_watching`] calls with each TaskInfo its polls find before
/// the execution ends.
pub type WatchStatus<'a> = dyn Fn(&TaskInfo) + Sync + 'a;

/// What a blocking call's task sends its caller: each status a wait's polls find, then the
/// result.
enum Progress {
    Status(TaskInfo),
    Done(TaskResult),
}

/// A started call's request, boxed (see [`Client::execute_started`]).
type Sending<'a> = Pin<Box<dyn Future<Output = TaskResult> + Send + 'a>>;

/// One HTTP request of a call, as the call decides it. It becomes a `transport::Request`
/// only when it is sent: the headers carry the session token of that moment, which may
/// change while a started call waits for its turn.
struct CallRequest {
    method: Method,
    url: url::Url,
    json_body: Option<String>,
    /// Time for the whole exchange, from sending to the last byte of the answer.
    deadline: Duration,
    /// The call's name in messages (`runOnce`, `getTaskStatus`).
    description: &'static str,
}

impl CallRequest {
    /// A getTaskStatus request: a status call's, or one poll of a wait.
    fn status(url: &url::Url, deadline: Duration) -> Self {
        Self {
            method: Method::GET,
            url: url.clone(),
            json_body: None,
            deadline,
            description: GET_TASK_STATUS,
        }
    }
}

/// A call whose arguments were checked, ready to run.
#[derive(Debug, Clone)]
pub enum Call {
    /// `POST {envUrl}/_api/rest/v1/task` with this JSON body.
    RunOnce { body: String },
    /// `GET {envUrl}/_api/rest/v1/task/{taskId}`.
    Status { url: url::Url },
    /// Polls `url` until the execution ends, or `timeout` (None: no deadline of its own).
    Wait {
        url: url::Url,
        task_id: String,
        timeout: Option<Duration>,
    },
}

impl Call {
    /// The name of the call, for messages.
    pub fn description(&self) -> &'static str {
        match self {
            Call::RunOnce { .. } => RUN_ONCE,
            Call::Status { .. } => GET_TASK_STATUS,
            Call::Wait { .. } => WAIT,
        }
    }
}

/// A task id as one percent-encoded path segment: only RFC 3986 unreserved characters stay
/// as they are.
pub fn task_path_segment(task_id: &str) -> String {
    utf8_percent_encode(task_id, PATH_SEGMENT).to_string()
}

pub use crate::info::is_final_status;

/// A failure a wait outlives: the service was unreachable, slow, overloaded or failing.
/// Other answers (401, 404, a malformed body, a certificate refused) would not change by
/// asking again.
fn is_transient(error: &ApiError) -> bool {
    error.is_client(codes::NETWORK_ERROR)
        || error.is_client(codes::TIMEOUT)
        || error.status == 429
        || (500..=599).contains(&error.status)
}

impl Client {
    /// Checks a runOnce's arguments.
    pub fn run_once_call(&self, task_name_or_id: &str) -> Result<Call, ApiError> {
        if task_name_or_id.trim().is_empty() {
            return Err(missing_value("task_name_or_id"));
        }
        let body = json!({ "taskNameOrId": task_name_or_id }).to_string();
        Ok(Call::RunOnce { body })
    }

    /// Checks a getTaskStatus's arguments.
    pub fn status_call(&self, task_id: &str) -> Result<Call, ApiError> {
        Ok(Call::Status {
            url: self.checked_status_url(task_id)?,
        })
    }

    /// Checks a wait's arguments; `timeout` None waits without a deadline of its own.
    pub fn wait_call(&self, task_id: &str, timeout: Option<Duration>) -> Result<Call, ApiError> {
        Ok(Call::Wait {
            url: self.checked_status_url(task_id)?,
            task_id: task_id.to_owned(),
            timeout,
        })
    }

    fn checked_status_url(&self, task_id: &str) -> Result<url::Url, ApiError> {
        if task_id.trim().is_empty() {
            return Err(missing_value("task_id"));
        }
        if task_id == "." || task_id == ".." {
            // URL parsers resolve these (even escaped as %2E) instead of sending them.
            return Err(invalid_named_argument(
                "task_id",
                format!(
                    "{task_id:?} cannot be sent as a path segment; pass the taskId that \
                     runOnce returned"
                ),
            ));
        }
        if task_id.len() > MAX_TASK_ID_BYTES {
            return Err(invalid_named_argument(
                "task_id",
                format!(
                    "is {} bytes long, more than the {MAX_TASK_ID_BYTES} accepted; pass the \
                     taskId that runOnce returned (24 hex digits)",
                    task_id.len()
                ),
            ));
        }
        Ok(self.task_status_url(&task_path_segment(task_id)))
    }

    /// `POST {envUrl}/_api/rest/v1/task` with `{"taskNameOrId": ...}`: runs the task now,
    /// ahead of its schedule. Blocks the calling thread; a triggered `cancel` ends the call
    /// at once.
    pub fn run_once(&self, task_name_or_id: &str, cancel: Option<&CancelToken>) -> TaskResult {
        let call = self.run_once_call(task_name_or_id)?;
        self.block_on(call, cancel, None)
    }

    /// `GET {envUrl}/_api/rest/v1/task/{taskId}`: the execution's TaskInfo, or None when
    /// the service no longer keeps it (after seven days). Blocks the calling thread.
    pub fn get_task_status(&self, task_id: &str, cancel: Option<&CancelToken>) -> TaskResult {
        let call = self.status_call(task_id)?;
        self.block_on(call, cancel, None)
    }

    /// Polls the status until it is `completed` or `errors`, backing off from
    /// [`WAIT_FIRST_BACKOFF`] to [`WAIT_MAX_BACKOFF`]; an execution the service does not keep
    /// is `execution_not_found`. `timeout` None waits without a deadline of its own (until
    /// the task ends or `cancel` is triggered); zero polls once. Blocks the calling thread.
    ///
    /// A poll that fails for a transient reason (network, timeout, 429, 5xx) is retried
    /// with the same backoff; any other error ends the wait. On its deadline the wait fails
    /// with `timeout`, carrying the last TaskInfo seen and the last transient error.
    pub fn wait_for_task(
        &self,
        task_id: &str,
        timeout: Option<Duration>,
        cancel: Option<&CancelToken>,
    ) -> TaskResult {
        let call = self.wait_call(task_id, timeout)?;
        self.block_on(call, cancel, None)
    }

    /// [`Client::wait_for_task`], calling `watch` on the calling thread with every TaskInfo
    /// a poll finds before the execution ends: what a progress display shows, so that it
    /// needs no requests of its own (the polls already come at least once a second).
    pub fn wait_for_task_watching(
        &self,
        task_id: &str,
        timeout: Option<Duration>,
        cancel: Option<&CancelToken>,
        watch: &WatchStatus<'_>,
    ) -> TaskResult {
        let call = self.wait_call(task_id, timeout)?;
        self.block_on(call, cancel, Some(watch))
    }

    /// Runs `call` on the library's runtime and waits for its result on the calling thread,
    /// which touches no socket (see `crate::signals`) and calls `watch` itself with each
    /// status a wait's polls find. A token triggered before the call makes it return at
    /// once, sending nothing.
    fn block_on(
        &self,
        call: Call,
        cancel: Option<&CancelToken>,
        watch: Option<&WatchStatus<'_>>,
    ) -> TaskResult {
        let started = Instant::now();
        let description = call.description();
        if cancel.is_some_and(CancelToken::is_triggered) {
            return Err(cancelled_error(description, started.elapsed()));
        }
        let runtime = runtime::current()?;
        let (sender, progress) = mpsc::channel();
        let client = self.clone();
        let cancel = cancel.cloned();
        let watching = watch.is_some();
        let on_runtime = Arc::clone(&runtime);
        runtime.spawn(async move {
            let statuses = sender.clone();
            let report = move |info: &TaskInfo| {
                let _ = statuses.send(Progress::Status(info.clone()));
            };
            let watch: Option<&WatchStatus<'_>> = watching.then_some(&report);
            let send = |request| client.exchange(&on_runtime, request);
            let work = client.execute_with(&call, started, &send, watch);
            let result =
                cancellable(cancel.as_ref(), description, started, client.id(), work).await;
            // The caller is waiting, unless the whole thread is gone.
            let _ = sender.send(Progress::Done(result));
        });
        loop {
            match progress.recv() {
                Ok(Progress::Status(info)) => {
                    if let Some(watch) = watch {
                        watch(&info);
                    }
                }
                Ok(Progress::Done(result)) => return result,
                // The call's task ended without a result: it panicked.
                Err(mpsc::RecvError) => return Err(ended_without_result(description)),
            }
        }
    }

    /// Runs a prepared call started on a completion queue at `started` (a wait's
    /// timeout counts from then, not from when the runtime first got to it): each request
    /// first takes a turn of its host's [`HostLimit`], and the wait for a turn counts
    /// against the request's deadline.
    ///
    /// The call is borrowed, not moved: each future that took it by value would keep a copy
    /// of its own, and this one lives on the heap for as long as the call runs. A request's
    /// future (a few KiB: the HTTP exchange) is allocated only once it has its turn, so
    /// thousands of calls waiting for one, or pausing between polls, stay small.
    pub async fn execute_started(
        &self,
        runtime: &Runtime,
        call: &Call,
        started: Instant,
        watch: Option<&WatchStatus<'_>>,
    ) -> TaskResult {
        let limit = runtime.host_limit(self.origin());
        let send = |request| self.send_limited(runtime, &limit, request);
        self.execute_with(call, started, &send, watch).await
    }

    /// One request of a started call: its turn of `limit`, then the exchange, each boxed.
    fn send_limited<'a>(
        &'a self,
        runtime: &'a Runtime,
        limit: &'a HostLimit,
        request: CallRequest,
    ) -> Sending<'a> {
        Box::pin(async move {
            let (turn, left) = limit
                .turn(request.deadline, request.description, &request.url)
                .await?;
            let request = CallRequest {
                deadline: left,
                ..request
            };
            let sending: Sending<'a> = Box::pin(self.exchange(runtime, request));
            let result = sending.await;
            drop(turn);
            result
        })
    }

    /// Runs `call`, started at `started`, sending each of its requests with `send`. Generic
    /// rather than taking an optional limit, so that the blocking calls' requests stay inline
    /// in their future, as if there were no limit at all.
    async fn execute_with<S, F>(
        &self,
        call: &Call,
        started: Instant,
        send: &S,
        watch: Option<&WatchStatus<'_>>,
    ) -> TaskResult
    where
        S: Fn(CallRequest) -> F,
        F: Future<Output = TaskResult>,
    {
        match call {
            Call::RunOnce { body } => {
                send(CallRequest {
                    method: Method::POST,
                    url: self.task_url().clone(),
                    json_body: Some(body.clone()),
                    deadline: self.timeout(),
                    description: RUN_ONCE,
                })
                .await
            }
            Call::Status { url } => send(CallRequest::status(url, self.timeout())).await,
            Call::Wait {
                url,
                task_id,
                timeout,
            } => {
                self.wait(send, url, task_id, *timeout, started, watch)
                    .await
            }
        }
    }

    /// Polls `url` as [`Client::wait_for_task`] describes, `timeout` counting from `started`.
    async fn wait<S, F>(
        &self,
        send: &S,
        url: &url::Url,
        task_id: &str,
        timeout: Option<Duration>,
        started: Instant,
        watch: Option<&WatchStatus<'_>>,
    ) -> TaskResult
    where
        S: Fn(CallRequest) -> F,
        F: Future<Output = TaskResult>,
    {
        let deadline = timeout.and_then(|timeout| started.checked_add(timeout));
        // Time left before the wait's deadline; None when it has none.
        let time_left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let poll_once = timeout.is_some_and(|timeout| timeout.is_zero());
        let mut backoff = WAIT_FIRST_BACKOFF;
        let mut polls: u32 = 0;
        let mut last_info: Option<TaskInfo> = None;
        // Boxed: a started wait keeps this future on the heap while it pauses between polls,
        // and an ApiError inline is 120 bytes of it.
        let mut last_error: Option<Box<ApiError>> = None;
        loop {
            // `timeout` zero still makes one whole poll.
            let left = if poll_once { None } else { time_left() };
            if left.is_some_and(|left| left.is_zero()) {
                return Err(wait_timeout(task_id, timeout, last_info, last_error));
            }
            // The last poll may get less than timeoutMs: the wait's own deadline comes first.
            let poll_deadline = left.map_or(self.timeout(), |left| left.min(self.timeout()));
            let cut_by_wait = poll_deadline < self.timeout();
            polls += 1;
            let answer = send(CallRequest::status(url, poll_deadline)).await;
            log::emit(Level::Debug, "poll", |record| {
                record.insert("client".to_owned(), json!(self.id()));
                record.insert("taskId".to_owned(), json!(task_id));
                record.insert("poll".to_owned(), json!(polls));
                match &answer {
                    Ok(info) => record.insert(
                        "status".to_owned(),
                        json!(info.as_ref().and_then(TaskInfo::status)),
                    ),
                    Err(error) => record.insert("code".to_owned(), json!(error.first_code())),
                };
            });
            match answer {
                Ok(Some(info)) if !info.is_final() => {
                    // Each status once, as it changes: a display needs no more.
                    let changed = last_info.as_ref().and_then(TaskInfo::status) != info.status();
                    if let (Some(watch), true) = (watch, changed) {
                        watch(&info);
                    }
                    last_info = Some(info);
                    last_error = None;
                }
                Ok(None) => return Err(execution_not_found(task_id)),
                Ok(done) => return Ok(done),
                Err(error) if error.is_client(codes::TIMEOUT) && cut_by_wait => {
                    let cut = Some(Box::new(error));
                    return Err(wait_timeout(task_id, timeout, last_info, cut));
                }
                Err(error) if is_transient(&error) => last_error = Some(Box::new(error)),
                Err(error) => return Err(error),
            }
            let pause = time_left().map_or(backoff, |left| left.min(backoff));
            if poll_once || pause.is_zero() {
                return Err(wait_timeout(task_id, timeout, last_info, last_error));
            }
            tokio::time::sleep(pause).await;
            backoff = (backoff * 2).min(WAIT_MAX_BACKOFF);
        }
    }

    /// One request and its answer within the request's deadline, on the pool of the
    /// client's connection settings.
    async fn exchange(&self, runtime: &Runtime, request: CallRequest) -> TaskResult {
        let CallRequest {
            method,
            url,
            json_body,
            deadline,
            description,
        } = request;
        let session = self.session_snapshot();
        let headers = self.request_headers(session.token.as_deref())?;
        let pool = runtime.pool(self.connection(), self.idle_timeout())?;
        let response = transport::send(
            &pool,
            Request {
                method,
                url,
                headers,
                json_body,
                deadline,
                max_response_bytes: self.max_response_bytes(),
                proxy: self.connection().proxy.as_ref(),
                description,
                client: self.id(),
                origin: self.origin(),
            },
        )
        .await?;
        if let Some(announced) = response.keep_alive {
            self.note_keep_alive(announced);
        }
        let result = interpret(response.status, &response.body);
        if let Err(errors) = &result {
            if let Some(dropped) = errors
                .items
                .iter()
                .find(|item| item["code"] == codes::ERROR_ITEMS_DROPPED)
            {
                log::emit(Level::Warn, "error_items_dropped", |record| {
                    record.insert("client".to_owned(), json!(self.id()));
                    record.insert("status".to_owned(), json!(errors.status));
                    record.insert(
                        "droppedItems".to_owned(),
                        dropped["details"]["droppedItems"].clone(),
                    );
                    record.insert(
                        "keptItems".to_owned(),
                        dropped["details"]["keptItems"].clone(),
                    );
                });
            }
            if errors.status != 0
                && (errors.has_code(INVALID_SESSION_TOKEN)
                    || errors.has_code(MISSING_SESSION_TOKEN))
            {
                self.drop_session_if_current(&session);
            }
        }
        result
    }
}

/// `internal_error`: a call's task ended without a result (it panicked).
fn ended_without_result(description: &str) -> ApiError {
    ApiError::client(
        codes::INTERNAL_ERROR,
        format!(
            "internal error in the altogic library (please report it): {description} ended \
             without a result"
        ),
        None,
    )
}

/// `execution_not_found`: the service does not keep the execution a wait is for.
fn execution_not_found(task_id: &str) -> ApiError {
    ApiError::client(
        codes::EXECUTION_NOT_FOUND,
        format!(
            "the service does not keep an execution {task_id:?}: the id is unknown, or the \
             execution is older than the service's retention (seven days)."
        ),
        Some(json!({ "taskId": task_id })),
    )
}

fn wait_timeout(
    task_id: &str,
    timeout: Option<Duration>,
    last_info: Option<TaskInfo>,
    last_error: Option<Box<ApiError>>,
) -> ApiError {
    let timeout_ms = timeout.unwrap_or_default().as_millis() as u64;
    let last_status = last_info
        .as_ref()
        .and_then(TaskInfo::status)
        .map(str::to_owned);
    let mut error = ApiError::client(
        codes::TIMEOUT,
        format!(
            "task {task_id:?} did not finish within {timeout_ms} ms (last status: {}{}). Wait \
             again, or wait longer.",
            last_status.as_deref().unwrap_or("unknown"),
            last_error
                .as_deref()
                .and_then(ApiError::first_code)
                .map(|code| format!(", last error: {code}"))
                .unwrap_or_default(),
        ),
        Some(json!({
            "timeoutMs": timeout_ms,
            "lastStatus": last_status,
            "lastError": last_error,
        })),
    );
    error.last_info = last_info;
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn ids_are_one_path_segment() {
        let encoded = utf8_percent_encode("../x?y #é", PATH_SEGMENT).to_string();
        assert_eq!(encoded, "..%2Fx%3Fy%20%23%C3%A9");
        assert_eq!(
            utf8_percent_encode("6237b225b9a84d607cd79044", PATH_SEGMENT).to_string(),
            "6237b225b9a84d607cd79044"
        );
    }

    #[test]
    fn transient_failures_are_told_apart() {
        assert!(is_transient(&ApiError::client(
            codes::NETWORK_ERROR,
            "x",
            None
        )));
        assert!(is_transient(&ApiError::client(codes::TIMEOUT, "x", None)));
        assert!(!is_transient(&ApiError::client(
            codes::INVALID_RESPONSE,
            "x",
            None
        )));
        for (code, transient) in [
            (429, true),
            (500, true),
            (503, true),
            (401, false),
            (404, false),
        ] {
            let error = interpret(status(code), b"").unwrap_err();
            assert_eq!(is_transient(&error), transient, "{code}");
        }
    }
}
