package altogic_test

import (
	"os/exec"
	"syscall"
)

// dieWithTests makes cmd killed with the test process, even if it dies without running its
// cleanup.
func dieWithTests(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
