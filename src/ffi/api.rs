//! The exported functions. Each body runs inside [`ffi_guard`] and checks every pointer and
//! string before use; each doc comment is the C user's manual for that function and is
//! copied into `include/altogic.h`.

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;
use std::time::Duration;

use crate::cancel::CancelToken;
use crate::client::{Client, ClientOptions};
use crate::error::null_argument;
use crate::ffi::boundary::{construct, error_string, ffi_guard, internal_error};
use crate::ffi::envelope::envelope_json;
use crate::ffi::handle::{AltogicCancel, AltogicClient, ArcHandle, BoxedHandle};
use crate::ffi::strings::{free_c_string, optional_str, required_str, to_c_string};
use crate::info::TaskInfo;
use crate::task::TaskResult;

/// Pass as `timeout_ms` to `altogic_task_wait` or `altogic_task_wait_cancellable` to wait
/// with no deadline of its own: until the execution ends, an error ends the wait, or the
/// call's cancellation token is triggered.
pub const ALTOGIC_WAIT_FOREVER: u64 = u64::MAX;

static VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => c"unknown",
    };

/// Runs a task call on a borrowed client and an optional borrowed token, answering the
/// envelope as a JSON string that is never NULL.
///
/// # Safety
/// `client` is NULL or a live handle from `altogic_client_new`; `cancel` is NULL or a live
/// handle from `altogic_cancel_new`.
unsafe fn task_call(
    client: *const AltogicClient,
    cancel: *const AltogicCancel,
    call: impl FnOnce(&Client, Option<&CancelToken>) -> TaskResult,
) -> *mut c_char {
    ffi_guard(
        |message| to_c_string(envelope_json(Err(internal_error(message)))),
        || {
            // SAFETY: per this function's contract.
            let (client, cancel) = unsafe {
                (
                    AltogicClient::try_ref(client),
                    AltogicCancel::try_ref(cancel),
                )
            };
            let result = match client {
                None => Err(null_argument("client")),
                Some(client) => call(client, cancel),
            };
            to_c_string(envelope_json(result))
        },
    )
}

/// The wait's deadline: None for `ALTOGIC_WAIT_FOREVER`.
pub(crate) fn wait_deadline(timeout_ms: u64) -> Option<Duration> {
    (timeout_ms != ALTOGIC_WAIT_FOREVER).then(|| Duration::from_millis(timeout_ms))
}

/// Creates a client for one Altogic app environment.
///
/// - `env_url`: the environment URL, e.g. `"https://myapp.c1-na.altogic.com"`; it must start
///   with `http://` or `https://`; surrounding white space and one trailing `/` are removed.
/// - `client_key`: sent in `X-Client-Key` on every request.
/// - `options_json`: NULL, or a JSON object with any of `apiKey` (string, sent as-is in
///   `Authorization`), `session` (string, sent in `Session`), `timeoutMs` (bounds a whole
///   call including the body; default 30000; like every duration here, at least 1 and at
///   most 86400000: 0 is refused, where a wait's `timeout_ms` 0 means "poll once, now"),
///   `connectTimeoutMs` (default 10000),
///   `idleTimeoutMs` (how long an idle kept-alive connection is kept for the next call;
///   default 90000; since 1.2), `maxResponseBytes` (default 10485760), `caFile` (path of a
///   PEM bundle whose certificates are trusted besides the system's) and `proxy` (a proxy
///   URL used for every request: `http://[user:password@]host:port`, `https://…`,
///   `socks5://…` (names resolved here), `socks5h://…` (names resolved by the proxy),
///   `socks4://…`, `socks4a://…`, or `""` for no proxy whatever the environment says). An
///   unknown key or a wrong type is an error.
///
/// Trust: by default the system's trust store as OpenSSL and Go read it (`SSL_CERT_FILE` and
/// `SSL_CERT_DIR` when set, otherwise the system bundle; the Mozilla roots built into the
/// library when the system has no certificate at all), read once per process. Proxies:
/// without the `proxy` option, `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (upper
/// or lower case, as curl reads them; `socks://` is SOCKS4 as for curl; `NO_PROXY` entries
/// are host names with their subdomains, `*.name` for the subdomains only, IP addresses,
/// CIDR ranges or `*`, each with an optional `:port`), read once per process; `HTTP_PROXY`
/// is ignored when `REQUEST_METHOD` is set and not empty (a CGI program), and loopback
/// targets are never proxied from the environment, as in Go. The choice is made here, once per client.
/// - `error_out`: NULL, or where to store the error on failure.
///
/// Returns the client, or NULL on failure. On failure, when `error_out` is not NULL,
/// `*error_out` is set to an APIError JSON object
/// (`{"status":0,"statusText":"Client Error","items":[{"origin":"client_error","code":...,"message":...,"details":...}]}`)
/// that the caller frees with `altogic_string_free`; on success `*error_out` is set to NULL.
/// Codes: `missing_required_value` (NULL, empty or blank `env_url` or `client_key`),
/// `invalid_argument` (not UTF-8, CR or LF in a key or token, bad options, a `caFile` that is
/// missing, unreadable or holds no certificate, a malformed `proxy` or proxy variable; the
/// item's `details.argument` names the argument), `invalid_env_url` (also for a URL with a
/// user name or password, which is never repeated in the message).
///
/// Creating a client is cheap: it starts no thread and opens no connection. Every call of the
/// process, blocking or started on a completion queue, runs on the library's runtime, started
/// by the first call: at most 3 library threads in all (one that runs calls and connections,
/// and up to 2 for host-name lookups, which end 1 s after their last lookup). They block SIGPIPE
/// and every other signal but those of faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
/// SIGSYS), so a write on a connection the server reset never ends the process, and the
/// process's signals go to the program's threads. Every socket is read and written on them
/// only. Connections are kept alive in one pool per connection setting (trust, proxy,
/// connect and idle timeouts), shared by every thread, client and queue of the process: a
/// connection idle longer than `idleTimeoutMs`, or nearing the `Keep-Alive: timeout=N` the
/// server announced, is not reused; one the server closed leaves the pool when the close
/// arrives. In a child made by fork() the first call starts a fresh runtime and pools.
///
/// Ownership: the strings are borrowed for the duration of the call only. The returned
/// client is owned by the caller and must be freed with `altogic_client_free`.
/// Thread-safety: may be called from any thread.
///
/// # Safety
/// `env_url`, `client_key` and `options_json` are NULL or NUL-terminated strings; `error_out` is
/// NULL or points to a writable `char *`.
#[no_mangle]
pub unsafe extern "C" fn altogic_client_new(
    env_url: *const c_char,
    client_key: *const c_char,
    options_json: *const c_char,
    error_out: *mut *mut c_char,
) -> *mut AltogicClient {
    // SAFETY: the caller passes NULL or a writable `char *` slot, and NULL or C strings.
    unsafe {
        construct(error_out, || {
            let env_url = required_str("env_url", env_url)?;
            let client_key = required_str("client_key", client_key)?;
            let options = match optional_str("options_json", options_json)? {
                Some(text) => ClientOptions::from_json(text)?,
                None => ClientOptions::default(),
            };
            Client::new(env_url, client_key, options).map(AltogicClient::into_raw)
        })
    }
}

/// Frees a client made by `altogic_client_new`. NULL is a no-op; never free a client twice.
///
/// Connections stay in the process's pools for other clients. No blocking call on this
/// client may be running on another thread, and no call may start on it afterwards. Calls
/// already started on a completion queue (`altogic_task_..._start`) keep a reference of their
/// own: they run to completion and deliver their results, and the client's memory is freed
/// when the last of them ends.
///
/// # Safety
/// `client` is NULL or a client from `altogic_client_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn altogic_client_free(client: *mut AltogicClient) {
    ffi_guard(
        |_| (),
        // SAFETY: the caller passes NULL or a live handle that nothing else uses.
        || unsafe { AltogicClient::free(client) },
    )
}

/// Runs a scheduled task now, ahead of its schedule, without changing the schedule
/// (`POST {envUrl}/_api/rest/v1/task` with `{"taskNameOrId": ...}`).
///
/// Returns compact one-line JSON `{"info":TaskInfo|null,"errors":APIError|null}`, exactly as
/// the official client resolves it; on success `info.status` is `"pending"` and
/// `info.taskId` identifies this execution. Never returns NULL; free the string with
/// `altogic_string_free` (not `free()`).
///
/// Errors that never reached the service have `status` 0 and a `client_error` item with
/// one of the codes `missing_required_value` (NULL client, NULL, empty or blank name),
/// `invalid_argument`, `network_error`, `tls_error` (a certificate or handshake failure),
/// `proxy_error` (the proxy refused), `timeout`, `invalid_response`, `response_too_large`,
/// `redirect_not_followed` or `internal_error`. Errors from the service keep its HTTP status
/// and items; every item has string `origin`, `code` and `message`. At most
/// `ALTOGIC_MAX_ERROR_ITEMS` items are kept (then one more, code `error_items_dropped`,
/// says how many were dropped), an item larger than `ALTOGIC_MAX_ITEM_BYTES` keeps only its
/// `origin`, `code` and `message`, and a message at most `ALTOGIC_MAX_MESSAGE_CHARS`
/// characters, so a result is never much larger than the answer. An answer with code
/// `invalid_session_token` or `missing_session_token` drops the client's session.
///
/// The request is never sent twice by the library, so the task never runs twice because
/// of it (only a request none of which was written is resent).
///
/// Blocks the calling thread for at most the client's `timeoutMs`: the call runs on the
/// library's threads (see `altogic_client_new`), and the calling thread sleeps until its
/// result comes.
/// Thread-safety: a client may be used by many threads at once; calls run concurrently.
/// Ownership: `client` and `task_name_or_id` are borrowed for the duration of the call.
///
/// # Safety
/// `client` is NULL or a live client; `task_name_or_id` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_run_once(
    client: *const AltogicClient,
    task_name_or_id: *const c_char,
) -> *mut c_char {
    // SAFETY: per this function's contract; a NULL token means not cancellable.
    unsafe { altogic_task_run_once_cancellable(client, task_name_or_id, ptr::null()) }
}

/// `altogic_task_run_once`, cancellable: when `cancel` is triggered (from any thread) while
/// the call is connecting, waiting for the answer or reading it, the call returns within
/// milliseconds with `status` 0 and code `cancelled`. A token triggered before the call
/// makes it return at once without sending anything. NULL `cancel` means not cancellable.
///
/// A call cancelled after its request was sent may still have run the task: the service
/// received it even though the answer was not read.
///
/// Ownership: `cancel` is borrowed for the duration of the call; it must not be freed
/// before the call returns. Everything else is as for `altogic_task_run_once`.
///
/// # Safety
/// `client` is NULL or a live client; `task_name_or_id` is NULL or a NUL-terminated string;
/// `cancel` is NULL or a live token from `altogic_cancel_new`.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_run_once_cancellable(
    client: *const AltogicClient,
    task_name_or_id: *const c_char,
    cancel: *const AltogicCancel,
) -> *mut c_char {
    // SAFETY: the caller passes NULL or live handles, and NULL or a C string.
    unsafe {
        task_call(client, cancel, |client, cancel| {
            let name = required_str("task_name_or_id", task_name_or_id)?;
            client.run_once(name, cancel)
        })
    }
}

/// Gets the status of a task execution (`GET {envUrl}/_api/rest/v1/task/{taskId}`), with
/// `task_id` percent-encoded as one path segment.
///
/// Returns compact one-line JSON `{"info":TaskInfo|null,"errors":APIError|null}`. `info`
/// carries `status` (`pending`, `processing`, `completed` or `errors`), `startedAt` once
/// processing began, `completedAt` once it ended, and every field the service sends.
/// The service keeps executions for seven days: for an older one both `info` and `errors`
/// are null. Never returns NULL; free the string with `altogic_string_free`.
///
/// A request that fails on a kept-alive connection before any byte of the answer arrived
/// is sent once more on a new connection (reading a status is idempotent).
///
/// Error codes, session handling, blocking, thread-safety and ownership are as for
/// `altogic_task_run_once`; the ids `.` and `..`, and ids longer than
/// `ALTOGIC_MAX_TASK_ID_BYTES`, are refused with `invalid_argument` before anything is sent.
/// A TaskInfo nested deeper than `ALTOGIC_MAX_JSON_DEPTH` is `invalid_response`.
///
/// # Safety
/// `client` is NULL or a live client; `task_id` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_get_status(
    client: *const AltogicClient,
    task_id: *const c_char,
) -> *mut c_char {
    // SAFETY: per this function's contract; a NULL token means not cancellable.
    unsafe { altogic_task_get_status_cancellable(client, task_id, ptr::null()) }
}

/// `altogic_task_get_status`, cancellable through `cancel` exactly as
/// `altogic_task_run_once_cancellable` is. NULL `cancel` means not cancellable.
///
/// # Safety
/// `client` is NULL or a live client; `task_id` is NULL or a NUL-terminated string;
/// `cancel` is NULL or a live token from `altogic_cancel_new`.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_get_status_cancellable(
    client: *const AltogicClient,
    task_id: *const c_char,
    cancel: *const AltogicCancel,
) -> *mut c_char {
    // SAFETY: the caller passes NULL or live handles, and NULL or a C string.
    unsafe {
        task_call(client, cancel, |client, cancel| {
            let task_id = required_str("task_id", task_id)?;
            client.get_task_status(task_id, cancel)
        })
    }
}

/// Waits for a task execution to end: polls its status, pausing about 50 ms at first and
/// doubling up to about 1 s, until the status is `completed` or `errors`.
///
/// Returns compact one-line JSON `{"info":...,"errors":...}` of the last poll. `timeout_ms`
/// 0 polls once (it means "now", not "no deadline"); `ALTOGIC_WAIT_FOREVER` waits with no
/// deadline of its own. An execution the service does not keep (an unknown id, or one older
/// than its retention of seven days) ends the wait with `info` null and one error item of
/// code `execution_not_found` (since 1.2; getTaskStatus answers `info` null then).
///
/// A poll that fails for a transient reason (`network_error`, a poll's `timeout`, HTTP 429
/// or 5xx) is retried with the same backoff until the deadline; any other error (401, 404,
/// `tls_error`, `proxy_error`, `invalid_response`, an argument the request cannot carry,
/// ...) ends the wait and is returned as it is. When `timeout_ms`
/// passes first, `info` is the last TaskInfo seen and `errors` has one item with code
/// `timeout`, whose `details.lastStatus` names the last status and `details.lastError`
/// holds the last transient error (an APIError object) or null. Never returns NULL; free
/// the string with `altogic_string_free`.
///
/// Blocks the calling thread for about `timeout_ms` at most (each poll is also bounded by
/// the client's `timeoutMs`). Thread-safety and ownership as for `altogic_task_run_once`.
///
/// # Safety
/// `client` is NULL or a live client; `task_id` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_wait(
    client: *const AltogicClient,
    task_id: *const c_char,
    timeout_ms: u64,
) -> *mut c_char {
    // SAFETY: per this function's contract; a NULL token means not cancellable.
    unsafe { altogic_task_wait_cancellable(client, task_id, timeout_ms, ptr::null()) }
}

/// `altogic_task_wait`, cancellable: when `cancel` is triggered during a poll or during the
/// pause between two polls, the wait returns within milliseconds with `status` 0, code
/// `cancelled` and `info` null. A token triggered before the call makes it return at once
/// without sending anything. With `ALTOGIC_WAIT_FOREVER` as `timeout_ms`, the token alone
/// decides when an unfinished wait stops. NULL `cancel` means not cancellable.
///
/// Ownership: `cancel` is borrowed for the duration of the call; it must not be freed
/// before the call returns. Everything else is as for `altogic_task_wait`.
///
/// # Safety
/// `client` is NULL or a live client; `task_id` is NULL or a NUL-terminated string;
/// `cancel` is NULL or a live token from `altogic_cancel_new`.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_wait_cancellable(
    client: *const AltogicClient,
    task_id: *const c_char,
    timeout_ms: u64,
    cancel: *const AltogicCancel,
) -> *mut c_char {
    // SAFETY: the caller passes NULL or live handles, and NULL or a C string.
    unsafe {
        task_call(client, cancel, |client, cancel| {
            let task_id = required_str("task_id", task_id)?;
            client.wait_for_task(task_id, wait_deadline(timeout_ms), cancel)
        })
    }
}

/// Called by `altogic_task_wait_watch` with each status of the execution as it changes:
/// `task_info` is the TaskInfo's compact JSON, borrowed for the duration of the call;
/// `userdata` is what was given to `altogic_task_wait_watch`.
pub type AltogicStatusCallback =
    Option<unsafe extern "C" fn(task_info: *const c_char, userdata: *mut c_void)>;

/// `altogic_task_wait_cancellable`, showing the execution as it goes: `on_status` is called
/// on the calling thread, before this function returns, with the first status the wait's
/// polls find and then with each new one (`pending`, then `processing`...), as a TaskInfo
/// JSON object. The polls are the wait's own, with its backoff: watching makes no request
/// of its own. The final status is not passed to `on_status`: it is in the result, which is
/// exactly what `altogic_task_wait_cancellable` returns (errors included). NULL `on_status`
/// is a plain wait.
///
/// `on_status` runs on the calling thread while the wait goes on in the library: it may call
/// the library's functions (but must not free the client or the token the wait uses), and
/// should return soon (the polls go on meanwhile, and the next status reaches it only once
/// it returned). It must not unwind (a C++ exception, a longjmp) through the library.
///
/// Thread-safety, ownership and everything else are as for `altogic_task_wait_cancellable`;
/// `userdata` is the caller's, passed back unchanged. Since 1.3.
///
/// # Safety
/// `client` is NULL or a live client; `task_id` is NULL or a NUL-terminated string; `cancel`
/// is NULL or a live token; `on_status` is NULL or a function that may be called with
/// `userdata` on the calling thread.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_wait_watch(
    client: *const AltogicClient,
    task_id: *const c_char,
    timeout_ms: u64,
    cancel: *const AltogicCancel,
    on_status: AltogicStatusCallback,
    userdata: *mut c_void,
) -> *mut c_char {
    // SAFETY: the caller passes NULL or live handles, and NULL or a C string.
    unsafe {
        task_call(client, cancel, |client, cancel| {
            let task_id = required_str("task_id", task_id)?;
            let timeout = wait_deadline(timeout_ms);
            let Some(on_status) = on_status else {
                return client.wait_for_task(task_id, timeout, cancel);
            };
            let userdata = userdata as usize;
            let show = move |info: &TaskInfo| {
                if let Ok(json) = CString::new(info.as_json()) {
                    // Per this function's contract: called on the calling thread.
                    on_status(json.as_ptr(), userdata as *mut c_void);
                }
            };
            client.wait_for_task_watching(task_id, timeout, cancel, &show)
        })
    }
}

/// The client's number, which the log's records carry as `client` (see
/// `altogic_set_log_callback`): 1 for the process's first client, then 2, and so on; 0 for a
/// NULL client. Thread-safety: may be called from any thread. Since 1.3.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn altogic_client_id(client: *const AltogicClient) -> u64 {
    ffi_guard(
        |_| 0,
        // SAFETY: the caller passes NULL or a live handle.
        || unsafe { AltogicClient::try_ref(client) }.map_or(0, |client| client.id()),
    )
}

/// Sets the session token sent in the `Session` header, or clears it when `session_token`
/// is NULL.
///
/// Returns NULL on success. On failure returns an APIError JSON object (as
/// `altogic_client_new` reports errors) that the caller frees with `altogic_string_free`,
/// and the session is unchanged. Codes: `missing_required_value` (NULL client, empty
/// token), `invalid_argument` (not UTF-8, or a CR, LF or other control character, which an
/// HTTP header cannot hold), `internal_error`.
///
/// The library also drops the session by itself when the service answers
/// `invalid_session_token` or `missing_session_token`, as the official client does, unless
/// the session was changed meanwhile.
/// Thread-safety: safe while other threads make calls; those already sent keep the token
/// they were sent with. Ownership: the token is copied.
///
/// # Safety
/// `client` is NULL or a live client; `session_token` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn altogic_client_set_session(
    client: *const AltogicClient,
    session_token: *const c_char,
) -> *mut c_char {
    ffi_guard(
        |message| error_string(&internal_error(message)),
        || {
            let set = (|| {
                // SAFETY: the caller passes NULL or a live handle, and NULL or a C string.
                let client = unsafe { AltogicClient::try_ref(client) }
                    .ok_or_else(|| null_argument("client"))?;
                let token = unsafe { optional_str("session_token", session_token) }?;
                client.set_session(token)
            })();
            match set {
                Ok(()) => ptr::null_mut(),
                Err(error) => error_string(&error),
            }
        },
    )
}

/// Returns a copy of the current session token, or NULL when no session is set (or
/// `client` is NULL). Free a non-NULL result with `altogic_string_free`.
/// Thread-safety: may be called while other threads use the client.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn altogic_client_get_session(client: *const AltogicClient) -> *mut c_char {
    ffi_guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: the caller passes NULL or a live handle.
            match unsafe { AltogicClient::try_ref(client) }.and_then(|client| client.session()) {
                Some(token) => to_c_string(token),
                None => ptr::null_mut(),
            }
        },
    )
}

/// Creates a cancellation token, not triggered. Pass it to the `_cancellable` calls and
/// trigger it with `altogic_cancel_trigger` to end them.
///
/// One token may serve any number of calls, on any threads, at once; triggering it ends
/// all of them, and every later call given it returns at once. A token cannot be reset:
/// make a new one for new calls. Returns NULL only if memory runs out.
///
/// Ownership: the caller owns the token and frees it with `altogic_cancel_free`.
/// Thread-safety: may be called from any thread.
#[no_mangle]
pub extern "C" fn altogic_cancel_new() -> *mut AltogicCancel {
    ffi_guard(
        |_| ptr::null_mut(),
        || AltogicCancel::into_raw(CancelToken::new()),
    )
}

/// Triggers a cancellation token: every call given it that is in flight returns within
/// milliseconds with code `cancelled`, and every later call given it returns at once.
///
/// Idempotent, and never blocks: it does not wait for the calls to return. NULL is a no-op.
/// Thread-safety: may be called from any thread, including while other threads are inside
/// calls that use the token, and from several threads at once.
///
/// # Safety
/// `token` is NULL or a live token from `altogic_cancel_new`.
#[no_mangle]
pub unsafe extern "C" fn altogic_cancel_trigger(token: *const AltogicCancel) {
    ffi_guard(
        |_| (),
        || {
            // SAFETY: the caller passes NULL or a live token.
            if let Some(token) = unsafe { AltogicCancel::try_ref(token) } {
                token.trigger();
            }
        },
    )
}

/// Whether the token was triggered: 1 if so, 0 if not or when `token` is NULL.
/// Thread-safety: may be called from any thread.
///
/// # Safety
/// `token` is NULL or a live token from `altogic_cancel_new`.
#[no_mangle]
pub unsafe extern "C" fn altogic_cancel_is_triggered(token: *const AltogicCancel) -> i32 {
    ffi_guard(
        |_| 0,
        || {
            // SAFETY: the caller passes NULL or a live token.
            i32::from(
                unsafe { AltogicCancel::try_ref(token) }.is_some_and(CancelToken::is_triggered),
            )
        },
    )
}

/// Frees a cancellation token. NULL is a no-op; never free a token twice.
///
/// Free a token only once every call given it has returned and no thread can still
/// trigger it (freeing it does not cancel anything). Triggering before freeing is not
/// needed.
///
/// # Safety
/// `token` is NULL or a token from `altogic_cancel_new` not yet freed and no longer used.
#[no_mangle]
pub unsafe extern "C" fn altogic_cancel_free(token: *mut AltogicCancel) {
    ffi_guard(
        |_| (),
        // SAFETY: the caller passes NULL or a live token that nothing else uses.
        || unsafe { AltogicCancel::free(token) },
    )
}

/// Frees a string returned by this library (results, errors, session tokens). NULL is a
/// no-op. Never pass a string twice, and never free these strings with `free()`.
/// Thread-safety: may be called from any thread.
///
/// # Safety
/// `s` is NULL or a string returned by this library and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn altogic_string_free(s: *mut c_char) {
    // SAFETY: the caller passes NULL or a string from this library, once.
    ffi_guard(|_| (), || unsafe { free_c_string(s) })
}

/// The library's version (semver, e.g. `"1.0.0"`), equal to `ALTOGIC_VERSION`. The string is
/// static: never free it. Thread-safety: may be called from any thread.
#[no_mangle]
pub extern "C" fn altogic_version() -> *const c_char {
    VERSION.as_ptr()
}
