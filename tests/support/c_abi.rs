//! The C ABI as a C program declares it, for Rust programs that exercise it exactly as C
//! callers do (the property tests, the soak run, the fuzz targets). Include it with
//! `#[path]`; the program must also link the library (`extern crate altogic;`).

#![allow(dead_code)]

use std::ffi::{c_char, CStr};

/// The opaque client handle, as C sees it.
#[repr(C)]
pub struct AltogicClient {
    _private: [u8; 0],
}

/// The opaque completion queue handle, as C sees it.
#[repr(C)]
pub struct AltogicQueue {
    _private: [u8; 0],
}

/// The opaque cancellation token, as C sees it.
#[repr(C)]
pub struct AltogicCancel {
    _private: [u8; 0],
}

extern "C" {
    pub fn altogic_client_new(
        env_url: *const c_char,
        client_key: *const c_char,
        options_json: *const c_char,
        error_out: *mut *mut c_char,
    ) -> *mut AltogicClient;
    pub fn altogic_client_free(client: *mut AltogicClient);
    pub fn altogic_task_run_once(client: *const AltogicClient, name: *const c_char) -> *mut c_char;
    pub fn altogic_task_get_status(client: *const AltogicClient, id: *const c_char) -> *mut c_char;
    pub fn altogic_task_wait(
        client: *const AltogicClient,
        id: *const c_char,
        timeout_ms: u64,
    ) -> *mut c_char;
    pub fn altogic_client_set_session(
        client: *const AltogicClient,
        token: *const c_char,
    ) -> *mut c_char;
    pub fn altogic_client_get_session(client: *const AltogicClient) -> *mut c_char;
    pub fn altogic_string_free(s: *mut c_char);
    pub fn altogic_queue_new(error_out: *mut *mut c_char) -> *mut AltogicQueue;
    pub fn altogic_queue_fd(queue: *const AltogicQueue) -> std::ffi::c_int;
    pub fn altogic_task_run_once_start(
        client: *const AltogicClient,
        name: *const c_char,
        queue: *mut AltogicQueue,
        tag: u64,
        cancel: *const AltogicCancel,
    ) -> *mut c_char;
    pub fn altogic_task_get_status_start(
        client: *const AltogicClient,
        id: *const c_char,
        queue: *mut AltogicQueue,
        tag: u64,
        cancel: *const AltogicCancel,
    ) -> *mut c_char;
    pub fn altogic_task_wait_start(
        client: *const AltogicClient,
        id: *const c_char,
        timeout_ms: u64,
        queue: *mut AltogicQueue,
        tag: u64,
        cancel: *const AltogicCancel,
    ) -> *mut c_char;
    pub fn altogic_queue_next(
        queue: *mut AltogicQueue,
        timeout_ms: u64,
        tag: *mut u64,
    ) -> *mut c_char;
    pub fn altogic_queue_free(queue: *mut AltogicQueue);
}

/// Copies a string the library returned and frees it; None for NULL.
pub fn take(s: *mut c_char) -> Option<String> {
    if s.is_null() {
        return None;
    }
    // SAFETY: a string from the library, freed once right after being copied.
    let text = unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned();
    unsafe { altogic_string_free(s) };
    Some(text)
}
