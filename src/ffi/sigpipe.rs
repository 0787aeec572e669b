//! SIGPIPE: a write on a socket the server has reset raises SIGPIPE, whose default action
//! ends the process. Rust programs ignore it from `main`, Python and Go do too, but a C or
//! C++ host usually does not, and the library must never end its caller's process.
//!
//! As libcurl does, each C call blocks SIGPIPE in the calling thread's signal mask for its
//! duration (every socket write of a call happens on the calling thread: see the
//! transport), then takes back a SIGPIPE that became pending meanwhile and restores the
//! mask. The process's signal dispositions are never changed, and a SIGPIPE that was
//! already pending, or that the thread had blocked itself, is left alone.

use std::mem::MaybeUninit;
use std::ptr;

/// Blocks SIGPIPE in this thread until dropped.
pub struct SigpipeBlocked {
    /// The mask to restore, and a SIGPIPE raised meanwhile to take back, on drop: None when
    /// blocking failed, when the thread had SIGPIPE blocked already, or when one was
    /// pending before the call (then nothing is ours to undo).
    restore: Option<libc::sigset_t>,
}

fn sigpipe_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set; sigaddset adds a valid signal to it.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGPIPE);
        set.assume_init()
    }
}

fn sigpipe_pending() -> bool {
    let mut pending = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigpending fills the set it is given; sigismember reads it only then.
    unsafe {
        libc::sigpending(pending.as_mut_ptr()) == 0
            && libc::sigismember(pending.as_ptr(), libc::SIGPIPE) == 1
    }
}

impl SigpipeBlocked {
    pub fn new() -> SigpipeBlocked {
        let set = sigpipe_set();
        let mut previous = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: valid sets; pthread_sigmask only changes this thread's mask.
        if unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, previous.as_mut_ptr()) } != 0 {
            // The mask is unchanged and `previous` was not written: nothing to undo.
            return SigpipeBlocked { restore: None };
        }
        // SAFETY: written by the successful call above.
        let previous_mask = unsafe { previous.assume_init() };
        // SAFETY: a valid, initialised set.
        let was_blocked = unsafe { libc::sigismember(&previous_mask, libc::SIGPIPE) } == 1;
        let ours = !was_blocked && !sigpipe_pending();
        SigpipeBlocked {
            restore: ours.then_some(previous_mask),
        }
    }
}

/// Blocks SIGPIPE in the calling thread for good: the hook of every thread the library
/// starts itself (see `transport::background`), whose signal mask is the library's own.
pub fn block_in_this_thread() {
    let set = sigpipe_set();
    // SAFETY: a valid set; pthread_sigmask only changes this thread's mask.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut()) };
}

impl Drop for SigpipeBlocked {
    fn drop(&mut self) {
        let Some(previous_mask) = self.restore else {
            return;
        };
        let set = sigpipe_set();
        let no_wait = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        while sigpipe_pending() {
            // SAFETY: valid set and timeout; takes the pending SIGPIPE without waiting.
            if unsafe { libc::sigtimedwait(&set, ptr::null_mut(), &no_wait) } < 0 {
                break;
            }
        }
        // SAFETY: restores the mask saved by `new` on this same thread.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &previous_mask, ptr::null_mut()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigpipe_is_blocked_while_held_and_restored_after() {
        let blocked_now = || {
            let mut mask = MaybeUninit::<libc::sigset_t>::uninit();
            // SAFETY: a NULL new set only reads this thread's mask into `mask`.
            unsafe {
                assert_eq!(
                    libc::pthread_sigmask(libc::SIG_BLOCK, ptr::null(), mask.as_mut_ptr()),
                    0
                );
                libc::sigismember(mask.as_ptr(), libc::SIGPIPE) == 1
            }
        };
        assert!(!blocked_now());
        {
            let _held = SigpipeBlocked::new();
            assert!(blocked_now());
        }
        assert!(!blocked_now());
    }
}
