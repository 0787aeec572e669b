//! SIGPIPE: a write on a socket the server has reset raises SIGPIPE, whose default action
//! ends the process. Rust programs ignore it from `main`, Python and Go do too, but a C or
//! C++ host usually does not, and the library must never end its caller's process.
//!
//! As libcurl does, each C call blocks SIGPIPE in the calling thread's signal mask for its
//! duration (every socket write of a call happens on the calling thread: see the
//! transport), then takes back a SIGPIPE that became pending meanwhile and restores the
//! mask: three system calls per call. The process's signal dispositions are never changed,
//! and a thread that had SIGPIPE blocked itself is left alone. (A SIGPIPE cannot be pending
//! for a thread that does not block it: it would have been delivered. So one pending at the
//! end came meanwhile.)

use std::mem::MaybeUninit;
use std::ptr;

/// Blocks SIGPIPE in this thread until dropped.
pub struct SigpipeBlocked {
    /// The mask to restore, and a SIGPIPE raised meanwhile to take back, on drop: None when
    /// blocking failed or when the thread had SIGPIPE blocked already (then nothing is ours
    /// to undo).
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
        SigpipeBlocked {
            restore: (!was_blocked).then_some(previous_mask),
        }
    }
}

/// Blocks SIGPIPE, and every other signal a thread can block but those a fault raises on the
/// faulting thread itself (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS), in the calling
/// thread for good: the hook of every thread the library starts itself (see
/// `transport::background`), whose signal mask is the library's own. So a write on a reset
/// connection raises nothing there, and the kernel delivers the process's signals (SIGINT,
/// SIGTERM, SIGCHLD, a Go or Python runtime's own) to the program's threads, never to ours.
pub fn block_in_this_thread() {
    let set = library_thread_set();
    // SAFETY: a valid set; pthread_sigmask only changes this thread's mask (glibc keeps its
    // own internal signals out of any set it is given).
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut()) };
}

/// Every signal but those of faults.
fn library_thread_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises the set; sigdelset removes valid signals from it.
    unsafe {
        libc::sigfillset(set.as_mut_ptr());
        for fault in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGILL,
            libc::SIGTRAP,
            libc::SIGSYS,
        ] {
            libc::sigdelset(set.as_mut_ptr(), fault);
        }
        set.assume_init()
    }
}

/// Runs `work` (which may start the library's threads) with the calling thread's signals
/// blocked as a library thread's are, then restores its mask: a thread starts with its
/// creator's mask, so no signal can reach a new library thread before it blocks them
/// itself. Signals that arrive meanwhile stay pending and are delivered once restored.
pub fn with_library_thread_mask<R>(work: impl FnOnce() -> R) -> R {
    let set = library_thread_set();
    let mut previous = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: valid sets; pthread_sigmask only changes this thread's mask.
    let blocked =
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, previous.as_mut_ptr()) } == 0;
    let result = work();
    if blocked {
        // SAFETY: restores the mask saved above, on this same thread.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, previous.as_ptr(), ptr::null_mut()) };
    }
    result
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
        // SAFETY: valid set and timeout; takes a pending SIGPIPE without waiting, and fails
        // with EAGAIN when none is (a blocked signal is pending at most once).
        unsafe { libc::sigtimedwait(&set, ptr::null_mut(), &no_wait) };
        // SAFETY: restores the mask saved by `new` on this same thread.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &previous_mask, ptr::null_mut()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_threads_block_every_signal_but_faults() {
        let mask = std::thread::spawn(|| {
            block_in_this_thread();
            let mut mask = MaybeUninit::<libc::sigset_t>::uninit();
            // SAFETY: a NULL new set only reads this thread's mask into `mask`.
            unsafe {
                libc::pthread_sigmask(libc::SIG_BLOCK, ptr::null(), mask.as_mut_ptr());
                let mask = mask.assume_init();
                [
                    libc::SIGPIPE,
                    libc::SIGINT,
                    libc::SIGTERM,
                    libc::SIGCHLD,
                    libc::SIGSEGV,
                ]
                .map(|signal| libc::sigismember(&mask, signal) == 1)
            }
        })
        .join()
        .unwrap();
        assert_eq!(mask, [true, true, true, true, false]);
    }

    #[test]
    fn threads_are_started_under_the_library_mask_and_the_callers_comes_back() {
        let blocked = |signal| {
            let mut mask = MaybeUninit::<libc::sigset_t>::uninit();
            // SAFETY: a NULL new set only reads this thread's mask into `mask`.
            unsafe {
                libc::pthread_sigmask(libc::SIG_BLOCK, ptr::null(), mask.as_mut_ptr());
                libc::sigismember(mask.as_ptr(), signal) == 1
            }
        };
        assert!(!blocked(libc::SIGINT));
        let inherited = with_library_thread_mask(|| {
            assert!(blocked(libc::SIGINT) && blocked(libc::SIGPIPE));
            std::thread::spawn(move || blocked(libc::SIGINT))
        });
        assert!(
            inherited.join().unwrap(),
            "a thread started meanwhile has it from its start"
        );
        assert!(!blocked(libc::SIGINT) && !blocked(libc::SIGPIPE));
    }

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
