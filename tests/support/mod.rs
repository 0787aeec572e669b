pub mod fixture;
pub mod tls;
