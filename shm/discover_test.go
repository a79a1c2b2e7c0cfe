package shm_test

import (
	"os"
	"testing"

	"github.com/gomarsio/marsio/shm"
)

func TestRuntimeDir(t *testing.T) {
	t.Setenv("RUNTIME_DIRECTORY", "/run/svc")
	if got := shm.RuntimeDir("p1"); got != "/run/svc/dpdk/p1" {
		t.Errorf("with RUNTIME_DIRECTORY: %s", got)
	}
	t.Setenv("RUNTIME_DIRECTORY", "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	want := "/run/user/1000/dpdk/rte"
	if os.Getuid() == 0 {
		want = "/var/run/dpdk/rte"
	}
	if got := shm.RuntimeDir(""); got != want {
		t.Errorf("RuntimeDir(\"\") = %s, want %s", got, want)
	}
}

func TestVersionString(t *testing.T) {
	if s := shm.VersionString(0x160b0b63); s != "22.11.11" {
		t.Errorf("VersionString(0x160b0b63) = %s", s)
	}
}
