package fastpath

import (
	"os/exec"
	"strings"
	"testing"
)

// TestInlining fails if a fast-path method stops being one inlinable call
// into its kernel.
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
	var fns []string
	for _, m := range []string{"SPEnqueue", "MPEnqueue", "Enqueue", "SCDequeue", "MCDequeue", "Dequeue"} {
		fns = append(fns, "Ring."+m, "Ring."+m+"Bulk", "Ring."+m+"Burst")
	}
	fns = append(fns, "Mempool.GetBulk", "Mempool.PutBulk")
	for _, fn := range fns {
		if !strings.Contains(string(out)+"\n", "can inline "+fn+"\n") {
			t.Errorf("%s is no longer inlinable", fn)
		}
	}
}
