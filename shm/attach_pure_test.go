//go:build !eal

package shm_test

import (
	"testing"

	"github.com/gomarsio/marsio/shm"
)

const ealPath = false

func attach(o shm.Options) (*shm.Handle, error) { return shm.Attach(o) }

// inChild is for the EAL path (one EAL per process); pure Go attaches as
// often as it likes.
func inChild(*testing.T) bool { return false }
