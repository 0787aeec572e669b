//! The C ABI. The only module with `unsafe` (but for `process` and `signals`): the boundary
//! that stops panics ([`boundary`]), typed handle casts ([`handle`]), C string helpers
//! ([`strings`]), the result envelope ([`envelope`]), the exported functions ([`api`]),
//! those of the completion queue ([`queue`]) with its readiness descriptor ([`readiness`]),
//! and the log callback ([`log`]).

mod api;
mod boundary;
mod envelope;
mod handle;
mod json;
mod log;
mod queue;
mod readiness;
mod strings;

#[cfg(test)]
pub(crate) use envelope::envelope_json;
