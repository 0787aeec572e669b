pub mod child;
pub mod fixture;
pub mod proxy;
pub mod socks;
pub mod tls;
