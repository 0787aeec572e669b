//go:build cgo && altogic_pkgconfig

package altogic

// With the build tag altogic_pkgconfig: link an installed libaltogic found through
// `pkg-config altogic` (altogic.pc gives the include directory and the library).

// #cgo pkg-config: altogic
import "C"
