//! The completion queue's exported functions (C ABI 1.1). Each body runs inside
//! [`ffi_guard`]; each doc comment is the C user's manual for that function and is copied
//! into `include/altogic.h`.

use std::ffi::{c_char, c_int};
use std::ptr;
use std::time::Duration;

use crate::client::Client;
use crate::error::{null_argument, ApiError};
use crate::ffi::boundary::{construct, error_string, ffi_guard, internal_error};
use crate::ffi::envelope::queue_result_json;
use crate::ffi::handle::{AltogicCancel, AltogicClient, AltogicQueue, ArcHandle, BoxedHandle};
use crate::ffi::readiness::Signal;
use crate::ffi::strings::{required_str, to_c_string};
use crate::queue::Queue;
use crate::task::Call;
use crate::transport::runtime;

/// How many requests to one host (scheme, host and port) the calls started on queues have in
/// flight at most, all queues of the process together, and so about how many connections
/// they keep open to it. Further calls wait their turn (within their own deadline: the wait
/// for a turn counts against `timeoutMs`, or against a wait's `timeout_ms`).
#[allow(dead_code)] // Read by C through the header; Rust reads runtime::MAX_CONNECTIONS_PER_HOST.
pub const ALTOGIC_MAX_CONNECTIONS_PER_HOST: usize = 64;

/// How long `altogic_queue_free` waits at most for the calls it cancelled to end.
const FREE_GRACE: Duration = Duration::from_millis(80);

/// Creates a completion queue: calls started on it with `altogic_task_run_once_start`,
/// `altogic_task_get_status_start` and `altogic_task_wait_start` run on the library's
/// runtime, and their results come out of `altogic_queue_next`, each with the tag given at
/// its start. `altogic_queue_fd` gives a descriptor for epoll, poll, an event loop's
/// `add_reader` or Go's poller.
///
/// Started calls run on the same threads and the same kept-alive connections as the blocking
/// calls (see `altogic_client_new`): at most 3 library threads in the process, whatever the
/// number of queues and calls. Each host gets at most `ALTOGIC_MAX_CONNECTIONS_PER_HOST`
/// requests of started calls in flight; further ones wait their turn.
///
/// Returns the queue, or NULL on failure. On failure, when `error_out` is not NULL,
/// `*error_out` is set to an APIError JSON object (code `internal_error`: the thread or a
/// descriptor could not be created) that the caller frees with `altogic_string_free`; on
/// success `*error_out` is set to NULL.
///
/// Ownership: the caller owns the queue and frees it with `altogic_queue_free`.
/// Thread-safety: may be called from any thread; a queue may be used by many threads.
///
/// # Safety
/// `error_out` is NULL or points to a writable `char *`.
#[no_mangle]
pub unsafe extern "C" fn altogic_queue_new(error_out: *mut *mut c_char) -> *mut AltogicQueue {
    // SAFETY: the caller passes NULL or a writable `char *` slot.
    unsafe {
        construct(error_out, || {
            let runtime = runtime::current()?;
            let signal = Signal::new()?;
            Ok(AltogicQueue::into_raw(Queue::new(
                runtime,
                Box::new(signal),
            )))
        })
    }
}

/// The queue's readiness descriptor: readable while at least one result waits in the queue
/// (level-triggered), not readable once it is drained. Every time the queue goes from empty
/// to non-empty the descriptor becomes readable anew, so edge-triggered pollers (EPOLLET,
/// Go's runtime poller) see each arrival after a drain. One exception: a result that comes
/// while a thread is blocked in `altogic_queue_next` goes to that thread without making the
/// descriptor readable (it would only wake a poller for a result already spoken for); should
/// more results be waiting when that thread takes its own, the descriptor becomes readable
/// then.
///
/// Watch it for reading with epoll, poll, select, `loop.add_reader` and the like; never
/// read, write or close it (the queue owns it; it is closed by `altogic_queue_free`).
/// Readiness is a hint: when it fires, take results with `altogic_queue_next(queue, 0, &tag)`
/// until that answers NULL, as several results may have come for one wake-up, and another
/// thread may have taken them first.
///
/// Returns -1 when `queue` is NULL, and always on Windows: there the queue has no descriptor
/// (a Windows event loop waits on handles or completion ports, not on file descriptors), so
/// take results with `altogic_queue_next` from a thread of your own, blocking (`timeout_ms`
/// -1) or with a timeout (the Python binding's AsyncClient, on Windows' Proactor loop, runs
/// each call on an executor thread instead).
/// The descriptor is close-on-exec. Thread-safety: may be called from any thread.
///
/// # Safety
/// `queue` is NULL or a live queue from `altogic_queue_new`.
#[no_mangle]
pub unsafe extern "C" fn altogic_queue_fd(queue: *const AltogicQueue) -> c_int {
    ffi_guard(
        |_| -1,
        || {
            // SAFETY: the caller passes NULL or a live queue.
            unsafe { AltogicQueue::try_ref(queue) }.map_or(-1, Queue::fd)
        },
    )
}

/// The refusal of a start whose queue is NULL.
fn no_queue() -> ApiError {
    null_argument("queue")
}

/// Starts a call on a queue: checks the arguments it can (queue, client, token), then hands
/// the call, or the argument error `check` finds, to the queue.
///
/// # Safety
/// `client`, `queue` and `cancel` are NULL or live handles of their types.
unsafe fn start_call(
    client: *const AltogicClient,
    queue: *const AltogicQueue,
    tag: u64,
    cancel: *const AltogicCancel,
    watched: bool,
    check: impl FnOnce(&Client) -> Result<Call, ApiError>,
) -> *mut c_char {
    ffi_guard(
        |message| error_string(&internal_error(message)),
        || {
            // SAFETY: per this function's contract.
            let (queue, client, cancel) = unsafe {
                (
                    AltogicQueue::try_ref(queue),
                    AltogicClient::try_clone(client),
                    AltogicCancel::try_ref(cancel).cloned(),
                )
            };
            let Some(queue) = queue else {
                return error_string(&no_queue());
            };
            let job = match client {
                None => Err(null_argument("client")),
                Some(client) => check(&client).map(|call| (Client::clone(&client), call)),
            };
            match queue.start(job, tag, cancel, watched) {
                Ok(()) => ptr::null_mut(),
                Err(error) => error_string(&error),
            }
        },
    )
}

/// Starts `altogic_task_run_once` on `queue`, without waiting for the network: the call runs
/// on the library's threads, and its result, exactly the `{"info":...,"errors":...}` JSON
/// `altogic_task_run_once_cancellable` returns, comes out of `altogic_queue_next` once, with
/// `tag` (any value of the caller's: an index, a pointer).
///
/// Returns NULL when the call started; then exactly one result with `tag` will come out of
/// the queue, whatever happens: argument errors included (a NULL client, a NULL or empty
/// name: `missing_required_value`; not UTF-8: `invalid_argument`), a cancelled call
/// (`cancelled`), and every error the blocking call can answer. Otherwise the call did not
/// start, nothing will come for it, and the return value is an APIError JSON object that
/// the caller frees with `altogic_string_free`: code `missing_required_value` for a NULL
/// queue, `invalid_argument` for a queue being freed on another thread or inherited from
/// another process (see `altogic_queue_free`), `internal_error`.
///
/// `cancel` (NULL: not cancellable) ends the call within milliseconds of its trigger, as it
/// ends a blocking call; a token triggered before the start makes the result `cancelled`
/// without sending anything. The call takes a reference of its own to the token: the token
/// may be freed right after this function returns (it can no longer be triggered then).
///
/// The request is sent once at most by the library, as for the blocking call; the client's
/// `timeoutMs` bounds it from its start, including any wait for one of the host's
/// `ALTOGIC_MAX_CONNECTIONS_PER_HOST` connections.
///
/// Ownership: `task_name_or_id` is copied. The call takes a reference of its own to the
/// client: `altogic_client_free` may be called while it runs, and it completes normally.
/// Thread-safety: may be called from any thread, on a queue other threads use.
///
/// # Safety
/// `client`, `queue` and `cancel` are NULL or live handles from `altogic_client_new`,
/// `altogic_queue_new` and `altogic_cancel_new`; `task_name_or_id` is NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_run_once_start(
    client: *const AltogicClient,
    task_name_or_id: *const c_char,
    queue: *mut AltogicQueue,
    tag: u64,
    cancel: *const AltogicCancel,
) -> *mut c_char {
    // SAFETY: the caller passes NULL or live handles, and NULL or a C string.
    unsafe {
        start_call(client, queue, tag, cancel, false, |client| {
            let name = required_str("task_name_or_id", task_name_or_id)?;
            client.run_once_call(name)
        })
    }
}

/// Starts `altogic_task_get_status` on `queue`: its result, exactly the JSON
/// `altogic_task_get_status_cancellable` returns, comes out of `altogic_queue_next` once,
/// with `tag`. A NULL or empty `task_id` gives `missing_required_value` through the queue;
/// `.`, `..`, or an id longer than `ALTOGIC_MAX_TASK_ID_BYTES` give `invalid_argument`.
///
/// Returns NULL when the call started, else an APIError JSON object, and everything else
/// (the token, the client's reference, the connections, threads) is as for
/// `altogic_task_run_once_start`.
///
/// # Safety
/// `client`, `queue` and `cancel` are NULL or live handles; `task_id` is NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_get_status_start(
    client: *const AltogicClient,
    task_id: *const c_char,
    queue: *mut AltogicQueue,
    tag: u64,
    cancel: *const AltogicCancel,
) -> *mut c_char {
    // SAFETY: the caller passes NULL or live handles, and NULL or a C string.
    unsafe {
        start_call(client, queue, tag, cancel, false, |client| {
            let task_id = required_str("task_id", task_id)?;
            client.status_call(task_id)
        })
    }
}

/// Starts `altogic_task_wait` on `queue`: its result, exactly the JSON
/// `altogic_task_wait_cancellable` returns (the final TaskInfo, or errors; on `timeout_ms`,
/// a `timeout` error with the last TaskInfo seen), comes out of `altogic_queue_next` once,
/// with `tag`. `timeout_ms` counts from the start; 0 polls once; `ALTOGIC_WAIT_FOREVER`
/// waits with no deadline of its own (until the execution ends, an error ends the wait, the
/// token is triggered, or the queue is freed).
///
/// A started wait costs no thread: thousands may run on one queue. Its polls take turns for
/// the host's `ALTOGIC_MAX_CONNECTIONS_PER_HOST` connections with every other started call.
///
/// Returns NULL when the call started, else an APIError JSON object; arguments, the token,
/// the client's reference and threads are as for `altogic_task_get_status_start`.
///
/// # Safety
/// `client`, `queue` and `cancel` are NULL or live handles; `task_id` is NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_wait_start(
    client: *const AltogicClient,
    task_id: *const c_char,
    timeout_ms: u64,
    queue: *mut AltogicQueue,
    tag: u64,
    cancel: *const AltogicCancel,
) -> *mut c_char {
    // SAFETY: the caller passes NULL or live handles, and NULL or a C string.
    unsafe { start_wait(client, task_id, timeout_ms, queue, tag, cancel, false) }
}

/// Starts a wait, watched or not, on `queue`.
///
/// # Safety
/// As [`start_call`]; `task_id` is NULL or a NUL-terminated string.
unsafe fn start_wait(
    client: *const AltogicClient,
    task_id: *const c_char,
    timeout_ms: u64,
    queue: *mut AltogicQueue,
    tag: u64,
    cancel: *const AltogicCancel,
    watched: bool,
) -> *mut c_char {
    // SAFETY: per this function's contract.
    unsafe {
        start_call(client, queue, tag, cancel, watched, |client| {
            let task_id = required_str("task_id", task_id)?;
            client.wait_call(task_id, crate::ffi::api::wait_deadline(timeout_ms))
        })
    }
}

/// Takes the next result from the queue, waiting up to `timeout_ms` for one: 0 only looks;
/// `ALTOGIC_WAIT_FOREVER` waits until a result comes (or the queue is freed by another
/// thread). Results come out in the order their calls ended.
///
/// Returns the result, the compact JSON `{"info":...,"errors":...}` of one started call,
/// and stores its tag in `*tag_out` (when `tag_out` is not NULL); free the string with
/// `altogic_string_free`. Returns NULL, leaving `*tag_out` untouched, when nothing came in
/// time, when `queue` is NULL, when the queue is being freed, and at once in a process that
/// inherited the queue across fork().
///
/// Thread-safety: may be called from any thread, by several threads at once (each result
/// goes to one of them), and while other threads start calls. A thread blocked here when
/// another thread calls `altogic_queue_free` wakes up and answers NULL.
///
/// # Safety
/// `queue` is NULL or a live queue from `altogic_queue_new`; `tag_out` is NULL or points to
/// a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn altogic_queue_next(
    queue: *mut AltogicQueue,
    timeout_ms: u64,
    tag_out: *mut u64,
) -> *mut c_char {
    ffi_guard(
        |_| ptr::null_mut(),
        || {
            // SAFETY: the caller passes NULL or a live queue.
            let Some(queue) = (unsafe { AltogicQueue::try_ref(queue) }) else {
                return ptr::null_mut();
            };
            let timeout = crate::ffi::api::wait_deadline(timeout_ms);
            match queue.next(timeout) {
                None => ptr::null_mut(),
                Some((tag, result, finality)) => {
                    if !tag_out.is_null() {
                        // SAFETY: the caller passes NULL or a writable `uint64_t`.
                        unsafe { *tag_out = tag };
                    }
                    to_c_string(queue_result_json(result, finality))
                }
            }
        },
    )
}

/// Frees a queue. NULL is a no-op; never free a queue twice.
///
/// Refuses new calls on the queue at once, cancels the calls still running on it (their
/// results, and those nobody took yet, are dropped: nothing leaks), wakes the threads
/// blocked in `altogic_queue_next` on it (they answer NULL), and returns within 100 ms,
/// once the cancelled calls ended (they do within milliseconds). Closes the readiness
/// descriptor: stop watching it first (remove it from epoll, `loop.remove_reader`).
/// Clients and tokens the calls used are not freed: the calls only drop their references.
///
/// No thread may enter a function on the queue once this has returned; threads already in
/// `altogic_task_..._start` or `altogic_queue_next` when it is called are answered (a refusal,
/// NULL) before it returns.
///
/// fork(): a child process inherits a copy of the queue but not the library's threads that
/// run its calls. In the child, only free it: `altogic_task_..._start` on it answers an
/// `invalid_argument` error, `altogic_queue_next` answers NULL at once, and its descriptor
/// (shared with the parent) must not be watched. Freeing it there waits for nothing and
/// touches nothing of the parent: it drops the results that were waiting, and keeps the
/// memory and the descriptor when calls were running at the fork. The child may make
/// queues of its own: the child's first call starts the library's threads anew.
///
/// # Safety
/// `queue` is NULL or a queue from `altogic_queue_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn altogic_queue_free(queue: *mut AltogicQueue) {
    ffi_guard(
        |_| (),
        || {
            // SAFETY: the caller passes NULL or a live queue, once.
            let Some(open) = (unsafe { AltogicQueue::try_ref(queue) }) else {
                return;
            };
            if open.inherited() {
                // SAFETY: as above; nothing in this process uses it.
                if let Some(inherited) = unsafe { AltogicQueue::take(queue) } {
                    inherited.abandon();
                }
                return;
            }
            // Threads inside calls on the queue are answered before `close` returns, so
            // the queue is freed once none uses it.
            open.close(FREE_GRACE);
            // SAFETY: as above.
            unsafe { AltogicQueue::free(queue) };
        },
    )
}

/// Starts a watched wait on `queue`: `altogic_task_wait_start`, whose every status change
/// also comes out of `altogic_queue_next` as it is found, with `tag`: each as
/// `{"info":TaskInfo,"errors":null,"final":false}` (the first status the polls find, then
/// each new one; no extra request is made for them: they are the wait's own polls), and last
/// the wait's own result with `"final":true` (the final TaskInfo, or its errors, exactly as
/// `altogic_task_wait_start` would deliver it, plus that field). So a start that answers NULL
/// gives one or more results with `tag`, the last one marked final.
///
/// Returns NULL when the wait started, else an APIError JSON object; arguments, the token,
/// the client's reference and threads are as for `altogic_task_wait_start`. Since 1.3.
///
/// # Safety
/// `client`, `queue` and `cancel` are NULL or live handles; `task_id` is NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn altogic_task_watch_start(
    client: *const AltogicClient,
    task_id: *const c_char,
    timeout_ms: u64,
    queue: *mut AltogicQueue,
    tag: u64,
    cancel: *const AltogicCancel,
) -> *mut c_char {
    // SAFETY: the caller passes NULL or live handles, and NULL or a C string.
    unsafe { start_wait(client, task_id, timeout_ms, queue, tag, cancel, true) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c_constant_is_the_transport_limit() {
        assert_eq!(
            ALTOGIC_MAX_CONNECTIONS_PER_HOST,
            runtime::MAX_CONNECTIONS_PER_HOST
        );
    }
}
