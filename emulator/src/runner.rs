//! Running executions: the queue, a bounded pool of workers and the routed services.

use crate::config::{App, Service, TaskDef};
use crate::log;
use crate::model::{new_object_id, now_ms, Execution, Status};
use crate::store::{interrupted_errors, Store, StoreError};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch, Semaphore};

/// How much of a command's stderr (or an HTTP answer's body) an `errors` object keeps.
const TAIL_BYTES: usize = 2048;
/// When an execution could not be written as processing, it is queued again after this.
const START_RETRY: Duration = Duration::from_secs(1);
/// The first wait before writing a finished execution again (doubling, at most 10 s).
const FINISH_RETRY: Duration = Duration::from_millis(250);

pub struct Engine {
    pub app: Arc<App>,
    pub store: Arc<Store>,
    queue: mpsc::UnboundedSender<String>,
    http: reqwest::Client,
    /// Set at shutdown: the scheduler and the workers take no new work.
    stopping: watch::Sender<bool>,
    /// Set when the shutdown grace is over: running executions are abandoned and
    /// marked interrupted.
    interrupt: watch::Sender<bool>,
}

/// Resolves once `rx` holds `true` (never, if its sender is gone).
pub async fn until_set(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Engine {
    /// The engine and the receiving end of its queue (give it to [`run_workers`]).
    pub fn new(app: Arc<App>, store: Arc<Store>) -> (Arc<Engine>, mpsc::UnboundedReceiver<String>) {
        let (queue, rx) = mpsc::unbounded_channel();
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client without TLS builds");
        (
            Arc::new(Engine {
                app,
                store,
                queue,
                http,
                stopping: watch::channel(false).0,
                interrupt: watch::channel(false).0,
            }),
            rx,
        )
    }

    /// Tells the scheduler and the workers to take no new work.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Creates a `pending` execution of `task` and queues it, once it is written (with
    /// `--data-dir`). `via` is for the log.
    pub async fn trigger(&self, task: &TaskDef, via: &str) -> Result<Execution, StoreError> {
        let e = self
            .store
            .insert(Execution {
                seq: 0,
                task_id: new_object_id(),
                scheduled_task_id: task.id.clone(),
                scheduled_task_name: task.name.clone(),
                triggered_at: now_ms(),
                started_at: None,
                completed_at: None,
                status: Status::Pending,
                errors: None,
            })
            .await
            .inspect_err(|err| {
                log!(
                    "error: no execution of {} ({}) via {via}: {}",
                    task.name,
                    task.id,
                    err.message
                )
            })?;
        log!(
            "execution {} of {} ({}) pending via {via}",
            e.task_id,
            task.name,
            task.id
        );
        self.enqueue(e.task_id.clone());
        Ok(e)
    }

    /// Queues an existing pending execution (also used after a restart).
    pub fn enqueue(&self, task_id: String) {
        let _ = self.queue.send(task_id);
    }

    /// Runs a queued execution: starts it, runs its service (bounded by the task's timeout
    /// and the shutdown's interruption), writes how it ended and logs that.
    async fn run(&self, exec_id: String) {
        let Some(current) = self.start_or_requeue(exec_id).await else {
            return;
        };
        let started = Instant::now();
        let mut interrupt = self.interrupt.subscribe();
        // Dropping the run stops the service (a command's process group is killed).
        let outcome = tokio::select! {
            biased;
            r = self.perform(&current) => r,
            _ = until_set(&mut interrupt) => Err(interrupted_errors()),
        };
        if let Some(done) = self.finish(&current.task_id, outcome, &mut interrupt).await {
            log_finished(&done, started);
        }
    }

    /// The execution, now `processing`; `None` when it is not pending any more, someone
    /// else is starting it, or the write failed (then it stays pending and is queued
    /// again a little later).
    async fn start_or_requeue(&self, exec_id: String) -> Option<Execution> {
        match self.store.start(&exec_id).await {
            Ok(started) => started,
            Err(err) => {
                log!(
                    "error: execution {exec_id} cannot start and stays pending: {}",
                    err.message
                );
                if !*self.stopping.borrow() {
                    let queue = self.queue.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(START_RETRY).await;
                        let _ = queue.send(exec_id);
                    });
                }
                None
            }
        }
    }

    /// Runs the task's service within the task's timeout; the `errors` object on failure.
    async fn perform(&self, current: &Execution) -> Result<(), Value> {
        let Some(task) = self.app.by_id(&current.scheduled_task_id) else {
            return Err(json!({
                "code": "unknown_task",
                "message": format!(
                    "scheduled task {} is not in the emulator's config any more",
                    current.scheduled_task_id
                ),
            }));
        };
        match tokio::time::timeout(task.timeout, self.service(task, current)).await {
            Ok(r) => r,
            Err(_) => Err(json!({
                "code": "timeout",
                "message": format!(
                    "the run did not finish within its timeout of {}",
                    humantime::format_duration(task.timeout)
                ),
                "timeoutMs": task.timeout.as_millis() as u64,
            })),
        }
    }

    /// Writes the end of an execution (`completed`, or `errors` with `outcome`'s object),
    /// retrying a failed write (250 ms, doubling up to 10 s) until it succeeds, the store
    /// closes or the shutdown interrupts; the execution as written, or `None` when it was
    /// not (then it stays `processing` in the database, and the next start marks it
    /// interrupted).
    async fn finish(
        &self,
        exec_id: &str,
        outcome: Result<(), Value>,
        interrupt: &mut watch::Receiver<bool>,
    ) -> Option<Execution> {
        let completed_at = now_ms();
        let (status, errors) = match outcome {
            Ok(()) => (Status::Completed, None),
            Err(errors) => (Status::Errors, Some(errors)),
        };
        let mut delay = FINISH_RETRY;
        loop {
            let errors = errors.clone();
            let r = self
                .store
                .update(exec_id, |e| {
                    e.completed_at = Some(completed_at);
                    e.status = status;
                    e.errors = errors;
                })
                .await;
            let err = match r {
                Ok(done) => return done,
                Err(err) => err,
            };
            if err.code == "storage_closed" || *interrupt.borrow() {
                log!(
                    "error: execution {exec_id} ended {} but stays processing in the \
                     database (marked interrupted at the next start): {}",
                    status.as_str(),
                    err.message
                );
                return None;
            }
            log!(
                "error: execution {exec_id} ended {} but cannot be written, retrying in \
                 {} ms: {}",
                status.as_str(),
                delay.as_millis(),
                err.message
            );
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = until_set(interrupt) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    async fn service(&self, task: &TaskDef, exec: &Execution) -> Result<(), Value> {
        match &task.service {
            Service::Simulated {
                duration,
                success,
                message,
            } => {
                if !duration.is_zero() {
                    tokio::time::sleep(*duration).await;
                }
                if *success {
                    Ok(())
                } else {
                    Err(json!({
                        "code": "simulated_failure",
                        "message": message.clone().unwrap_or_else(|| {
                            format!("{} failed (simulated failure)", task.name)
                        }),
                    }))
                }
            }
            Service::Command { argv, env, cwd } => {
                run_command(argv, env, cwd.as_deref(), exec).await
            }
            Service::Http {
                url,
                shown,
                headers,
            } => {
                let mut req = self
                    .http
                    .post(url)
                    .header("content-type", "application/json");
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let body = serde_json::to_vec(&exec.info()).unwrap_or_default();
                match req.body(body).send().await {
                    Ok(resp) if resp.status().is_success() => Ok(()),
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let text = resp.text().await.unwrap_or_default();
                        Err(json!({
                            "code": "http_failed",
                            "message": format!("POST {shown} answered HTTP {status}"),
                            "httpStatus": status,
                            "body": tail(text.as_bytes()),
                        }))
                    }
                    Err(e) => Err(json!({
                        "code": "http_failed",
                        "message": format!("POST {shown} failed: {}", causes(e)),
                    })),
                }
            }
        }
    }
}

/// What went wrong, with its causes, and without the URL (which may carry a password).
fn causes(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One log line for the end of an execution.
fn log_finished(e: &Execution, started: Instant) {
    let why = e
        .errors
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    log!(
        "execution {} of {} {} after {} ms{why}",
        e.task_id,
        e.scheduled_task_name,
        e.status.as_str(),
        started.elapsed().as_millis()
    );
}

/// Takes executions from the queue and runs at most `workers` of them at a time, until
/// [`Engine::stop`]. Then it takes nothing more (what is still queued stays pending, and
/// is queued again by the next start with `--data-dir`), waits up to `grace` for the
/// running executions, interrupts the rest (they end in `errors`, code `interrupted`)
/// and returns once their final states are written.
pub async fn run_workers(
    engine: Arc<Engine>,
    mut rx: mpsc::UnboundedReceiver<String>,
    workers: usize,
    grace: Duration,
) {
    let slots = Arc::new(Semaphore::new(workers));
    let mut stop = engine.stopping();
    loop {
        // The fast paths first: no waiting (and no select) while there is work and room.
        let id = match rx.try_recv() {
            Ok(id) => id,
            Err(_) => tokio::select! {
                biased;
                _ = until_set(&mut stop) => break,
                id = rx.recv() => match id {
                    Some(id) => id,
                    None => break,
                },
            },
        };
        if *stop.borrow() {
            break;
        }
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => tokio::select! {
                biased;
                _ = until_set(&mut stop) => break,
                p = slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            },
        };
        let engine = engine.clone();
        tokio::spawn(async move {
            engine.run(id).await;
            drop(permit);
        });
    }
    // Every permit back: every running execution has ended.
    let all = async {
        let _ = slots.acquire_many(workers as u32).await;
    };
    let running = workers - slots.available_permits();
    if running == 0 {
        return;
    }
    log!(
        "shutdown: waiting up to {} for {running} running executions",
        humantime::format_duration(grace)
    );
    if tokio::time::timeout(grace, all).await.is_ok() {
        return;
    }
    log!(
        "shutdown: interrupting {} executions still running",
        workers - slots.available_permits()
    );
    engine.interrupt.send_replace(true);
    let all = async {
        let _ = slots.acquire_many(workers as u32).await;
    };
    if tokio::time::timeout(Duration::from_secs(10), all)
        .await
        .is_err()
    {
        log!(
            "error: shutdown: {} executions did not end; they stay processing in the database",
            workers - slots.available_permits()
        );
    }
}

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(TAIL_BYTES);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Kills a command's whole process group when dropped (on timeout or shutdown).
struct GroupKiller(Option<i32>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) with a negative pid signals the process group we created.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// Runs argv without a shell, the execution as JSON on stdin. Exit 0 is success.
async fn run_command(
    argv: &[String],
    env: &std::collections::BTreeMap<String, String>,
    cwd: Option<&std::path::Path>,
    exec: &Execution,
) -> Result<(), Value> {
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .envs(env)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    // If the emulator itself dies (even by SIGKILL), the command dies with it.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec here.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| {
        json!({
            "code": "command_failed",
            "message": format!("cannot start {:?}: {e}", argv[0]),
        })
    })?;
    let mut killer = GroupKiller(child.id().map(|p| p as i32));

    let mut input = serde_json::to_vec(&exec.info()).unwrap_or_default();
    input.push(b'\n');
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
            let _ = stdin.shutdown().await;
        });
    }
    let collected = Arc::new(Mutex::new(Vec::<u8>::new()));
    let reader = child.stderr.take().map(|mut stderr| {
        let collected = collected.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut c = collected.lock().unwrap();
                c.extend_from_slice(&buf[..n]);
                if c.len() > 2 * TAIL_BYTES {
                    let cut = c.len() - TAIL_BYTES;
                    c.drain(..cut);
                }
            }
        })
    });
    let status = child.wait().await;
    // Reaped: its pid (= group id) may be reused, so the group must not be signalled now.
    killer.0 = None;
    if let Some(reader) = reader {
        let abort = reader.abort_handle();
        if tokio::time::timeout(Duration::from_millis(500), reader)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
    let stderr = tail(&collected.lock().unwrap());
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => {
            use std::os::unix::process::ExitStatusExt;
            Err(match (s.code(), s.signal()) {
                (Some(code), _) => json!({
                    "code": "command_failed",
                    "message": format!("command exited with status {code}"),
                    "exitStatus": code,
                    "stderr": stderr,
                }),
                (None, sig) => json!({
                    "code": "command_failed",
                    "message": format!("command was killed by signal {}", sig.unwrap_or(0)),
                    "exitStatus": null,
                    "signal": sig,
                    "stderr": stderr,
                }),
            })
        }
        Err(e) => Err(json!({
            "code": "command_failed",
            "message": format!("cannot wait for the command: {e}"),
        })),
    }
}
