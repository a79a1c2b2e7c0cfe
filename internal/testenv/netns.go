package testenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// RequireNetAdmin skips (fails under GOMARSIO_REQUIRE_ALL=1) unless the test
// can create TAP interfaces and network namespaces: root, /dev/net/tun and
// iproute2's ip command.
func RequireNetAdmin(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root (CAP_NET_ADMIN, network namespaces): run the tests as root")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		Skip(t, "needs /dev/net/tun: modprobe tun (or give the container the device)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		Skip(t, "needs iproute2's ip command: apt-get install iproute2")
	}
}

var netnsSeq atomic.Int32

// NewNetns creates a network namespace named gmtest_<tag>_<pid>_<n> with
// its loopback up, and removes it when the test ends.
func NewNetns(t testing.TB, tag string) string {
	t.Helper()
	RequireNetAdmin(t)
	name := fmt.Sprintf("gmtest_%s_%d_%d", tag, os.Getpid(), netnsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		Skip(t, "cannot create a network namespace (ip netns add): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	IP(t, name, "link", "set", "lo", "up")
	return name
}

// IP runs "ip -n ns args..." ("ip args..." in the test's own namespace
// when ns is empty) and returns its output; a failure fails the test.
func IP(t testing.TB, ns string, args ...string) string {
	t.Helper()
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// InNetns runs fn on an OS thread switched into namespace ns; sockets and
// TAPs fn creates live there. The thread is discarded afterwards (never
// unlocked), so the switch cannot leak into other goroutines.
func InNetns(ns string, fn func() error) error {
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

// StartInNetns runs this test binary again inside namespace ns with args
// and the extra environment env (ip netns exec execs it in place: the
// command's process is the child), waits for the child's first line on
// stdout and returns the command and that line, trimmed. The child is
// killed when the test ends.
func StartInNetns(t testing.TB, ns string, env []string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, exe}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	return cmd, strings.TrimSpace(line)
}

// DropNetAdmin drops CAP_NET_ADMIN from the effective set of the calling
// OS thread only (capabilities are per thread). Call it inside InNetns,
// whose locked thread is discarded afterwards, so the drop cannot leak.
func DropNetAdmin() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[0].Effective &^= 1 << unix.CAP_NET_ADMIN
	return unix.Capset(&hdr, &data[0])
}
