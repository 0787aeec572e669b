//! The C ABI. The only module with `unsafe`: the boundary that stops panics
//! ([`boundary`]), typed handle casts ([`handle`]), C string helpers ([`strings`]), the
//! result envelope ([`envelope`]), SIGPIPE kept away from the host ([`sigpipe`]) and the
//! exported functions ([`api`]).

mod api;
mod boundary;
mod envelope;
mod handle;
// SIGPIPE exists only on Unix; elsewhere a socket write never raises a signal.
#[cfg(unix)]
mod sigpipe;
#[cfg(not(unix))]
mod sigpipe {
    pub struct SigpipeBlocked;
    impl SigpipeBlocked {
        pub fn new() -> SigpipeBlocked {
            SigpipeBlocked
        }
    }
}
mod strings;

#[cfg(test)]
pub(crate) use envelope::envelope_json;
