//go:build !eal

package shm_test

import "github.com/gomarsio/marsio/shm"

const ealPath = false

func attach(o shm.Options) (*shm.Handle, error) { return shm.Attach(o) }
