//! The runs of scheduled tasks: one timer per enabled task with a schedule, which triggers
//! an execution at each of its next run times.

use crate::config::TaskDef;
use crate::log;
use crate::runner::{until_set, Engine};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Spawns one timer task per enabled, scheduled task; their first next run times are
/// known when this returns.
pub fn start(engine: &Arc<Engine>) {
    let now = Utc::now();
    for task in &engine.app.tasks {
        let Some(schedule) = &task.schedule else {
            continue;
        };
        if !task.enabled {
            continue;
        }
        let first = schedule.next_after(now);
        *task.next_run.lock().unwrap() = first;
        let engine = engine.clone();
        let task = task.clone();
        tokio::spawn(async move { run(engine, task, first).await });
    }
}

async fn run(engine: Arc<Engine>, task: Arc<TaskDef>, first: Option<DateTime<Utc>>) {
    let Some(schedule) = &task.schedule else {
        return;
    };
    let mut planned = first;
    let mut stop = engine.stopping();
    loop {
        let Some(next) = planned else {
            *task.next_run.lock().unwrap() = None;
            log!("task {} has no further scheduled runs", task.name);
            return;
        };
        *task.next_run.lock().unwrap() = Some(next);
        // Sleep in slices of at most a minute so wall-clock changes are noticed.
        loop {
            let left = next - Utc::now();
            if left <= chrono::Duration::zero() {
                break;
            }
            let left = left
                .to_std()
                .unwrap_or_default()
                .min(Duration::from_secs(60));
            tokio::select! {
                _ = tokio::time::sleep(left) => {}
                _ = until_set(&mut stop) => return,
            }
        }
        if *stop.borrow() {
            return;
        }
        // A failed write is logged by trigger; the next run is planned regardless.
        let _ = engine.trigger(&task, "schedule").await;
        planned = schedule.next_after(Utc::now().max(next));
    }
}
