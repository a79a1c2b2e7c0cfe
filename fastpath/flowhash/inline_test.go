package flowhash

import (
	"os/exec"
	"strings"
	"testing"
)

// TestInlining fails if a function meant to be free stops inlining.
func TestInlining(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package with -gcflags=-m")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	out, err := exec.Command(goBin, "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for _, fn := range []string{"Distribute", "hasPorts", "be16", "le16", "le32", "le64", "ld8", "crcWord32", "xxRound"} {
		if !strings.Contains(string(out)+"\n", "can inline "+fn+"\n") {
			t.Errorf("%s is no longer inlinable", fn)
		}
	}
}
