//! The log callback (C ABI 1.3): the library's records, handed to the host's logging.

use std::ffi::{c_char, c_int, c_void, CString};

use crate::ffi::boundary::ffi_guard;
use crate::log::{self, Level};

/// No record at all: pass it to `altogic_set_log_callback` to stop the callback.
#[allow(dead_code)] // Read by C through the header; Rust reads log::Level.
pub const ALTOGIC_LOG_OFF: c_int = 0;
/// Something failed that the program should look at.
#[allow(dead_code)] // Read by C through the header; Rust reads log::Level.
pub const ALTOGIC_LOG_ERROR: c_int = 1;
/// A bound was hit: an answer cut at `maxResponseBytes` (`response_too_large`), error items
/// dropped (`error_items_dropped`).
#[allow(dead_code)] // Read by C through the header; Rust reads log::Level.
pub const ALTOGIC_LOG_WARN: c_int = 2;
/// A request sent again (`retry`, with its reason).
#[allow(dead_code)] // Read by C through the header; Rust reads log::Level.
pub const ALTOGIC_LOG_INFO: c_int = 3;
/// Each request and its answer (`request`), each connection opened or seen closed
/// (`connection_opened`, `connection_closed`),
/// each poll of a wait (`poll`), each call cancelled by its token (`cancelled`).
#[allow(dead_code)] // Read by C through the header; Rust reads log::Level.
pub const ALTOGIC_LOG_DEBUG: c_int = 4;

/// A log callback: `level` is one of `ALTOGIC_LOG_ERROR` to `ALTOGIC_LOG_DEBUG`, `record` a
/// one-line JSON object borrowed for the duration of the call, `userdata` what was given to
/// `altogic_set_log_callback`.
pub type AltogicLogCallback =
    Option<unsafe extern "C" fn(level: c_int, record: *const c_char, userdata: *mut c_void)>;

/// The host's pointer, handed back to its callback: whoever registers it promises that the
/// callback may use it from any thread.
struct UserData(*mut c_void);
// SAFETY: altogic_set_log_callback's contract: the callback and its userdata may be used
// from any thread, at once.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

impl UserData {
    /// The pointer; a method, so that a closure captures the whole `UserData`, not the field.
    fn get(&self) -> *mut c_void {
        self.0
    }
}

/// Sends the library's log records of `level` and more important levels to `callback`, for
/// the whole process, replacing the callback set before; `ALTOGIC_LOG_OFF` or a NULL
/// `callback` removes it (then `ALTOGIC_LOG=debug` in the environment writes lines to stderr
/// again, as without a callback).
///
/// Each record is a one-line JSON object with named fields: `event` (`request`, `retry`,
/// `connection_opened`, `connection_closed`, `poll`, `cancelled`, `response_too_large`,
/// `error_items_dropped`), `level` (`error`, `warn`, `info`, `debug`), and, as they apply:
/// `client` (the number `altogic_client_id` gives), `method`, `path` (the task id in it),
/// `status` (the HTTP status) or `code` (an error code), `ms`, `attempt` (1 for a first
/// send), `connection` (`new` or `reused`), `host`, `port`, `proxy` (`scheme://host:port`,
/// never its credentials), `taskId`, `reason` (a retry's cause; how a connection's end was
/// seen: `server_asked`, `not_kept`, `unfinished_answer`, `lost`, `idle`,
/// `closed_while_idle`), `idleMs`. A closed connection is seen from the answers (reqwest's
/// pool reports none): an idle one when the next connection to the same place is opened
/// while no other call is in flight. A record never holds a header: no client key, API key or session token, and no
/// proxy password. When nobody listens at a level, its records are not even built.
///
/// Threads: the callback is called on the library's threads (those that run calls) and on
/// threads inside library functions, possibly on several at once: it must be thread-safe.
/// It must not call any function of this library (a call made there could wait for the
/// very thread it runs on), nor unwind (a C++ exception, a longjmp) through the library. It
/// should return quickly: while it runs, the call that made the record waits, and so may
/// others on that thread. A callback still running on another thread may be called once
/// more after this function returned, so keep `userdata` valid a little after replacing it
/// (until calls in flight ended).
///
/// Thread-safety: may be called from any thread. Ownership: `userdata` is the caller's,
/// passed back unchanged. Since 1.3.
///
/// # Safety
/// `callback` is NULL or a function that may be called as described, with `userdata`.
#[no_mangle]
pub unsafe extern "C" fn altogic_set_log_callback(
    level: c_int,
    callback: AltogicLogCallback,
    userdata: *mut c_void,
) {
    ffi_guard(
        |_| (),
        || {
            let registered = match (Level::from_number(i64::from(level)), callback) {
                (Some(level), Some(callback)) => {
                    let userdata = UserData(userdata);
                    let sink = move |level: Level, record: &str| {
                        // Records are JSON, which holds no NUL byte.
                        if let Ok(record) = CString::new(record) {
                            // SAFETY: per this function's contract.
                            unsafe { callback(level as c_int, record.as_ptr(), userdata.get()) };
                        }
                    };
                    Some((level, Box::new(sink) as Box<log::Sink>))
                }
                _ => None,
            };
            log::set_sink(registered);
        },
    )
}
