//go:build eal

package shm_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gomarsio/marsio/shm"
)

const ealPath = true

const childEnv = "GOMARSIO_EAL_CHILD"

func attach(o shm.Options) (*shm.Handle, error) { return shm.AttachEAL(o, shm.EALOptions{}) }

// inChild runs the current test in a fresh process of this test binary
// (EAL can be initialised only once per process) and reports true in the
// parent, which should then return. In the child it reports false.
func inChild(t *testing.T) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return false
	}
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexpQuote(p) + "$"
	}
	cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(parts, "/"), "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("EAL child process for %s:\n%s", t.Name(), out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if strings.Contains(string(out), "--- SKIP: "+t.Name()) {
		t.Skip("skipped in the child")
	}
	return true
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
