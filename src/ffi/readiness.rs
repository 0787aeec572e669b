//! The completion queue's readiness descriptor: on Linux an eventfd (one descriptor), on
//! other Unix systems a socket pair; elsewhere none (`-1`). The queue raises it when it goes
//! from empty to non-empty and clears it when drained, both under its lock, so the
//! descriptor is readable exactly while a result waits, and every empty → non-empty
//! transition is a new readiness event, as edge-triggered pollers (Go's) need.
//!
//! The descriptors are non-blocking and close-on-exec; the caller only watches them.

#[cfg(unix)]
use crate::error::{codes, ApiError};
use crate::queue::Readiness;

#[cfg(unix)]
fn failed(what: &str, err: std::io::Error) -> ApiError {
    ApiError::client(
        codes::INTERNAL_ERROR,
        format!("could not create the completion queue's readiness descriptor ({what}): {err}"),
        None,
    )
}

#[cfg(target_os = "linux")]
mod imp {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use super::failed;
    use crate::error::ApiError;

    pub struct Signal(OwnedFd);

    impl Signal {
        pub fn new() -> Result<Signal, ApiError> {
            // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor
            // that nothing else owns.
            let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
            if fd < 0 {
                return Err(failed("eventfd", std::io::Error::last_os_error()));
            }
            // SAFETY: `fd` is a fresh descriptor owned by nobody else.
            Ok(Signal(unsafe { OwnedFd::from_raw_fd(fd) }))
        }

        pub fn raise(&self) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our own descriptor. The counter was
            // 0 (the queue raises only once between two clears), so it cannot overflow.
            unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }

        pub fn clear(&self) {
            let mut count: u64 = 0;
            // SAFETY: reads 8 bytes into a live u64 from our own non-blocking descriptor;
            // a counter already 0 answers EAGAIN and leaves it so.
            unsafe { libc::read(self.0.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        }

        pub fn fd(&self) -> i32 {
            self.0.as_raw_fd()
        }
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
mod imp {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    use super::failed;
    use crate::error::ApiError;

    /// The caller watches `read`; a byte written to `write` makes it readable.
    pub struct Signal {
        read: UnixStream,
        write: UnixStream,
    }

    impl Signal {
        pub fn new() -> Result<Signal, ApiError> {
            let (read, write) = UnixStream::pair().map_err(|err| failed("socketpair", err))?;
            for end in [&read, &write] {
                end.set_nonblocking(true)
                    .map_err(|err| failed("socketpair", err))?;
            }
            Ok(Signal { read, write })
        }

        pub fn raise(&self) {
            let _ = (&self.write).write(&[1]);
        }

        pub fn clear(&self) {
            let mut buffer = [0u8; 64];
            while matches!((&self.read).read(&mut buffer), Ok(n) if n > 0) {}
        }

        pub fn fd(&self) -> i32 {
            self.read.as_raw_fd()
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use crate::error::ApiError;

    pub struct Signal;

    impl Signal {
        pub fn new() -> Result<Signal, ApiError> {
            Ok(Signal)
        }
        pub fn raise(&self) {}
        pub fn clear(&self) {}
        pub fn fd(&self) -> i32 {
            -1
        }
    }
}

pub use imp::Signal;

impl Readiness for Signal {
    fn raise(&self) {
        Signal::raise(self);
    }
    fn clear(&self) {
        Signal::clear(self);
    }
    fn fd(&self) -> i32 {
        Signal::fd(self)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn readable(fd: i32) -> bool {
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        unsafe { libc::poll(&mut poll, 1, 0) == 1 && poll.revents & libc::POLLIN != 0 }
    }

    #[test]
    fn readable_exactly_between_raise_and_clear() {
        let signal = Signal::new().unwrap();
        assert!(signal.fd() >= 0);
        assert!(!readable(signal.fd()));
        signal.raise();
        assert!(readable(signal.fd()));
        signal.clear();
        assert!(!readable(signal.fd()));
        signal.clear();
        assert!(!readable(signal.fd()));
        signal.raise();
        assert!(readable(signal.fd()));
    }
}
