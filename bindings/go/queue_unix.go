//go:build cgo && unix

package altogic

import (
	"os"
	"syscall"
)

// pollerFile returns a duplicate of the queue's descriptor fd for Go's poller, or nil when
// there is none. A duplicate (close-on-exec from the start) is what the poller watches: an
// os.File owns and closes its descriptor, and the library's must stay the library's.
// os.NewFile registers a non-blocking descriptor with the poller (and only then); the
// library's descriptor is non-blocking, and the duplicate shares that flag.
func pollerFile(fd int) *os.File {
	if fd < 0 {
		return nil
	}
	dup, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return nil
	}
	return os.NewFile(dup, "altogic-queue")
}
