//! The C ABI. The only module with `unsafe`: the boundary that stops panics
//! ([`boundary`]), typed handle casts ([`handle`]), C string helpers ([`strings`]) and the
//! exported functions ([`api`]).

pub mod api;
pub mod boundary;
pub mod handle;
pub mod strings;

pub use api::*;
