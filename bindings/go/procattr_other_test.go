//go:build !linux

package altogic_test

import "os/exec"

// dieWithTests: only Linux can tie a child's life to its parent's (Pdeathsig); elsewhere
// the tests' cleanup stops the child.
func dieWithTests(*exec.Cmd) {}
