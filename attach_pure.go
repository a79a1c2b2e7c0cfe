//go:build !eal

package marsio

import "github.com/gomarsio/marsio/shm"

// attachPath names how this build attaches (Init's error messages, tests).
const attachPath = "pure Go"

// attachShm maps the daemon's memory in pure Go (package shm).
func attachShm(o shm.Options) (*shm.Handle, error) { return shm.Attach(o) }
