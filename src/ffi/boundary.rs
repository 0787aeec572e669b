//! The panic boundary: every exported function runs its body inside [`ffi_guard`], so a
//! panic becomes the function's fallback value instead of unwinding into C (which is
//! undefined behaviour) or aborting the host process.

use std::any::Any;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::error::{codes, ApiError};
use crate::ffi::strings::to_c_string;

/// Runs `body`; if it panics, returns `fallback(panic message)`.
///
/// `AssertUnwindSafe` is sound here: after a caught panic the library only builds the
/// fallback, and the one piece of shared mutable state (a client's session) is replaced
/// whole through an `ArcSwap`, so a panic can never leave it half-changed.
pub fn ffi_guard<R>(fallback: impl FnOnce(String) -> R, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => fallback(panic_message(payload.as_ref())),
    }
}

/// `internal_error`: a fault of the library, never the caller's.
pub fn internal_error(message: String) -> ApiError {
    ApiError::client(
        codes::INTERNAL_ERROR,
        format!("internal error in the altogic library (please report it): {message}"),
        None,
    )
}

/// An APIError as a string handed to C.
pub fn error_string(error: &ApiError) -> *mut c_char {
    to_c_string(error.to_json())
}

/// Runs a constructor of a C handle inside [`ffi_guard`], with the `error_out` convention:
/// `*error_out` is NULL on success, the APIError JSON on failure (a panic included), and the
/// answer is the handle or NULL.
///
/// # Safety
/// `error_out` is NULL or points to a writable `char *`.
pub unsafe fn construct<T>(
    error_out: *mut *mut c_char,
    make: impl FnOnce() -> Result<*mut T, ApiError>,
) -> *mut T {
    if !error_out.is_null() {
        // SAFETY: the caller passes NULL or a writable `char *` slot.
        unsafe { *error_out = ptr::null_mut() };
    }
    let report = move |error: ApiError| {
        if !error_out.is_null() {
            // SAFETY: the caller passes NULL or a writable `char *` slot.
            unsafe { *error_out = error_string(&error) };
        }
        ptr::null_mut()
    };
    ffi_guard(
        |message| report(internal_error(message)),
        || make().unwrap_or_else(report),
    )
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_the_fallback_with_their_message() {
        let result = ffi_guard(|message| message, || -> String { panic!("boom {}", 7) });
        assert_eq!(result, "boom 7");
        let result = ffi_guard(|_| -1, || -> i32 { std::panic::panic_any(3u8) });
        assert_eq!(result, -1);
        assert_eq!(ffi_guard(|_| 0, || 5), 5);
    }
}
