package attachbench

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gomarsio/marsio/internal/testenv"
)

func moduleRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TestAttachSuite runs the attach measurement on a primary with 1 GiB of
// hugepages and logs the table (figures, not assertions: see
// BenchmarkAttach for the benchmark form).
func TestAttachSuite(t *testing.T) {
	tp := testenv.StartTestpmd(t, testenv.TestpmdOptions{MemMB: 1024,
		Args: []string{"--forward-mode=io", "--auto-start", "--total-num-mbufs=16384"}})
	goRes, err := Pure(tp.Prefix, 21)
	if err != nil {
		t.Fatal(err)
	}
	n := 3
	if testing.Short() {
		n = 1
	}
	kids, err := BuildChildren(moduleRoot(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ealRes, err := kids.Run(tp.Prefix, "eal", n)
	if err != nil {
		t.Fatal(err)
	}
	goChild, err := kids.Run(tp.Prefix, "go", 5)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("in-process Go:\n%s", Report(goRes, ealRes))
	t.Logf("Go in a fresh child process each:\n%s", Report(goChild, ealRes))
	if goRes.Pages < 512 {
		t.Errorf("primary with -m 1024 has %d pages mapped, want >= 512", goRes.Pages)
	}
}

// BenchmarkAttach: the pure-Go attach (to a usable handle, rte_mp socket
// bound) to a primary with 1 GiB of hugepages; Detach is not timed.
func BenchmarkAttach(b *testing.B) {
	tp := testenv.StartTestpmd(b, testenv.TestpmdOptions{MemMB: 1024,
		Args: []string{"--forward-mode=io", "--auto-start", "--total-num-mbufs=16384"}})
	var total float64
	for b.Loop() {
		r, err := Pure(tp.Prefix, 1)
		if err != nil {
			b.Fatal(err)
		}
		total += float64(r.Samples[0].Nanoseconds())
		b.ReportMetric(float64(r.Pages), "pages")
	}
}
