//go:build eal

// Command ealchild times shm.AttachEAL (rte_eal_init as a secondary) from
// the inside and prints "elapsed_ns=N pages=P". attachbench runs it once
// per sample, since EAL initialises once per process.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gomarsio/marsio/shm"
)

func main() {
	prefix := flag.String("file-prefix", shm.DefaultFilePrefix, "the primary's --file-prefix")
	flag.Parse()
	t0 := time.Now()
	h, err := shm.AttachEAL(shm.Options{FilePrefix: *prefix}, shm.EALOptions{})
	d := time.Since(t0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ealchild:", err)
		os.Exit(1)
	}
	fmt.Printf("elapsed_ns=%d pages=%d\n", d.Nanoseconds(), h.Stats().Pages)
	_ = h.Detach()
}
