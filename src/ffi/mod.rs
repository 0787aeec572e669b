//! The C ABI. The only module with `unsafe`: the boundary that stops panics
//! ([`boundary`]), typed handle casts ([`handle`]), C string helpers ([`strings`]), the
//! result envelope ([`envelope`]), SIGPIPE kept away from the host ([`sigpipe`]), the
//! exported functions ([`api`]), and those of the completion queue ([`queue`]) with its
//! readiness descriptor ([`readiness`]).

mod api;
mod boundary;
mod envelope;
mod handle;
mod json;
mod queue;
mod readiness;
// SIGPIPE exists only on Unix; elsewhere a socket write never raises a signal.
#[cfg(unix)]
mod sigpipe;
#[cfg(not(unix))]
mod sigpipe {
    pub fn block_in_this_thread() {}
    pub fn with_library_thread_mask<R>(work: impl FnOnce() -> R) -> R {
        work()
    }
}
mod strings;

#[cfg(test)]
pub(crate) use envelope::envelope_json;
