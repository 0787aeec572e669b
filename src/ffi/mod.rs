//! The C ABI. The only module with `unsafe`: the boundary that stops panics
//! ([`boundary`]), typed handle casts ([`handle`]), C string helpers ([`strings`]), the
//! result envelope ([`envelope`]), the signal mask of the library's threads ([`signals`]), the
//! exported functions ([`api`]), and those of the completion queue ([`queue`]) with its
//! readiness descriptor ([`readiness`]).

mod api;
mod boundary;
mod envelope;
mod handle;
mod json;
mod queue;
mod readiness;
// Signal masks exist only on Unix.
#[cfg(unix)]
mod signals;
#[cfg(not(unix))]
mod signals {
    pub fn block_in_this_thread() {}
    pub fn with_library_thread_mask<R>(work: impl FnOnce() -> R) -> R {
        work()
    }
}
mod strings;

#[cfg(test)]
pub(crate) use envelope::envelope_json;
