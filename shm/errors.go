package shm

import (
	"errors"
	"fmt"
)

// Sentinel errors returned (wrapped) by Attach and the look-ups; test them
// with errors.Is.
var (
	// ErrNoPrimary: no DPDK primary runs with this file prefix (no runtime
	// directory or no config file in it).
	ErrNoPrimary = errors.New("shm: no DPDK primary process")
	// ErrStalePrimary: the runtime directory exists but no process holds the
	// primary's lock on its config file: the primary died without cleaning up.
	ErrStalePrimary = errors.New("shm: stale runtime directory of a dead DPDK primary")
	// ErrVersion: the primary runs a DPDK version whose layouts this build
	// does not mirror.
	ErrVersion = errors.New("shm: DPDK version mismatch")
	// ErrNoHugepages: the primary runs without shareable hugepage memory
	// (--no-huge or --in-memory), so it cannot have secondaries.
	ErrNoHugepages = errors.New("shm: primary has no shareable hugepage memory")
	// ErrAddrInUse: an address range the primary uses is already mapped in
	// this process.
	ErrAddrInUse = errors.New("shm: address range already in use in this process")
	// ErrCorrupt: a shared file or a structure in shared memory is truncated
	// or inconsistent.
	ErrCorrupt = errors.New("shm: corrupt or truncated shared data")
	// ErrNotFound: no object of that name exists.
	ErrNotFound = errors.New("shm: not found")
	// ErrBadAddress: a pointer read from shared memory points outside the
	// memory mapped by this handle.
	ErrBadAddress = errors.New("shm: address outside mapped shared memory")
	// ErrDetached: the handle has been detached.
	ErrDetached = errors.New("shm: handle detached")
	// ErrBusy: a lock in shared memory stayed held (a writer that died?).
	ErrBusy = errors.New("shm: shared lock held too long")
)

// VersionError details ErrVersion: the DPDK version the primary runs and the
// one this build mirrors.
type VersionError struct {
	Primary uint32 // rte_mem_config.version of the primary (RTE_VERSION)
	Build   uint32 // RTE_VERSION of the layouts compiled into this build
}

// Error names both versions.
func (e *VersionError) Error() string {
	return fmt.Sprintf("shm: primary runs DPDK %s, this build mirrors DPDK %s layouts",
		VersionString(e.Primary), VersionString(e.Build))
}

// Is makes errors.Is(err, ErrVersion) true.
func (e *VersionError) Is(target error) bool { return target == ErrVersion }

// VersionString formats an RTE_VERSION word as "YY.MM.minor".
func VersionString(v uint32) string {
	return fmt.Sprintf("%d.%02d.%d", v>>24, (v>>16)&0xff, (v>>8)&0xff)
}
