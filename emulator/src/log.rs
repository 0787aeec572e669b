//! One line per event on stderr, prefixed with an ISO 8601 UTC timestamp.
//!
//! Lines go through a bounded queue to a dedicated thread, so a slow or undrained stderr
//! never stalls request handling: when the queue is full, lines are dropped and counted,
//! and the count is reported once stderr catches up.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

enum Msg {
    Line(String),
    Flush(SyncSender<()>),
}

static QUEUE: OnceLock<SyncSender<Msg>> = OnceLock::new();
static DROPPED: AtomicU64 = AtomicU64::new(0);

fn queue() -> &'static SyncSender<Msg> {
    QUEUE.get_or_init(|| {
        let (tx, rx) = sync_channel::<Msg>(16 * 1024);
        std::thread::Builder::new()
            .name("log".into())
            .spawn(move || {
                for msg in rx {
                    let mut err = std::io::stderr().lock();
                    let dropped = DROPPED.swap(0, Ordering::Relaxed);
                    if dropped > 0 {
                        let _ = writeln!(err, "{dropped} log lines dropped (stderr was too slow)");
                    }
                    match msg {
                        Msg::Line(text) => {
                            let _ = err.write_all(text.as_bytes());
                        }
                        Msg::Flush(done) => {
                            let _ = err.flush();
                            let _ = done.send(());
                        }
                    }
                }
            })
            .expect("the log thread starts");
        tx
    })
}

/// Queues one log line for stderr.
pub fn line(args: std::fmt::Arguments<'_>) {
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let text = format!("{ts} {args}\n");
    if let Err(TrySendError::Full(_)) = queue().try_send(Msg::Line(text)) {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Waits (at most `within`) until every queued line is written.
pub fn flush(within: Duration) {
    let Some(tx) = QUEUE.get() else { return };
    let deadline = Instant::now() + within;
    let (done_tx, done_rx) = sync_channel(1);
    let mut msg = Msg::Flush(done_tx);
    loop {
        match tx.try_send(msg) {
            Ok(()) => break,
            Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                msg = m;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return,
        }
    }
    let _ = done_rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
}

/// `log!("...", args)`: one line on stderr.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::line(format_args!($($arg)*))
    };
}
