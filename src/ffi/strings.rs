//! C strings in and out. Strings handed to C are allocated here and freed only by
//! `altogic_string_free`.

use std::ffi::{c_char, CStr, CString};

use crate::error::ApiError;
use crate::error::{invalid_named_argument, missing_value, null_argument};

/// Reads a required argument: NULL or empty is `missing_required_value`, bytes that are not
/// UTF-8 are `invalid_argument`.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub unsafe fn required_str<'a>(name: &str, ptr: *const c_char) -> Result<&'a str, ApiError> {
    match unsafe { optional_str(name, ptr) }? {
        Some(text) if !text.is_empty() => Ok(text),
        Some(_) => Err(missing_value(name)),
        None => Err(null_argument(name)),
    }
}

/// Reads an optional argument: NULL is None.
///
/// # Safety
/// As [`required_str`].
pub unsafe fn optional_str<'a>(
    name: &str,
    ptr: *const c_char,
) -> Result<Option<&'a str>, ApiError> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map(Some).map_err(|err| {
        invalid_named_argument(
            name,
            format!(
                "is not valid UTF-8 (invalid byte at offset {}); pass UTF-8 text",
                err.valid_up_to()
            ),
        )
    })
}

/// Hands a string to C; the caller frees it with `altogic_string_free`.
pub fn to_c_string(text: String) -> *mut c_char {
    let owned = CString::new(text).unwrap_or_else(|err| {
        // JSON output never holds a NUL byte; strip any rather than fail.
        let mut bytes = err.into_vec();
        bytes.retain(|b| *b != 0);
        CString::new(bytes).unwrap_or_default()
    });
    owned.into_raw()
}

/// Frees a string made by [`to_c_string`]; NULL is a no-op.
///
/// # Safety
/// `ptr` is NULL or came from [`to_c_string`] and was not freed yet.
pub unsafe fn free_c_string(ptr: *mut c_char) {
    if !ptr.is_null() {
        // SAFETY: per the contract, this CString is ours to drop, once.
        drop(unsafe { CString::from_raw(ptr) });
    }
}
