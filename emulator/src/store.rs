//! Executions: in memory, and with `--data-dir` also in an embedded SQLite database.
//!
//! With a database nothing is visible before it is committed. A change (a new execution,
//! a status transition) is handed to the writer thread, which commits everything queued
//! at that moment in one transaction (a group commit), then applies the batch to the
//! in-memory view, and only then wakes the callers. So an `insert` that returned `Ok` is
//! on disk (in the WAL, which survives the process being killed; with `fsync` also a
//! crash of the machine), and getTaskStatus never shows a state that a restart would lose.
//!
//! A commit that fails (read-only or full disk, I/O error) changes nothing in memory and
//! is returned to every caller of the batch as a [`StoreError`], and logged.
//!
//! Finished executions are forgotten once their `completedAt` is older than the retention;
//! pending and processing ones are always kept.

use crate::log;
use crate::model::{from_ms, now_ms, Execution, Status};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// The most changes one transaction carries.
const MAX_BATCH: usize = 4096;

/// A change that could not be made durable: the caller answers 503 with this.
#[derive(Debug, Clone)]
pub struct StoreError {
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

pub struct Store {
    view: Arc<View>,
    next_seq: AtomicU64,
    db: Option<Db>,
}

/// What readers see: only committed states when there is a database.
struct View {
    inner: Mutex<Inner>,
    retention: chrono::Duration,
}

struct Inner {
    map: HashMap<String, Execution>,
    /// seq → task id, for "most recent first" listings.
    order: BTreeMap<u64, String>,
    /// Finished executions in completion order, for pruning.
    finished: VecDeque<(DateTime<Utc>, String)>,
    /// Pending executions whose move to `processing` is being written: nobody else may
    /// start them meanwhile.
    claimed: HashSet<String>,
}

type Waiter = oneshot::Sender<Result<(), StoreError>>;

struct Db {
    path: PathBuf,
    tx: Mutex<Option<mpsc::Sender<Op>>>,
    thread: Mutex<Option<JoinHandle<Result<(), String>>>>,
    checkpoints: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
}

enum Op {
    Put(Box<Execution>, Option<Waiter>),
    Prune(i64),
}

/// What a restart found in the data directory.
pub struct Recovered {
    /// Executions that were `processing` and are now `errors`.
    pub interrupted: usize,
    /// Pending executions to queue again, oldest first.
    pub pending: Vec<String>,
    pub loaded: usize,
}

/// The `errors` object of an execution that was processing when the emulator stopped.
pub fn interrupted_errors() -> Value {
    json!({
        "code": "interrupted",
        "message": "the emulator stopped while this execution was processing",
    })
}

impl Store {
    pub fn in_memory(retention: std::time::Duration) -> Store {
        Store {
            view: Arc::new(View {
                inner: Mutex::new(Inner {
                    map: HashMap::new(),
                    order: BTreeMap::new(),
                    finished: VecDeque::new(),
                    claimed: HashSet::new(),
                }),
                retention: chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX),
            }),
            next_seq: AtomicU64::new(1),
            db: None,
        }
    }

    /// Opens (or creates) `DIR/executions.sqlite3`, loads the executions still within the
    /// retention, and marks (and writes) the ones that were processing as `errors`.
    /// With `fsync`, every commit also reaches the disk itself (survives a power loss).
    pub fn open(
        dir: &Path,
        retention: std::time::Duration,
        fsync: bool,
    ) -> Result<(Store, Recovered), String> {
        let path = database_path(dir)?;
        let mut conn = open_database(&path, fsync)
            .map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
        let store = Store::in_memory(retention);
        let cutoff = (now_ms() - store.view.retention).timestamp_millis();
        let (rows, recovered) = load_and_recover(&mut conn, cutoff)
            .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
        let max_seq = {
            let mut inner = store.view.inner.lock().unwrap();
            let max_seq = rows.iter().map(|e| e.seq).max().unwrap_or(0);
            for e in rows {
                apply(&mut inner, e);
            }
            // Pruning walks the finished ones in completion order.
            inner.finished.make_contiguous().sort();
            max_seq
        };
        store.next_seq.store(max_seq + 1, Ordering::Relaxed);
        let db = Db::start(conn, path, store.view.clone())?;
        Ok((
            Store {
                db: Some(db),
                ..store
            },
            recovered,
        ))
    }

    /// Makes `e` durable (with a database), then visible.
    async fn put(&self, e: Execution) -> Result<(), StoreError> {
        let Some(db) = &self.db else {
            apply(&mut self.view.inner.lock().unwrap(), e);
            return Ok(());
        };
        let (done, wait) = oneshot::channel();
        {
            let tx = db.tx.lock().unwrap();
            let sent = tx
                .as_ref()
                .is_some_and(|tx| tx.send(Op::Put(Box::new(e), Some(done))).is_ok());
            if !sent {
                return Err(closed_error(&db.path));
            }
        }
        wait.await.unwrap_or_else(|_| Err(closed_error(&db.path)))
    }

    /// Adds a new execution (its `seq` is assigned here) and returns it once it is
    /// written and visible.
    pub async fn insert(&self, mut e: Execution) -> Result<Execution, StoreError> {
        e.seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        self.put(e.clone()).await?;
        Ok(e)
    }

    /// Moves a pending execution to `processing` (stamping `startedAt`) and returns it;
    /// `None` when it is unknown, not pending, or being started by someone else. This
    /// is the only way to `processing`, and it is atomic: of concurrent calls for one
    /// execution at most one gets it, and once it is written the execution is no longer
    /// pending. When the write fails the execution stays pending.
    pub async fn start(&self, id: &str) -> Result<Option<Execution>, StoreError> {
        let next = {
            let mut inner = self.view.inner.lock().unwrap();
            let Some(e) = inner.map.get(id) else {
                return Ok(None);
            };
            if e.status != Status::Pending || inner.claimed.contains(id) {
                return Ok(None);
            }
            let mut next = e.clone();
            next.status = Status::Processing;
            next.started_at = Some(now_ms());
            if self.db.is_none() {
                // In memory the change is made under this lock: nothing to claim.
                apply(&mut inner, next.clone());
                return Ok(Some(next));
            }
            inner.claimed.insert(id.to_string());
            next
        };
        // Released on every path, even if this future is dropped mid-write.
        struct Claim<'a>(&'a View, &'a str);
        impl Drop for Claim<'_> {
            fn drop(&mut self) {
                self.0.inner.lock().unwrap().claimed.remove(self.1);
            }
        }
        let _claim = Claim(&self.view, id);
        self.put(next.clone()).await?;
        Ok(Some(next))
    }

    /// Changes an execution and returns the new state once it is written and visible.
    /// Only the one who started an execution changes it afterwards.
    pub async fn update(
        &self,
        id: &str,
        f: impl FnOnce(&mut Execution),
    ) -> Result<Option<Execution>, StoreError> {
        let next = {
            let mut inner = self.view.inner.lock().unwrap();
            let Some(e) = inner.map.get(id) else {
                return Ok(None);
            };
            let mut next = e.clone();
            f(&mut next);
            if self.db.is_none() {
                apply(&mut inner, next.clone());
                return Ok(Some(next));
            }
            next
        };
        self.put(next.clone()).await?;
        Ok(Some(next))
    }

    fn expired(&self, e: &Execution, now: DateTime<Utc>) -> bool {
        e.status.is_finished()
            && e.completed_at
                .is_some_and(|at| now - at > self.view.retention)
    }

    /// An execution, unless unknown or past the retention.
    pub fn get(&self, id: &str) -> Option<Execution> {
        let inner = self.view.inner.lock().unwrap();
        let e = inner.map.get(id)?;
        if self.expired(e, now_ms()) {
            return None;
        }
        Some(e.clone())
    }

    /// How many executions `keep` accepts, and the `limit` most recent of them, newest
    /// first (executions past the retention count as gone).
    pub fn recent(
        &self,
        limit: usize,
        keep: impl Fn(&Execution) -> bool,
    ) -> (usize, Vec<Execution>) {
        let now = now_ms();
        let inner = self.view.inner.lock().unwrap();
        let mut total = 0;
        let mut list = Vec::with_capacity(limit.min(1024));
        for e in inner
            .order
            .values()
            .rev()
            .filter_map(|id| inner.map.get(id))
        {
            if !self.expired(e, now) && keep(e) {
                total += 1;
                if list.len() < limit {
                    list.push(e.clone());
                }
            }
        }
        (total, list)
    }

    /// Forgets finished executions older than the retention (and, when that leaves the
    /// tables mostly empty, shrinks them and returns the freed memory to the system);
    /// returns how many.
    pub fn prune(&self) -> usize {
        let now = now_ms();
        let mut n = 0;
        let mut shrunk = false;
        {
            let mut guard = self.view.inner.lock().unwrap();
            let inner = &mut *guard;
            while let Some((at, _)) = inner.finished.front() {
                if now - *at <= self.view.retention {
                    break;
                }
                let (_, id) = inner.finished.pop_front().unwrap();
                if let Some(e) = inner.map.remove(&id) {
                    inner.order.remove(&e.seq);
                    n += 1;
                }
            }
            if n > 0 {
                shrunk = inner.shrink();
            }
        }
        if shrunk {
            give_back_freed_memory();
        }
        if let Some(db) = &self.db {
            let cutoff = (now - self.view.retention).timestamp_millis();
            if let Some(tx) = db.tx.lock().unwrap().as_ref() {
                let _ = tx.send(Op::Prune(cutoff));
            }
        }
        n
    }

    /// Commits everything still queued, stops the writer and closes the database. Later
    /// changes are refused (`storage_closed`). `Err` when any write since the start
    /// failed, or closing did.
    pub fn close(&self) -> Result<(), String> {
        let Some(db) = &self.db else { return Ok(()) };
        if let Some((stop, thread)) = db.checkpoints.lock().unwrap().take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
        // The writer drains the queue, then sees the channel closed.
        drop(db.tx.lock().unwrap().take());
        match db.thread.lock().unwrap().take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err("the database thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Inner {
    /// Gives the tables' room back once they hold less than a quarter of it (keeping room
    /// for twice what they hold): a map keeps its capacity when entries are removed, so
    /// after a burst it would otherwise hold the burst's room for ever. Whether any did.
    fn shrink(&mut self) -> bool {
        fn roomy(len: usize, capacity: usize) -> bool {
            capacity > 4 * len.max(MIN_ROOM)
        }
        let mut shrunk = false;
        if roomy(self.map.len(), self.map.capacity()) {
            self.map.shrink_to(2 * self.map.len());
            shrunk = true;
        }
        if roomy(self.finished.len(), self.finished.capacity()) {
            self.finished.shrink_to(2 * self.finished.len());
            shrunk = true;
        }
        if roomy(self.claimed.len(), self.claimed.capacity()) {
            self.claimed.shrink_to(2 * self.claimed.len());
            shrunk = true;
        }
        shrunk
    }
}

/// Tables this small are not shrunk.
const MIN_ROOM: usize = 1024;

/// Returns the free memory of every malloc arena to the system. Freed memory otherwise
/// stays with the process: glibc gives back only the top of its heaps, and what is freed
/// in the middle (the pages the forgotten executions' strings used) stays resident. (The
/// tables themselves are mapped on their own and go back when shrunk: see main.rs.)
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Puts a state into the view (the caller holds the lock).
fn apply(inner: &mut Inner, e: Execution) {
    let was_finished = inner
        .map
        .get(&e.task_id)
        .map(|old| old.status.is_finished());
    if was_finished.is_none() {
        inner.order.insert(e.seq, e.task_id.clone());
    }
    if was_finished != Some(true) && e.status.is_finished() {
        let at = e.completed_at.unwrap_or_else(now_ms);
        inner.finished.push_back((at, e.task_id.clone()));
    }
    inner.map.insert(e.task_id.clone(), e);
}

fn closed_error(path: &Path) -> StoreError {
    StoreError {
        code: "storage_closed",
        message: "the emulator is shutting down and writes nothing more".into(),
        details: json!({ "path": path.display().to_string() }),
    }
}

fn write_error(path: &Path, err: &rusqlite::Error) -> StoreError {
    let (code, extended) = match err {
        rusqlite::Error::SqliteFailure(f, _) => (format!("{:?}", f.code), Some(f.extended_code)),
        _ => ("Unknown".to_string(), None),
    };
    StoreError {
        code: "storage_write_failed",
        message: format!("the emulator could not write to {}: {err}", path.display()),
        details: json!({
            "path": path.display().to_string(),
            "sqliteCode": code,
            "sqliteExtendedCode": extended,
            "cause": err.to_string(),
        }),
    }
}

/// `DIR/executions.sqlite3`, with DIR created if need be.
fn database_path(dir: &Path) -> Result<PathBuf, String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "data dir {}: it exists and is not a directory",
            dir.display()
        ));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create data dir {}: {e}", dir.display()))?;
    Ok(dir.join("executions.sqlite3"))
}

/// Opens the database, with its settings and (when new) its table.
fn open_database(path: &Path, fsync: bool) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // Small pages: a commit writes every page it changed to the WAL, and a group
    // commit changes a few (takes effect only when the file is created).
    conn.pragma_update(None, "page_size", 1024)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" })?;
    // Checkpoints run on their own thread, so commits never wait on them.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS executions (
            task_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            scheduled_task_id TEXT NOT NULL,
            scheduled_task_name TEXT NOT NULL,
            triggered_ms INTEGER NOT NULL,
            started_ms INTEGER,
            completed_ms INTEGER,
            status TEXT NOT NULL,
            errors TEXT
         ) WITHOUT ROWID;
         DROP INDEX IF EXISTS executions_completed;
         CREATE INDEX IF NOT EXISTS executions_finished ON executions(completed_ms)
            WHERE completed_ms IS NOT NULL;",
    )?;
    Ok(conn)
}

/// Deletes the executions finished before `cutoff` (ms), loads the others, and marks
/// (and writes, before anything is served) those that were processing as interrupted.
fn load_and_recover(
    conn: &mut Connection,
    cutoff: i64,
) -> rusqlite::Result<(Vec<Execution>, Recovered)> {
    conn.execute(
        "DELETE FROM executions WHERE completed_ms IS NOT NULL AND completed_ms < ?1",
        params![cutoff],
    )?;
    let mut rows = load_rows(conn)?;
    let mut recovered = Recovered {
        interrupted: 0,
        pending: Vec::new(),
        loaded: rows.len(),
    };
    let now = now_ms();
    let mut marked = Vec::new();
    for e in &mut rows {
        match e.status {
            Status::Processing => {
                e.status = Status::Errors;
                e.completed_at = Some(now);
                e.errors = Some(interrupted_errors());
                recovered.interrupted += 1;
                marked.push(Op::Put(Box::new(e.clone()), None));
            }
            Status::Pending => recovered.pending.push(e.task_id.clone()),
            _ => {}
        }
    }
    commit(conn, &marked)?;
    Ok((rows, recovered))
}

impl Db {
    /// Starts the checkpoint thread and the writer thread (which owns `conn`).
    fn start(conn: Connection, path: PathBuf, view: Arc<View>) -> Result<Db, String> {
        let (stop_checkpoints, stop_rx) = mpsc::channel();
        let checkpoints = {
            let path = path.clone();
            std::thread::Builder::new()
                .name("sqlite-checkpoint".into())
                .spawn(move || checkpointer(&path, stop_rx))
                .map_err(|e| format!("cannot start the checkpoint thread: {e}"))?
        };
        let (tx, rx) = mpsc::channel();
        let thread_path = path.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer(conn, rx, view, thread_path))
            .map_err(|e| format!("cannot start the database thread: {e}"))?;
        Ok(Db {
            path,
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            checkpoints: Mutex::new(Some((stop_checkpoints, checkpoints))),
        })
    }
}

fn load_rows(conn: &Connection) -> rusqlite::Result<Vec<Execution>> {
    let mut stmt = conn.prepare(
        "SELECT seq, task_id, scheduled_task_id, scheduled_task_name, triggered_ms, started_ms,
                completed_ms, status, errors
         FROM executions ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        let status: String = r.get(7)?;
        let errors: Option<String> = r.get(8)?;
        Ok(Execution {
            seq: r.get::<_, i64>(0)? as u64,
            task_id: r.get(1)?,
            scheduled_task_id: r.get(2)?,
            scheduled_task_name: r.get(3)?,
            triggered_at: from_ms(r.get(4)?),
            started_at: r.get::<_, Option<i64>>(5)?.map(from_ms),
            completed_at: r.get::<_, Option<i64>>(6)?.map(from_ms),
            status: Status::parse(&status).unwrap_or(Status::Errors),
            errors: errors.and_then(|s| serde_json::from_str(&s).ok()),
        })
    })?;
    rows.collect()
}

/// Writes a batch in one transaction.
fn commit(conn: &mut Connection, batch: &[Op]) -> rusqlite::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO executions (task_id, seq, scheduled_task_id,
                scheduled_task_name, triggered_ms, started_ms, completed_ms, status, errors)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (task_id) DO UPDATE SET started_ms = excluded.started_ms,
                completed_ms = excluded.completed_ms, status = excluded.status,
                errors = excluded.errors",
        )?;
        for op in batch {
            match op {
                Op::Put(e, _) => {
                    upsert.execute(params![
                        e.task_id,
                        e.seq as i64,
                        e.scheduled_task_id,
                        e.scheduled_task_name,
                        e.triggered_at.timestamp_millis(),
                        e.started_at.map(|t| t.timestamp_millis()),
                        e.completed_at.map(|t| t.timestamp_millis()),
                        e.status.as_str(),
                        e.errors.as_ref().map(|v| v.to_string()),
                    ])?;
                }
                Op::Prune(cutoff) => {
                    tx.execute(
                        "DELETE FROM executions WHERE completed_ms IS NOT NULL AND completed_ms < ?1",
                        params![cutoff],
                    )?;
                }
            }
        }
    }
    tx.commit()
}

/// A WAL longer than this (in pages) is checkpointed with RESTART, which makes the
/// writer wait a moment, so that the file does not grow without bound under steady load.
const WAL_RESTART_PAGES: i64 = 32 * 1024;

/// Copies the WAL into the database file every 200 ms on its own connection (PASSIVE:
/// commits go on meanwhile), until told to stop.
fn checkpointer(path: &Path, stop: mpsc::Receiver<()>) {
    let conn = match Connection::open(path) {
        Ok(c) => c,
        Err(e) => {
            log!(
                "error: no checkpoints for {} (the WAL keeps growing until the emulator \
                 stops): {e}",
                path.display()
            );
            return;
        }
    };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(10));
    let mut failing = false;
    while let Err(mpsc::RecvTimeoutError::Timeout) =
        stop.recv_timeout(std::time::Duration::from_millis(200))
    {
        let checkpoint = |mode: &str| {
            conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                r.get::<_, i64>(1)
            })
        };
        let r = checkpoint("PASSIVE").and_then(|pages| {
            if pages > WAL_RESTART_PAGES {
                checkpoint("RESTART")
            } else {
                Ok(pages)
            }
        });
        match r {
            Err(e) if !failing => {
                failing = true;
                log!("error: cannot checkpoint {}: {e}", path.display());
            }
            Ok(_) if failing => {
                failing = false;
                log!("checkpoints of {} work again", path.display());
            }
            _ => {}
        }
    }
}

/// The group-commit loop: take everything queued, commit it in one transaction, make it
/// visible, wake the waiters. Ends when the channel is closed and drained.
fn writer(
    mut conn: Connection,
    rx: mpsc::Receiver<Op>,
    view: Arc<View>,
    path: PathBuf,
) -> Result<(), String> {
    let mut failed: u64 = 0;
    let mut batch = Vec::with_capacity(256);
    let mut waiters = Vec::with_capacity(256);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        match commit(&mut conn, &batch) {
            Ok(()) => {
                {
                    let mut inner = view.inner.lock().unwrap();
                    for op in batch.drain(..) {
                        if let Op::Put(e, w) = op {
                            apply(&mut inner, *e);
                            waiters.extend(w);
                        }
                    }
                }
                for w in waiters.drain(..) {
                    let _ = w.send(Ok(()));
                }
            }
            Err(err) => {
                let e = write_error(&path, &err);
                failed += batch.len() as u64;
                log!(
                    "error: {} ({} changes not written; each one's request is refused or retried)",
                    e.message,
                    batch.len()
                );
                for op in batch.drain(..) {
                    if let Op::Put(_, Some(w)) = op {
                        let _ = w.send(Err(e.clone()));
                    }
                }
            }
        }
    }
    let closed = conn
        .close()
        .map_err(|(_, e)| format!("cannot close {}: {e}", path.display()));
    match (failed, closed) {
        (_, Err(e)) => Err(e),
        (0, Ok(())) => Ok(()),
        (n, Ok(())) => Err(format!(
            "{n} changes could not be written to {} (see the errors above)",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::new_object_id;

    fn pending() -> Execution {
        Execution {
            seq: 0,
            task_id: new_object_id(),
            scheduled_task_id: "62a0c0ffee00000000000001".into(),
            scheduled_task_name: "t".into(),
            triggered_at: now_ms(),
            started_at: None,
            completed_at: None,
            status: Status::Pending,
            errors: None,
        }
    }

    /// Many concurrent starts of one pending execution: exactly one wins.
    async fn one_start_wins(store: Arc<Store>) {
        for _ in 0..20 {
            let e = store.insert(pending()).await.unwrap();
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let store = store.clone();
                    let id = e.task_id.clone();
                    tokio::spawn(async move { store.start(&id).await.unwrap().is_some() })
                })
                .collect();
            let mut won = 0;
            for t in tasks {
                won += usize::from(t.await.unwrap());
            }
            assert_eq!(won, 1);
            assert_eq!(store.get(&e.task_id).unwrap().status, Status::Processing);
            assert!(store.start(&e.task_id).await.unwrap().is_none());
        }
    }

    #[test]
    fn start_is_atomic_in_memory_and_on_disk() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        rt.block_on(one_start_wins(Arc::new(Store::in_memory(
            std::time::Duration::from_secs(60),
        ))));
        let dir = std::env::temp_dir().join(format!("altogic-emu-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (store, _) = Store::open(&dir, std::time::Duration::from_secs(60), false).unwrap();
        let store = Arc::new(store);
        rt.block_on(one_start_wins(store.clone()));
        store.close().unwrap();
        let (store, rec) = Store::open(&dir, std::time::Duration::from_secs(60), false).unwrap();
        assert_eq!((rec.loaded, rec.interrupted), (20, 20));
        store.close().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
