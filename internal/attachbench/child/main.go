// Command child times one attach from the inside and prints
// "elapsed_ns=N pages=P bytes=B": -path go uses shm.Attach (pure Go; build
// it with CGO_ENABLED=0 as a library user would), -path eal uses
// shm.AttachEAL (rte_eal_init as a secondary; build with -tags eal).
// attachbench runs it once per sample, since EAL initialises once per
// process (and a process with its own EAL, like mrbench, already occupies
// the addresses a primary uses).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/shm"
)

// attachEAL is set by eal.go in builds with -tags eal.
var attachEAL func(prefix string) (*shm.Handle, error)

func main() {
	prefix := flag.String("file-prefix", shm.DefaultFilePrefix, "the primary's --file-prefix")
	path := flag.String("path", "go", "go (pure Go) or eal (rte_eal_init; needs -tags eal)")
	flag.Parse()
	// A parent pinned to one CPU (mrbench) passes its affinity on: undo
	// that, so neither path is measured on a single core.
	var all unix.CPUSet
	for i := 0; i < 1024; i++ {
		all.Set(i) // the kernel keeps the online ones
	}
	if unix.SchedSetaffinity(0, &all) == nil {
		var now unix.CPUSet // the kernel fills only its own mask size
		if unix.SchedGetaffinity(0, &now) == nil && now.Count() > 0 {
			runtime.GOMAXPROCS(now.Count())
		}
	}
	var (
		h   *shm.Handle
		err error
	)
	t0 := time.Now()
	switch {
	case *path == "go":
		h, err = shm.Attach(shm.Options{FilePrefix: *prefix})
	case *path == "eal" && attachEAL != nil:
		h, err = attachEAL(*prefix)
	default:
		err = fmt.Errorf("-path %q not available in this build", *path)
	}
	d := time.Since(t0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "attachbench child:", err)
		os.Exit(1)
	}
	fmt.Printf("elapsed_ns=%d pages=%d bytes=%d\n", d.Nanoseconds(), h.Stats().Pages, h.Stats().Bytes)
	_ = h.Detach()
}
