//! The panic boundary: every exported function runs its body inside [`ffi_guard`], so a
//! panic becomes the function's fallback value instead of unwinding into C (which is
//! undefined behaviour) or aborting the host process.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

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
