//go:build eal

package marsio

import "github.com/gomarsio/marsio/shm"

// attachPath names how this build attaches (Init's error messages, tests).
const attachPath = "EAL"

// attachShm lets DPDK's EAL map the daemon's memory (rte_eal_init as a
// secondary, through cgo in package shm). EAL initialises once per process:
// a second Init after Close fails with shm.ErrEAL.
func attachShm(o shm.Options) (*shm.Handle, error) {
	if o.RuntimeDir == shm.RuntimeDir(o.FilePrefix) {
		o.RuntimeDir = "" // EAL derives it from the prefix itself
	}
	return shm.AttachEAL(o, shm.EALOptions{})
}
