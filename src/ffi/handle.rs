//! Typed casts between C handles and Rust values. Each opaque C type names the Rust type it
//! stands for and how it is owned (a Box, or an Arc when calls in flight keep a reference),
//! so a handle of one type cannot be cast to another by mistake.

use std::sync::Arc;

use crate::cancel::CancelToken;
use crate::client::Client;
use crate::queue::Queue;

/// A client of one Altogic app environment. Opaque: create it with `altogic_client_new`,
/// free it with `altogic_client_free`.
pub struct AltogicClient {
    _private: [u8; 0],
}

/// A completion queue. Opaque: create it with `altogic_queue_new`, start calls on it with
/// the `altogic_task_..._start` functions, take their results with `altogic_queue_next`,
/// free it with `altogic_queue_free`.
pub struct AltogicQueue {
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

    /// Takes ownership back; None for NULL.
    ///
    /// # Safety
    /// As [`BoxedHandle::free`].
    unsafe fn take(handle: *mut Self) -> Option<Self::Rust>
    where
        Self: Sized,
    {
        // SAFETY: per the contract above, the box is ours to take, once.
        (!handle.is_null()).then(|| *unsafe { Box::from_raw(handle.cast::<Self::Rust>()) })
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

/// A C handle that holds one reference to a value shared with the calls that use it: freeing
/// the handle drops that reference, and the value lives on while those calls do.
pub trait ArcHandle {
    type Rust;

    /// Hands one reference to `value` to C.
    fn into_raw(value: Self::Rust) -> *mut Self
    where
        Self: Sized,
    {
        Arc::into_raw(Arc::new(value)).cast_mut().cast::<Self>()
    }

    /// Borrows the value behind a handle; None for NULL.
    ///
    /// # Safety
    /// `handle` is NULL or came from [`ArcHandle::into_raw`] of this type and was not freed,
    /// and stays valid for `'a`.
    unsafe fn try_ref<'a>(handle: *const Self) -> Option<&'a Self::Rust>
    where
        Self: Sized,
    {
        // SAFETY: per the contract above, a non-NULL handle points to a live Self::Rust.
        unsafe { handle.cast::<Self::Rust>().as_ref() }
    }

    /// A reference of its own to the value behind a handle; None for NULL.
    ///
    /// # Safety
    /// As [`ArcHandle::try_ref`].
    unsafe fn try_clone(handle: *const Self) -> Option<Arc<Self::Rust>>
    where
        Self: Sized,
    {
        if handle.is_null() {
            return None;
        }
        let value = handle.cast::<Self::Rust>();
        // SAFETY: per the contract above, `value` came from Arc::into_raw and the handle's
        // reference is still held, so the count is at least one.
        unsafe {
            Arc::increment_strong_count(value);
            Some(Arc::from_raw(value))
        }
    }

    /// Drops the handle's reference; NULL is a no-op.
    ///
    /// # Safety
    /// `handle` is NULL or came from [`ArcHandle::into_raw`] of this type, was not freed,
    /// and is not used through this handle by any other thread now or afterwards.
    unsafe fn free(handle: *mut Self)
    where
        Self: Sized,
    {
        if !handle.is_null() {
            // SAFETY: per the contract above, the handle's reference is ours to drop, once.
            drop(unsafe { Arc::from_raw(handle.cast_const().cast::<Self::Rust>()) });
        }
    }
}

impl ArcHandle for AltogicClient {
    type Rust = Client;
}

impl BoxedHandle for AltogicQueue {
    type Rust = Queue;
}

impl BoxedHandle for AltogicCancel {
    type Rust = CancelToken;
}
