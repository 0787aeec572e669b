//go:build cgo

package altogic

// #include <stdlib.h>
import "C"

import "unsafe"

// altogicGoLog is the library's log callback (log.go registers it). It runs on the
// library's threads, which are not Go's (cgo makes them Go's for the call), and on threads
// inside library calls, several at once; it calls nothing of the library's. record is
// borrowed for the call: it is copied first.
//
// A handler that panics loses its record, as the library's own sinks do: a panic cannot
// unwind through the library's frames.
//
//export altogicGoLog
func altogicGoLog(level C.int, record *C.char, _ unsafe.Pointer) {
	defer func() { _ = recover() }()
	logRecord(int(level), []byte(C.GoString(record)))
}
