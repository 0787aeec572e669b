//! The signal mask of the library's own threads (the runtime's worker and its host-name
//! lookup threads, `transport::runtime`).
//!
//! Every socket of the library is read and written on those threads only: a blocking call's
//! thread waits for the result and touches no socket. A write on a socket the peer has reset
//! raises SIGPIPE, whose default action ends the process, and a C or C++ host usually keeps
//! that default; blocked in the threads that write, it is never raised, with no change to the
//! process's dispositions and no system call per call.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use std::ptr;

/// Blocks SIGPIPE, and every other signal a thread can block but those a fault raises on the
/// faulting thread itself (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS), in the calling
/// thread for good: the hook of every thread the library starts itself (see
/// `transport::runtime`), whose signal mask is the library's own. So a write on a reset
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
}
