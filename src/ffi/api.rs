//! The exported functions. Each body runs inside [`ffi_guard`] and checks every pointer and
//! string before use; each doc comment is the C user's manual for that function and is
//! copied into `include/altogic.h`.

use std::ffi::{c_char, CStr};
use std::ptr;
use std::time::Duration;

use crate::client::{missing_value, Client, ClientOptions};
use crate::ffi::boundary::ffi_guard;
use crate::ffi::handle::{AltogicClient, BoxedHandle};
use crate::ffi::strings::{free_c_string, optional_str, required_str, to_c_string};
use crate::outcome::{codes, ApiError, Outcome};

/// Returned by `altogic_client_set_session` when the session was set or cleared.
pub const ALTOGIC_OK: i32 = 0;
/// Returned by `altogic_client_set_session` when `client` is NULL.
pub const ALTOGIC_ERR_NULL_CLIENT: i32 = 1;
/// Returned by `altogic_client_set_session` when the token is empty, not UTF-8, or holds
/// CR, LF or another control character.
pub const ALTOGIC_ERR_INVALID_TOKEN: i32 = 2;
/// Returned by `altogic_client_set_session` when the library caught an internal panic.
pub const ALTOGIC_ERR_INTERNAL: i32 = 3;

static VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => c"unknown",
    };

fn internal_error(message: String) -> ApiError {
    ApiError::client(
        codes::INTERNAL_ERROR,
        format!("internal error in the altogic library (please report it): {message}"),
        None,
    )
}

fn outcome_string(outcome: Outcome) -> *mut c_char {
    to_c_string(outcome.to_json())
}

fn panic_outcome_string(message: String) -> *mut c_char {
    outcome_string(Outcome::error(internal_error(message)))
}

/// Runs a task call on a borrowed client, answering a JSON string that is never NULL.
///
/// # Safety
/// `client` is NULL or a live handle from `altogic_client_new`.
unsafe fn task_call(
    client: *const AltogicClient,
    call: impl FnOnce(&Client) -> Result<Outcome, ApiError>,
) -> *mut c_char {
    ffi_guard(panic_outcome_string, || {
        // SAFETY: per this function's contract.
        let outcome = match unsafe { AltogicClient::try_ref(client) } {
            None => Outcome::error(missing_value("client")),
            Some(client) => call(client).unwrap_or_else(Outcome::error),
        };
        outcome_string(outcome)
    })
}

/// Creates a client for one Altogic app environment.
///
/// - `env_url`: the environment URL, e.g. `"https://myapp.c1-na.altogic.com"`; it must start
///   with `http://` or `https://`; surrounding white space and one trailing `/` are removed.
/// - `client_key`: sent in `X-Client-Key` on every request.
/// - `options_json`: NULL, or a JSON object with any of `apiKey` (string, sent as-is in
///   `Authorization`), `session` (string, sent in `Session`), `timeoutMs` (bounds a whole
///   call including the body; default 30000), `connectTimeoutMs` (default 10000) and
///   `maxResponseBytes` (default 10485760). An unknown key or a wrong type is an error.
/// - `error_out`: NULL, or where to store the error on failure.
///
/// Returns the client, or NULL on failure. On failure, when `error_out` is not NULL,
/// `*error_out` is set to an APIError JSON object
/// (`{"status":0,"statusText":"Client Error","items":[{"origin":"client_error","code":...,"message":...,"details":...}]}`)
/// that the caller frees with `altogic_string_free`; on success `*error_out` is set to NULL.
/// Codes: `missing_required_value` (NULL or empty `env_url` or `client_key`),
/// `invalid_argument` (not UTF-8, CR or LF in a key or token, bad options),
/// `invalid_env_url`.
///
/// Creating a client is cheap: it starts no thread and opens no connection. Every client of
/// the process shares one HTTP runtime and connection pool, built on first use.
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
    if !error_out.is_null() {
        // SAFETY: the caller passes NULL or a writable `char *` slot.
        unsafe { *error_out = ptr::null_mut() };
    }
    let report = move |error: ApiError| {
        if !error_out.is_null() {
            // SAFETY: the caller passes NULL or a writable `char *` slot.
            unsafe { *error_out = to_c_string(serde_json::to_string(&error).unwrap_or_default()) };
        }
        ptr::null_mut()
    };
    ffi_guard(
        |message| report(internal_error(message)),
        || {
            let created = (|| {
                // SAFETY: the caller passes NULL or NUL-terminated strings.
                let env_url = unsafe { required_str("env_url", env_url) }?;
                let client_key = unsafe { required_str("client_key", client_key) }?;
                let options = match unsafe { optional_str("options_json", options_json) }? {
                    Some(text) => ClientOptions::from_json(text)?,
                    None => ClientOptions::default(),
                };
                Client::new(env_url, client_key, options)
            })();
            match created {
                Ok(client) => AltogicClient::into_raw(client),
                Err(error) => report(error),
            }
        },
    )
}

/// Frees a client made by `altogic_client_new`. NULL is a no-op; never free a client twice.
///
/// Connections stay in the process-wide pool for other clients. No call on this client may
/// be running on another thread, or start afterwards.
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
/// one of the codes `missing_required_value` (NULL client, NULL or empty name),
/// `invalid_argument`, `network_error`, `timeout`, `invalid_response`, `response_too_large`,
/// `redirect_not_followed` or `internal_error`. Errors from the service keep its HTTP status
/// and items. An answer with code `invalid_session_token` or `missing_session_token` drops
/// the client's session.
///
/// Blocks the calling thread for at most the client's `timeoutMs`.
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
    // SAFETY: the caller passes NULL or a live handle, and NULL or a C string.
    unsafe {
        task_call(client, |client| {
            let name = required_str("task_name_or_id", task_name_or_id)?;
            Ok(client.run_once(name))
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
/// Error codes, session handling, blocking, thread-safety and ownership are as for
/// `altogic_task_run_once`; the ids `.` and `..` are refused with `invalid_argument`.
///
/// # Safety
/// `client` is NULL or a live client; `task_id` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_get_status(
    client: *const AltogicClient,
    task_id: *const c_char,
) -> *mut c_char {
    // SAFETY: the caller passes NULL or a live handle, and NULL or a C string.
    unsafe {
        task_call(client, |client| {
            let task_id = required_str("task_id", task_id)?;
            Ok(client.get_task_status(task_id))
        })
    }
}

/// Waits for a task execution to end: polls its status, pausing about 50 ms at first and
/// doubling up to about 1 s, until the status is `completed` or `errors`, or `info` is null
/// (the execution is no longer kept).
///
/// Returns compact one-line JSON `{"info":...,"errors":...}` of the last poll. An error answer
/// ends the wait and is returned as it is. `timeout_ms` 0 polls once. When `timeout_ms`
/// passes first, `info` is the last TaskInfo seen and `errors` has one item with code
/// `timeout` (`details.lastStatus` names the last status). Never returns NULL; free the
/// string with `altogic_string_free`.
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
    // SAFETY: the caller passes NULL or a live handle, and NULL or a C string.
    unsafe {
        task_call(client, |client| {
            let task_id = required_str("task_id", task_id)?;
            Ok(client.wait_for_task(task_id, Duration::from_millis(timeout_ms)))
        })
    }
}

/// Sets the session token sent in the `Session` header, or clears it when `session_token`
/// is NULL.
///
/// Returns `ALTOGIC_OK` (0) on success; `ALTOGIC_ERR_NULL_CLIENT` when `client` is NULL;
/// `ALTOGIC_ERR_INVALID_TOKEN` when the token is empty, not UTF-8, or holds CR, LF or another
/// control character (the session is then unchanged); `ALTOGIC_ERR_INTERNAL` on an internal
/// error.
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
    client: *mut AltogicClient,
    session_token: *const c_char,
) -> i32 {
    ffi_guard(
        |_| ALTOGIC_ERR_INTERNAL,
        || {
            // SAFETY: the caller passes NULL or a live handle.
            let Some(client) = (unsafe { AltogicClient::try_ref(client) }) else {
                return ALTOGIC_ERR_NULL_CLIENT;
            };
            // SAFETY: the caller passes NULL or a C string.
            let token = match unsafe { optional_str("session_token", session_token) } {
                Ok(token) => token,
                Err(_) => return ALTOGIC_ERR_INVALID_TOKEN,
            };
            match client.set_session(token) {
                Ok(()) => ALTOGIC_OK,
                Err(_) => ALTOGIC_ERR_INVALID_TOKEN,
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
            match unsafe { AltogicClient::try_ref(client) }.and_then(Client::session) {
                Some(token) => to_c_string(token),
                None => ptr::null_mut(),
            }
        },
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

/// The library's version (semver, e.g. `"0.1.0"`), equal to `ALTOGIC_VERSION`. The string is
/// static: never free it.
#[no_mangle]
pub extern "C" fn altogic_version() -> *const c_char {
    VERSION.as_ptr()
}
