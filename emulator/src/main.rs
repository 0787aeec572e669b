//! `altogic-emulator`: Altogic's scheduled tasks on one machine.

mod cli;
mod http;
mod log;
mod runner;
mod scheduler;
mod store;

// The I/O-free parts live in the library crate (src/lib.rs), where they can be fuzzed.
use altogic_emulator::{config, model};

use clap::Parser;
use std::future::IntoFuture;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn main() -> ExitCode {
    // A file-size limit (RLIMIT_FSIZE) then makes a write fail with EFBIG, reported like a
    // full disk, instead of killing the process.
    // SAFETY: setting a signal's disposition to SIG_IGN before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = cli::Cli::parse();
    let app = match &cli.config {
        Some(path) => config::load(path),
        None => config::parse("<built-in demo app>", config::DEMO_TOML),
    };
    let app = match app {
        Ok(app) => Arc::new(app),
        Err(e) => {
            eprintln!("altogic-emulator: bad config: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("altogic-emulator: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(serve(cli, app));
    runtime.shutdown_timeout(Duration::from_millis(500));
    log::flush(Duration::from_secs(2));
    code
}

async fn serve(cli: cli::Cli, app: Arc<config::App>) -> ExitCode {
    let (store, recovered) = match &cli.data_dir {
        Some(dir) => match store::Store::open(dir, cli.retention, cli.fsync) {
            Ok((store, rec)) => (store, Some(rec)),
            Err(e) => {
                eprintln!("altogic-emulator: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => (store::Store::in_memory(cli.retention), None),
    };
    let store = Arc::new(store);

    let listener = match tokio::net::TcpListener::bind(&cli.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("altogic-emulator: cannot listen on {}: {e}", cli.listen);
            let _ = store.close();
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("altogic-emulator: cannot read the bound address: {e}");
            let _ = store.close();
            return ExitCode::FAILURE;
        }
    };

    let (engine, queue) = runner::Engine::new(app.clone(), store.clone());
    if let Some(rec) = recovered {
        log!(
            "data dir {}: {} executions loaded, {} interrupted ones marked errors, {} pending queued again",
            cli.data_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
            rec.loaded,
            rec.interrupted,
            rec.pending.len()
        );
        for id in rec.pending {
            engine.enqueue(id);
        }
    }
    let workers = tokio::spawn(runner::run_workers(
        engine.clone(),
        queue,
        usize::from(cli.workers),
        cli.shutdown_grace,
    ));
    scheduler::start(&engine);
    {
        let store = store.clone();
        let every = (cli.retention / 4).clamp(Duration::from_millis(250), Duration::from_secs(60));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let n = store.prune();
                if n > 0 {
                    log!("retention: forgot {n} executions");
                }
            }
        });
    }

    for t in &app.tasks {
        log!(
            "task {} ({}) {}: {}, {}",
            t.name,
            t.id,
            if t.enabled { "enabled" } else { "disabled" },
            t.schedule
                .as_ref()
                .map_or("no schedule".to_string(), |s| s.describe()),
            t.service.describe()
        );
    }
    log!(
        "serving {} tasks with {} workers, retention {}",
        app.tasks.len(),
        cli.workers,
        humantime::format_duration(cli.retention)
    );
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "altogic-emulator listening on http://{addr}");
        let _ = out.flush();
    }

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let name = shutdown_signal().await;
        log!("received {name}, shutting down");
        let _ = stop_tx.send(true);
    });
    let mut graceful_rx = stop_rx.clone();
    let server = axum::serve(listener, http::router(engine.clone()))
        .with_graceful_shutdown(async move {
            let _ = graceful_rx.wait_for(|s| *s).await;
        })
        .into_future();
    tokio::pin!(server);
    // Shutdown, in this order: 1. stop accepting connections and let the requests in
    // flight finish (at most 2 s; their changes are written before they are answered);
    let result = tokio::select! {
        r = &mut server => r,
        _ = async {
            let _ = stop_rx.wait_for(|s| *s).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        } => Ok(()),
    };
    // 2. no new work: the scheduler stops and queued executions stay pending (queued
    // again by the next start with --data-dir); running ones get --shutdown-grace to
    // finish, then are interrupted and written as `errors` (code `interrupted`);
    engine.stop();
    let bound = cli.shutdown_grace + Duration::from_secs(15);
    if tokio::time::timeout(bound, workers).await.is_err() {
        log!("error: shutdown: the workers did not stop in time");
    }
    // 3. write everything still queued and close the database.
    let closed = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.close())
            .await
            .unwrap_or_else(|e| Err(format!("closing the data dir failed: {e}")))
    };
    let mut code = ExitCode::SUCCESS;
    if let Err(e) = result {
        eprintln!("altogic-emulator: server error: {e}");
        code = ExitCode::FAILURE;
    }
    if let Err(e) = closed {
        log!("error: {e}");
        eprintln!("altogic-emulator: {e}");
        code = ExitCode::FAILURE;
    }
    if code == ExitCode::SUCCESS {
        log!("stopped");
    }
    code
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler installs");
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
