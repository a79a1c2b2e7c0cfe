//go:build eal

// Command child times one attach from the inside and prints
// "elapsed_ns=N pages=P": -path go uses shm.Attach (pure Go), -path eal
// shm.AttachEAL (rte_eal_init as a secondary). attachbench runs it once per
// sample, since EAL initialises once per process (and a process that runs
// its own EAL, like mrbench, already occupies the addresses a primary uses).
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

func main() {
	prefix := flag.String("file-prefix", shm.DefaultFilePrefix, "the primary's --file-prefix")
	path := flag.String("path", "eal", "go (pure Go) or eal (rte_eal_init)")
	flag.Parse()
	// A parent pinned to one CPU (mrbench) passes its affinity on: undo
	// that, so neither path is measured on a single core.
	var all unix.CPUSet
	for i := 0; i < 1024; i++ {
		all.Set(i) // the kernel keeps the online ones
	}
	if unix.SchedSetaffinity(0, &all) == nil && unix.SchedGetaffinity(0, &all) == nil {
		runtime.GOMAXPROCS(all.Count())
	}
	var (
		h   *shm.Handle
		err error
	)
	t0 := time.Now()
	switch *path {
	case "go":
		h, err = shm.Attach(shm.Options{FilePrefix: *prefix})
	case "eal":
		h, err = shm.AttachEAL(shm.Options{FilePrefix: *prefix}, shm.EALOptions{SkipProbe: true})
	default:
		err = fmt.Errorf("unknown -path %q", *path)
	}
	d := time.Since(t0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "attachbench child:", err)
		os.Exit(1)
	}
	fmt.Printf("elapsed_ns=%d pages=%d bytes=%d\n", d.Nanoseconds(), h.Stats().Pages, h.Stats().Bytes)
	_ = h.Detach()
}
