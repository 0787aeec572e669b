//! The C ABI. The only module with `unsafe`: the boundary that stops panics
//! ([`boundary`]), typed handle casts ([`handle`]), C string helpers ([`strings`]), the
//! result envelope ([`envelope`]), SIGPIPE kept away from the host ([`sigpipe`]) and the
//! exported functions ([`api`]).

mod api;
mod boundary;
mod envelope;
mod handle;
mod sigpipe;
mod strings;

#[cfg(test)]
pub(crate) use envelope::envelope_json;
