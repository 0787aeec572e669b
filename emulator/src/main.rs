//! `altogic-emulator`: Altogic's scheduled tasks on one machine.

mod cli;
mod http;
mod log;
mod runner;
mod scheduled_runs;
mod server;
mod store;
mod tls;

// The I/O-free parts live in the library crate (src/lib.rs), where they can be fuzzed.
use altogic_emulator::{config, model};

use clap::Parser;
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
    map_big_allocations();
    let cli = cli::Cli::parse();
    let setup = match Setup::check(cli) {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("altogic-emulator: {e}");
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
    let code = runtime.block_on(serve(setup));
    runtime.shutdown_timeout(Duration::from_millis(500));
    log::flush(Duration::from_secs(2));
    code
}

/// Allocations from 256 KiB up (the tables of executions) always get a mapping of their
/// own from glibc's malloc, which goes back to the system as soon as they are freed or
/// shrunk (unless `MALLOC_MMAP_THRESHOLD_` says otherwise). By default glibc raises that
/// threshold, up to 32 MiB, whenever such a block is freed: the next big table then lands
/// in the heap, and the small allocations that fill its hole once it is freed keep those
/// pages resident (see the README's "Memory").
fn map_big_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt before any other thread starts.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        }
    }
}

/// What the command line asks for, checked before anything starts: a bad config, TLS file
/// or listen address is a usage error (exit status 2).
struct Setup {
    cli: cli::Cli,
    app: Arc<config::App>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    addrs: Vec<std::net::SocketAddr>,
}

impl Setup {
    fn check(cli: cli::Cli) -> Result<Setup, String> {
        let app = match &cli.config {
            Some(path) => config::load(path),
            None => config::parse("<built-in demo app>", config::DEMO_TOML),
        }
        .map_err(|e| format!("bad config: {e}"))?;
        let tls = match (&cli.tls_cert, &cli.tls_key) {
            (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
            // clap makes each flag require the other.
            _ => None,
        };
        let addrs = server::listen_addresses(&cli.listen, cli.allow_remote)?;
        Ok(Setup {
            cli,
            app: Arc::new(app),
            tls,
            addrs,
        })
    }
}

/// Runs the emulator until SIGINT or SIGTERM; the exit status.
async fn serve(setup: Setup) -> ExitCode {
    let Setup {
        cli,
        app,
        tls,
        addrs,
    } = setup;
    let (store, recovered) = match open_store(&cli) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("altogic-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (listener, addr) = match bind(&cli.listen, &addrs).await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("altogic-emulator: {e}");
            let _ = store.close();
            return ExitCode::FAILURE;
        }
    };
    let (engine, workers) = start_engine(&cli, app.clone(), store.clone(), recovered);
    start_pruning(store.clone(), cli.retention);
    let limits = server::Limits {
        header_timeout: cli.header_timeout,
        idle_timeout: cli.idle_timeout,
        max_connections: server::fit_connections(
            cli.max_connections as usize,
            usize::from(cli.workers),
        ),
    };
    log_startup(&cli, &app, &limits, addr);
    announce(if tls.is_some() { "https" } else { "http" }, addr);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let name = shutdown_signal().await;
        log!("received {name}, shutting down");
        let _ = stop_tx.send(true);
    });
    // Shutdown, in this order: 1. stop accepting connections and let the requests in
    // flight finish (at most 2 s; their changes are written before they are answered);
    let server = server::Server {
        listener,
        tls,
        router: http::router(engine.clone()),
        limits,
    };
    server.run(stop_rx, Duration::from_secs(2)).await;
    // 2. no new work: the scheduler stops and queued executions stay pending (queued
    // again by the next start with --data-dir); running ones get --shutdown-grace to
    // finish, then are interrupted and written as `errors` (code `interrupted`);
    engine.stop();
    let bound = cli.shutdown_grace + Duration::from_secs(15);
    if tokio::time::timeout(bound, workers).await.is_err() {
        log!("error: shutdown: the workers did not stop in time");
    }
    // 3. write everything still queued and close the database.
    close_store(store).await
}

/// The store: in memory, or the data dir's database with what a previous run left there.
fn open_store(cli: &cli::Cli) -> Result<(Arc<store::Store>, Option<store::Recovered>), String> {
    Ok(match &cli.data_dir {
        Some(dir) => {
            let (store, recovered) = store::Store::open(dir, cli.retention, cli.fsync)?;
            log!(
                "data dir {}: {} executions loaded, {} interrupted ones marked errors, {} pending queued again",
                dir.display(),
                recovered.loaded,
                recovered.interrupted,
                recovered.pending.len()
            );
            (Arc::new(store), Some(recovered))
        }
        None => (Arc::new(store::Store::in_memory(cli.retention)), None),
    })
}

/// Binds the first of `addrs` that can be bound; the listener and its bound address.
async fn bind(
    listen: &str,
    addrs: &[std::net::SocketAddr],
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), String> {
    let listener = tokio::net::TcpListener::bind(addrs)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    Ok((listener, addr))
}

/// The engine, with the executions a previous run left pending queued again, its workers
/// and the timers of scheduled tasks running.
fn start_engine(
    cli: &cli::Cli,
    app: Arc<config::App>,
    store: Arc<store::Store>,
    recovered: Option<store::Recovered>,
) -> (Arc<runner::Engine>, tokio::task::JoinHandle<()>) {
    let (engine, queue) = runner::Engine::new(app, store);
    for id in recovered.into_iter().flat_map(|r| r.pending) {
        engine.enqueue(id);
    }
    let workers = tokio::spawn(runner::run_workers(
        engine.clone(),
        queue,
        usize::from(cli.workers),
        cli.shutdown_grace,
    ));
    scheduled_runs::start(&engine);
    (engine, workers)
}

/// Forgets executions past the retention, every quarter of it (between 250 ms and 1 min).
fn start_pruning(store: Arc<store::Store>, retention: Duration) {
    let every = (retention / 4).clamp(Duration::from_millis(250), Duration::from_secs(60));
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

fn log_startup(
    cli: &cli::Cli,
    app: &config::App,
    limits: &server::Limits,
    addr: std::net::SocketAddr,
) {
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
    log!(
        "connections: at most {} open (--max-connections {}), --header-timeout {}, --idle-timeout {}",
        limits.max_connections,
        cli.max_connections,
        humantime::format_duration(limits.header_timeout),
        humantime::format_duration(limits.idle_timeout)
    );
    if !addr.ip().to_canonical().is_loopback() {
        eprintln!(
            "altogic-emulator: warning: listening on {addr}, beyond this machine (--allow-remote): \
             anyone who reaches this port can run the app's tasks, command services included; \
             the demo app's keys are published"
        );
    }
}

/// The one line on stdout, flushed: the URL to use.
fn announce(scheme: &str, addr: std::net::SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "altogic-emulator listening on {scheme}://{addr}");
    let _ = out.flush();
}

/// Writes what is still queued for the data dir and closes it; the exit status.
async fn close_store(store: Arc<store::Store>) -> ExitCode {
    let closed = tokio::task::spawn_blocking(move || store.close())
        .await
        .unwrap_or_else(|e| Err(format!("closing the data dir failed: {e}")));
    match closed {
        Ok(()) => {
            log!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            log!("error: {e}");
            eprintln!("altogic-emulator: {e}");
            ExitCode::FAILURE
        }
    }
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
