//! Typed casts between C handles and Rust values. Each opaque C type names the Rust type it
//! stands for, so a handle of one type cannot be cast to another by mistake.

use crate::cancel::CancelToken;
use crate::client::Client;

/// A client of one Altogic app environment. Opaque: create it with `altogic_client_new`,
/// free it with `altogic_client_free`.
pub struct AltogicClient {
    _private: [u8; 0],
}

/// A cancellation token. Opaque: create it with `altogic_cancel_new`, trigger it with
/// `altogic_cancel_trigger`, free it with `altogic_cancel_free`.
pub struct AltogicCancel {
    _private: [u8; 0],
}

/// A C handle that owns a boxed Rust value.
pub trait BoxedHandle {
    type Rust;

    /// Hands ownership of `value` to C.
    fn into_raw(value: Self::Rust) -> *mut Self
    where
        Self: Sized,
    {
        Box::into_raw(Box::new(value)).cast::<Self>()
    }

    /// Borrows the value behind a handle; None for NULL.
    ///
    /// # Safety
    /// `handle` is NULL or came from [`BoxedHandle::into_raw`] of this type and was not freed,
    /// and stays valid for `'a`.
    unsafe fn try_ref<'a>(handle: *const Self) -> Option<&'a Self::Rust>
    where
        Self: Sized,
    {
        // SAFETY: per the contract above, a non-NULL handle points to a live Self::Rust.
        unsafe { handle.cast::<Self::Rust>().as_ref() }
    }

    /// Takes ownership back and drops the value; NULL is a no-op.
    ///
    /// # Safety
    /// `handle` is NULL or came from [`BoxedHandle::into_raw`] of this type, was not freed,
    /// and is not used by any other thread now or afterwards.
    unsafe fn free(handle: *mut Self)
    where
        Self: Sized,
    {
        if !handle.is_null() {
            // SAFETY: per the contract above, the box is ours to drop, once.
            drop(unsafe { Box::from_raw(handle.cast::<Self::Rust>()) });
        }
    }
}

impl BoxedHandle for AltogicClient {
    type Rust = Client;
}

impl BoxedHandle for AltogicCancel {
    type Rust = CancelToken;
}
