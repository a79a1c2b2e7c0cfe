// Package attachbench measures the time from "attach" to a usable handle on
// a running DPDK primary, by the pure-Go path (shm.Attach) and by DPDK's EAL
// (shm.AttachEAL, rte_eal_init as a secondary) on the same primary in the
// same run. EAL can be initialised once per process, so each EAL sample is a
// child process (built with -tags eal) that times AttachEAL from the inside;
// process start-up is not counted against EAL. Pure-Go samples run
// in-process (Pure) or in the same child (Child with path "go"), which is
// what a caller with its own EAL (mrbench) must use.
//
// It is the measurement behind the mrbench "attach" suite.
package attachbench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomarsio/marsio/shm"
)

// Result summarises n samples of one path.
type Result struct {
	Path    string          // "go" or "eal"
	Samples []time.Duration // sorted
	Pages   int             // hugepages mapped per attach
	Bytes   uint64          // bytes of hugepage memory per attach
}

// Median returns the median sample.
func (r Result) Median() time.Duration { return r.Samples[len(r.Samples)/2] }

// Min returns the fastest sample.
func (r Result) Min() time.Duration { return r.Samples[0] }

// Max returns the slowest sample.
func (r Result) Max() time.Duration { return r.Samples[len(r.Samples)-1] }

// Pure attaches n times to the primary with prefix (Detach outside the
// timed part) and returns the times from the call to a handle with the
// rte_mp socket bound.
func Pure(prefix string, n int) (Result, error) {
	r := Result{Path: "go"}
	for i := 0; i < n; i++ {
		t0 := time.Now()
		h, err := shm.Attach(shm.Options{FilePrefix: prefix})
		d := time.Since(t0)
		if err != nil {
			return r, err
		}
		st := h.Stats()
		r.Pages, r.Bytes = st.Pages, st.Bytes
		if err := h.Detach(); err != nil {
			return r, err
		}
		r.Samples = append(r.Samples, d)
	}
	slices.Sort(r.Samples)
	return r, nil
}

// Children are the two builds of the child program.
type Children struct {
	Go  string // CGO_ENABLED=0, as a pure-Go user of shm builds
	EAL string // -tags eal (cgo, links DPDK)
}

// BuildChildren builds the child program twice into dir: statically
// without cgo for the Go path (a cgo binary linked with DPDK starts a few
// hundred threads in library constructors, which would weigh on the Go
// path's timing on a small machine) and with -tags eal for the EAL path.
// moduleDir is the repository root.
func BuildChildren(moduleDir, dir string) (Children, error) {
	c := Children{Go: filepath.Join(dir, "attachbench-go"), EAL: filepath.Join(dir, "attachbench-eal")}
	for _, b := range []struct {
		out  string
		args []string
		env  string
	}{
		{c.Go, nil, "CGO_ENABLED=0"},
		{c.EAL, []string{"-tags", "eal"}, "CGO_ENABLED=1"},
	} {
		args := append([]string{"build"}, b.args...)
		cmd := exec.Command("go", append(args, "-o", b.out, "./internal/attachbench/child")...)
		cmd.Dir = moduleDir
		cmd.Env = append(os.Environ(), b.env)
		if out, err := cmd.CombinedOutput(); err != nil {
			return c, fmt.Errorf("attachbench: build child (%s): %w\n%s", b.env, err, out)
		}
	}
	return c, nil
}

// Run runs the child for path ("go" or "eal") n times against the primary.
func (c Children) Run(prefix, path string, n int) (Result, error) {
	bin := c.Go
	if path == "eal" {
		bin = c.EAL
	}
	return Child(bin, prefix, path, n)
}

// Child runs the child n times against the primary with prefix, attaching
// by path ("go" or "eal").
func Child(child, prefix, path string, n int) (Result, error) {
	r := Result{Path: path}
	for i := 0; i < n; i++ {
		cmd := exec.Command(child, "-file-prefix", prefix, "-path", path)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return r, fmt.Errorf("attachbench: %s child: %w\n%s", path, err, out.String())
		}
		var ns int64
		for _, f := range strings.Fields(out.String()) {
			if v, ok := strings.CutPrefix(f, "elapsed_ns="); ok {
				ns, _ = strconv.ParseInt(v, 10, 64)
			}
			if v, ok := strings.CutPrefix(f, "pages="); ok {
				r.Pages, _ = strconv.Atoi(v)
			}
			if v, ok := strings.CutPrefix(f, "bytes="); ok {
				r.Bytes, _ = strconv.ParseUint(v, 10, 64)
			}
		}
		if ns == 0 {
			return r, fmt.Errorf("attachbench: %s child printed no elapsed_ns:\n%s", path, out.String())
		}
		r.Samples = append(r.Samples, time.Duration(ns))
	}
	slices.Sort(r.Samples)
	return r, nil
}

// Report formats results as a small table with the EAL/Go ratio.
func Report(goRes, ealRes Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "attach to a primary with %d hugepages (%d MiB)\n", goRes.Pages, goRes.Bytes>>20)
	fmt.Fprintf(&b, "%-4s %8s %10s %10s %10s\n", "path", "samples", "median", "min", "max")
	for _, r := range []Result{goRes, ealRes} {
		if len(r.Samples) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%-4s %8d %10v %10v %10v\n", r.Path, len(r.Samples),
			r.Median().Round(time.Microsecond), r.Min().Round(time.Microsecond), r.Max().Round(time.Microsecond))
	}
	if len(goRes.Samples) > 0 && len(ealRes.Samples) > 0 {
		fmt.Fprintf(&b, "EAL / Go (median): %.1fx\n", float64(ealRes.Median())/float64(goRes.Median()))
	}
	return b.String()
}
