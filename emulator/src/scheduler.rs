//! Runs enabled scheduled tasks at their next run times.

use crate::config::TaskDef;
use crate::log;
use crate::runner::Engine;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;

/// Spawns one timer task per enabled, scheduled task.
pub fn start(engine: &Arc<Engine>) {
    for task in &engine.app.tasks {
        if !task.enabled || task.schedule.is_none() {
            continue;
        }
        let engine = engine.clone();
        let task = task.clone();
        tokio::spawn(async move { run(engine, task).await });
    }
}

async fn run(engine: Arc<Engine>, task: Arc<TaskDef>) {
    let Some(schedule) = &task.schedule else {
        return;
    };
    let mut after = Utc::now();
    loop {
        let Some(next) = schedule.next_after(after) else {
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
            tokio::time::sleep(left).await;
        }
        engine.trigger(&task, "schedule");
        after = Utc::now().max(next);
    }
}
