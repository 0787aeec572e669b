//go:build cgo && !altogic_pkgconfig

package altogic

// The default: link the repository's static library, so that Go programs need no
// libaltogic.so at run time. Build it first with `cargo build --release -p altogic --lib`
// in the repository root. The Rust runtime in it needs pthread, dl and m.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libaltogic.a -lpthread -ldl -lm
import "C"
