package marsio

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"unsafe"
)

const childEnv = "MARSIO_TEST_CHILD"

// isolate runs the calling top-level test in a child process of this test
// binary when the build attaches through DPDK's EAL, which can initialise
// only once per process. It returns true in the parent (the test is done:
// the child's verdict is the parent's) and false where the test body should
// run.
func isolate(t *testing.T) bool {
	t.Helper()
	if attachPath != "EAL" || os.Getenv(childEnv) == t.Name() {
		return false
	}
	args := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count=1", "-test.v"}
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.timeout") {
			args = append(args, a)
		}
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("child process (EAL attach):\n%s", out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skip("skipped in the child")
	}
	return true
}

func unsafePointer(p *uint64) unsafe.Pointer { return unsafe.Pointer(p) }
