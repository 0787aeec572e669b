//! Which process this is, as far as fork() goes.
//!
//! State the library keeps per process (the runtime and its connection pools, a completion
//! queue) records the process that built it, so
//! that a child forked with it can tell it inherited the state and leave it alone. The pid
//! would do, but reading it is a system call (glibc no longer caches it), and the blocking
//! calls check on every call. Instead, a `pthread_atfork` handler counts the forks that led
//! to this process: the count changes in every child made by `fork()` (C's, Python's
//! `os.fork`), and is read from memory. A child made by a raw `clone` system call that
//! skips the handlers is not noticed; such a child can only `exec`, as `posix_spawn`'s do.

#![allow(unsafe_code)]

/// The process some state was built in; compare with [`current`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessId(u64);

#[cfg(unix)]
mod forks {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Once;

    /// The forks from the first process that called [`count`] to this one.
    static FORKS: AtomicU64 = AtomicU64::new(0);

    extern "C" fn in_child() {
        // The child's only thread, before fork() returns in it.
        FORKS.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count() -> u64 {
        static REGISTER: Once = Once::new();
        // Registered before any state is built (every state reads the count first), so any
        // fork after it runs the handler.
        REGISTER.call_once(|| {
            // SAFETY: registers a handler that only increments an atomic. It fails only
            // without memory (ENOMEM); then state built here is never seen as inherited,
            // as before the library checked at all, which no test or host has reached.
            unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        });
        FORKS.load(Ordering::Relaxed)
    }
}

#[cfg(not(unix))]
mod forks {
    /// No fork() here.
    pub fn count() -> u64 {
        0
    }
}

/// This process.
pub fn current() -> ProcessId {
    ProcessId(forks::count())
}

impl ProcessId {
    /// A process that is not this one, for tests of inherited state.
    #[cfg(test)]
    pub fn other(self) -> ProcessId {
        ProcessId(self.0.wrapping_add(1))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_forked_child_is_another_process() {
        let parent = current();
        assert_eq!(current(), parent, "stable within a process");
        // SAFETY: the child only reads an atomic and exits without unwinding.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = if current() != parent { 0 } else { 1 };
            // SAFETY: ends the child at once, running no destructor of the parent's state.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for the child just made.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "child saw {status}"
        );
        assert_eq!(current(), parent, "the parent is still itself");
    }
}
