//! Executions: in memory, and with `--data-dir` also in an embedded SQLite database
//! (written by a dedicated thread in batched transactions, so runOnce never waits on disk).
//!
//! Finished executions are forgotten once their `completedAt` is older than the retention;
//! pending and processing ones are always kept.

use crate::model::{from_ms, now_ms, Execution, Status};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;

pub struct Store {
    inner: Mutex<Inner>,
    retention: chrono::Duration,
    db: Option<Db>,
}

struct Inner {
    map: HashMap<String, Execution>,
    /// seq → task id, for "most recent first" listings.
    order: BTreeMap<u64, String>,
    /// Finished executions in completion order, for pruning.
    finished: VecDeque<(DateTime<Utc>, String)>,
    next_seq: u64,
}

struct Db {
    tx: Mutex<mpsc::Sender<DbOp>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

enum DbOp {
    Upsert(Box<Execution>),
    Prune(i64),
    Close,
}

/// What a restart found in the data directory.
pub struct Recovered {
    /// Executions that were `processing` and are now `errors`.
    pub interrupted: usize,
    /// Pending executions to queue again, oldest first.
    pub pending: Vec<String>,
    pub loaded: usize,
}

impl Store {
    pub fn in_memory(retention: std::time::Duration) -> Store {
        Store {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: BTreeMap::new(),
                finished: VecDeque::new(),
                next_seq: 1,
            }),
            retention: chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX),
            db: None,
        }
    }

    /// Opens (or creates) `DIR/executions.sqlite3`, loads the executions still within the
    /// retention, marks the ones that were processing as `errors`.
    pub fn open(dir: &Path, retention: std::time::Duration) -> Result<(Store, Recovered), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create data dir {}: {e}", dir.display()))?;
        let path = dir.join("executions.sqlite3");
        let conn =
            Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let setup = || -> rusqlite::Result<()> {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
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
                 );
                 CREATE INDEX IF NOT EXISTS executions_completed ON executions(completed_ms);",
            )
        };
        setup().map_err(|e| format!("cannot set up {}: {e}", path.display()))?;

        let mut store = Store::in_memory(retention);
        let cutoff = (now_ms() - store.retention).timestamp_millis();
        conn.execute(
            "DELETE FROM executions WHERE completed_ms IS NOT NULL AND completed_ms < ?1",
            params![cutoff],
        )
        .map_err(|e| format!("cannot prune {}: {e}", path.display()))?;
        let rows = load_rows(&conn).map_err(|e| format!("cannot read {}: {e}", path.display()))?;

        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer(conn, rx))
            .map_err(|e| format!("cannot start the database thread: {e}"))?;
        store.db = Some(Db {
            tx: Mutex::new(tx),
            thread: Mutex::new(Some(thread)),
        });

        let mut recovered = Recovered {
            interrupted: 0,
            pending: Vec::new(),
            loaded: rows.len(),
        };
        let now = now_ms();
        for mut e in rows {
            match e.status {
                Status::Processing => {
                    e.status = Status::Errors;
                    e.completed_at = Some(now);
                    e.errors = Some(serde_json::json!({
                        "code": "interrupted",
                        "message": "the emulator stopped while this execution was processing",
                    }));
                    recovered.interrupted += 1;
                    store.persist(&e);
                }
                Status::Pending => recovered.pending.push(e.task_id.clone()),
                _ => {}
            }
            store.restore(e);
        }
        // Pruning walks the finished ones in completion order.
        store
            .inner
            .lock()
            .unwrap()
            .finished
            .make_contiguous()
            .sort();
        Ok((store, recovered))
    }

    fn restore(&self, e: Execution) {
        let mut inner = self.inner.lock().unwrap();
        inner.next_seq = inner.next_seq.max(e.seq + 1);
        inner.order.insert(e.seq, e.task_id.clone());
        if let (true, Some(at)) = (e.status.is_finished(), e.completed_at) {
            inner.finished.push_back((at, e.task_id.clone()));
        }
        inner.map.insert(e.task_id.clone(), e);
    }

    fn persist(&self, e: &Execution) {
        if let Some(db) = &self.db {
            let _ = db
                .tx
                .lock()
                .unwrap()
                .send(DbOp::Upsert(Box::new(e.clone())));
        }
    }

    /// Adds a new execution (its `seq` is assigned here) and returns it.
    pub fn insert(&self, mut e: Execution) -> Execution {
        let mut inner = self.inner.lock().unwrap();
        e.seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.insert(e.seq, e.task_id.clone());
        inner.map.insert(e.task_id.clone(), e.clone());
        self.persist(&e);
        e
    }

    /// Changes an execution and returns the new state.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut Execution)) -> Option<Execution> {
        let mut inner = self.inner.lock().unwrap();
        let e = inner.map.get_mut(id)?;
        let was_finished = e.status.is_finished();
        f(e);
        let e = e.clone();
        if !was_finished && e.status.is_finished() {
            let at = e.completed_at.unwrap_or_else(now_ms);
            inner.finished.push_back((at, e.task_id.clone()));
        }
        self.persist(&e);
        Some(e)
    }

    fn expired(&self, e: &Execution, now: DateTime<Utc>) -> bool {
        e.status.is_finished() && e.completed_at.is_some_and(|at| now - at > self.retention)
    }

    /// An execution, unless unknown or past the retention.
    pub fn get(&self, id: &str) -> Option<Execution> {
        let inner = self.inner.lock().unwrap();
        let e = inner.map.get(id)?;
        if self.expired(e, now_ms()) {
            return None;
        }
        Some(e.clone())
    }

    /// The most recent executions, newest first.
    pub fn recent(&self, limit: usize, keep: impl Fn(&Execution) -> bool) -> Vec<Execution> {
        let now = now_ms();
        let inner = self.inner.lock().unwrap();
        inner
            .order
            .values()
            .rev()
            .filter_map(|id| inner.map.get(id))
            .filter(|e| !self.expired(e, now) && keep(e))
            .take(limit)
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().map.len()
    }

    /// Forgets finished executions older than the retention; returns how many.
    pub fn prune(&self) -> usize {
        let now = now_ms();
        let mut n = 0;
        {
            let mut guard = self.inner.lock().unwrap();
            let inner = &mut *guard;
            while let Some((at, _)) = inner.finished.front() {
                if now - *at <= self.retention {
                    break;
                }
                let (_, id) = inner.finished.pop_front().unwrap();
                if let Some(e) = inner.map.remove(&id) {
                    inner.order.remove(&e.seq);
                    n += 1;
                }
            }
        }
        if let Some(db) = &self.db {
            let cutoff = (now - self.retention).timestamp_millis();
            let _ = db.tx.lock().unwrap().send(DbOp::Prune(cutoff));
        }
        n
    }

    /// Writes everything still queued for the database and stops its thread.
    pub fn close(&self) {
        if let Some(db) = &self.db {
            let _ = db.tx.lock().unwrap().send(DbOp::Close);
            if let Some(t) = db.thread.lock().unwrap().take() {
                let _ = t.join();
            }
        }
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

fn writer(mut conn: Connection, rx: mpsc::Receiver<DbOp>) {
    let mut closing = false;
    while !closing {
        let Ok(first) = rx.recv() else { break };
        let result = (|| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT OR REPLACE INTO executions (task_id, seq, scheduled_task_id,
                        scheduled_task_name, triggered_ms, started_ms, completed_ms, status, errors)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                let mut op = Some(first);
                let mut n = 0;
                while let Some(o) = op.take() {
                    match o {
                        DbOp::Upsert(e) => {
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
                        DbOp::Prune(cutoff) => {
                            tx.execute(
                                "DELETE FROM executions
                                 WHERE completed_ms IS NOT NULL AND completed_ms < ?1",
                                params![cutoff],
                            )?;
                        }
                        DbOp::Close => {
                            closing = true;
                            break;
                        }
                    }
                    n += 1;
                    if n < 10_000 {
                        op = rx.try_recv().ok();
                    }
                }
            }
            tx.commit()
        })();
        if let Err(e) = result {
            crate::log!("error: cannot write executions to the database: {e}");
        }
    }
}
