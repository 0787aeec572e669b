//go:build cgo

package altogic_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	altogic "github.com/altogic/altogic-ffi/bindings/go"
)

// emulatorURL is the base URL of the emulator TestMain started (demo app).
var emulatorURL string

// repoRoot is the root of the altogic-ffi repository.
var repoRoot, _ = filepath.Abs("../..")

// TestMain starts the emulator on a free loopback port for the tests, and stops it at the
// end. ALTOGIC_EMULATOR may name the binary; otherwise the repository's release build is
// used, built with cargo if missing.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" { // a child process of queue_test.go: nothing else in it
		os.Exit(m.Run())
	}
	// Workers enough that no execution of the tests waits in the queue.
	emu := &emulator{url: os.Getenv(emulatorURLEnv)}
	if emu.url == "" {
		var err error
		if emu, err = startEmulator("--workers", "32"); err != nil {
			fmt.Fprintln(os.Stderr, "altogic tests:", err)
			os.Exit(1)
		}
	}
	emulatorURL = emu.url
	// The completion queue's goroutine exists from the start, so that tests counting
	// goroutines before and after a call do not see it appear.
	if err := altogic.StartQueue(); err != nil {
		fmt.Fprintln(os.Stderr, "altogic tests: the completion queue could not be made:", err)
		os.Exit(1)
	}
	code := m.Run()
	emu.stop()
	for _, cleanup := range benchCleanup {
		cleanup()
	}
	os.Exit(code)
}

// emulatorURLEnv names an emulator started outside the tests, for a test binary built for
// another platform and run under an emulator of that platform (qemu, wine), from where it
// cannot start this machine's programs (scripts/test-platforms.sh). Tests that start
// programs of their own skip then (needOwnPrograms).
const emulatorURLEnv = "ALTOGIC_EMULATOR_URL"

// needOwnPrograms skips a test that starts programs of its own (an emulator, this test
// binary again) when the tests run under another platform's emulator.
func needOwnPrograms(t testing.TB) {
	t.Helper()
	if os.Getenv(emulatorURLEnv) != "" {
		t.Skipf("starts programs of its own, which a run under qemu or wine (%s set) cannot", emulatorURLEnv)
	}
}

type emulator struct {
	url string
	cmd *exec.Cmd
}

func emulatorBinary() (string, error) {
	if bin := os.Getenv("ALTOGIC_EMULATOR"); bin != "" {
		return bin, nil
	}
	bin := filepath.Join(repoRoot, "target", "release", "altogic-emulator")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	build := exec.Command("cargo", "build", "--release", "-p", "altogic-emulator")
	build.Dir, build.Stdout, build.Stderr = repoRoot, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building the emulator: %w", err)
	}
	return bin, nil
}

// startEmulator starts the emulator with extra arguments on 127.0.0.1:0 and reads the one
// line it prints once bound.
func startEmulator(args ...string) (*emulator, error) {
	bin, err := emulatorBinary()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	dieWithTests(cmd)
	cmd.Stderr = nil // its request log goes to /dev/null
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	emu := &emulator{cmd: cmd}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		s, _ := r.ReadString('\n')
		line <- s
		io.Copy(io.Discard, r)
	}()
	select {
	case s := <-line:
		const prefix = "altogic-emulator listening on "
		if !strings.HasPrefix(s, prefix) {
			emu.stop()
			return nil, fmt.Errorf("the emulator printed %q", s)
		}
		emu.url = strings.TrimSpace(strings.TrimPrefix(s, prefix))
		return emu, nil
	case <-time.After(20 * time.Second):
		emu.stop()
		return nil, fmt.Errorf("the emulator did not start within 20 s")
	}
}

func (e *emulator) stop() {
	if e.cmd == nil { // started outside
		return
	}
	e.cmd.Process.Kill()
	e.cmd.Wait()
}

// inGoroutines runs call(0) to call(n-1) in n goroutines at once, waits for them all, and
// reports every error they returned.
func inGoroutines(t *testing.T, n int, call func(g int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			if err := call(g); err != nil {
				errs <- err
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
