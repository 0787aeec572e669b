//go:build cgo && !unix

package altogic

import "os"

// pollerFile returns nil: off Unix the queue's goroutine waits in altogic_queue_next
// (queue.go), holding one OS thread.
func pollerFile(fd int) *os.File { return nil }
