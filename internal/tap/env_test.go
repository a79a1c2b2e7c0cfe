package tap

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/internal/testenv"
)

// Test environment helpers: root, iproute2, throw-away network namespaces.

// skipOrFail skips with msg, or fails when GOMARSIO_REQUIRE_ALL=1 (CI).
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	testenv.Skip(t, "%s", msg)
}

// requireNetAdmin skips unless the test can create TAPs and namespaces.
func requireNetAdmin(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root (CAP_NET_ADMIN, network namespaces): run the tests as root, e.g. sudo go test ./internal/tap/")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		skipOrFail(t, "needs /dev/net/tun: modprobe tun (or give the container the device)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "needs iproute2's ip command: apt-get install iproute2")
	}
}

var nsSeq atomic.Int32

// newNetns creates a network namespace removed at the end of the test.
func newNetns(t testing.TB) string {
	t.Helper()
	requireNetAdmin(t)
	name := fmt.Sprintf("gmtest_tap_%d_%d", os.Getpid(), nsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		skipOrFail(t, fmt.Sprintf("cannot create a network namespace (ip netns add): %v: %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	mustIP(t, name, "link", "set", "lo", "up")
	return name
}

// mustIP runs "ip -n ns args..." and returns its output.
func mustIP(t testing.TB, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// inNetns runs fn on an OS thread switched into namespace ns; sockets and
// TAPs fn creates live there. The thread is discarded afterwards (never
// unlocked), so the switch cannot leak into other goroutines.
func inNetns(ns string, fn func() error) error {
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			res <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			res <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		res <- fn()
	}()
	return <-res
}
