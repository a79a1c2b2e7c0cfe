package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/gomarsio/marsio/ctrlproto"
	"github.com/gomarsio/marsio/zz_generated/dpdk"
)

// Requests a primary broadcasts to every secondary when its memory map
// changes (lib/eal/common/malloc_mp.c).
const (
	ActionMallocSync     = "mp_malloc_sync"
	ActionMallocRollback = "mp_malloc_rollback"
)

// struct malloc_mp_req (malloc_mp.h, 22.11 x86_64; internal, not in any
// -dev header): t at 0, id at 64, result at 72, 80 bytes.
const (
	mallocReqSize   = 80
	mallocReqT      = 0
	mallocReqID     = 64
	mallocReqResult = 72
	reqTypeSync     = 2 // REQ_TYPE_SYNC
	reqResultOK     = 0 // REQ_RESULT_SUCCESS
	reqResultFail   = 1 // REQ_RESULT_FAIL
)

// openChannel binds our rte_mp socket and answers the primary's memory-map
// requests. The primary waits MP_TIMEOUT_S (5 s) for every secondary's
// answer; Sync maps only what changed, well inside that.
func (h *Handle) openChannel() error {
	if !h.enableMP() {
		return fmt.Errorf("shm: primary disabled multi-process support (rte_mp_disable): %w", ErrNoPrimary)
	}
	ch, err := ctrlproto.Open(h.runDir, ctrlproto.Options{})
	if err != nil {
		if errors.Is(err, ctrlproto.ErrNoPrimary) {
			return fmt.Errorf("shm: %w: %w", ErrNoPrimary, err)
		}
		return fmt.Errorf("shm: %w", err)
	}
	h.ch = ch
	ch.Handle(ActionMallocSync, h.handleSync)
	ch.Handle(ActionMallocRollback, h.handleSync)
	return nil
}

// enableMP mirrors __rte_mp_enable (eal_common_proc.c set_mp_status): a
// secondary moves mp_status from UNKNOWN to ENABLED, so the primary can no
// longer rte_mp_disable while secondaries rely on IPC. mp_status is a byte
// at a 4-byte aligned offset followed by padding; Go has no 8-bit CAS, so
// the 32-bit word is swapped with its other bytes kept.
func (h *Handle) enableMP() bool {
	// The word swap needs mp_status at a 4-byte boundary (compile-time).
	var _ [1]struct{} = [1 - dpdk.OffsetofMemConfigMpStatus%4]struct{}{}
	w := (*uint32)(ptr(h.cfg + dpdk.OffsetofMemConfigMpStatus))
	for {
		old := atomic.LoadUint32(w)
		switch old & 0xff {
		case mpStatusEnabled:
			return true
		case mpStatusDisabled:
			return false
		}
		if atomic.CompareAndSwapUint32(w, old, old&^0xff|mpStatusEnabled) {
			return true
		}
	}
}

// handleSync answers mp_malloc_sync / mp_malloc_rollback like malloc_mp.c's
// handle_sync: bring the memory map up to date, then reply with the
// request's id and the result.
func (h *Handle) handleSync(m *ctrlproto.Message, _ string) (*ctrlproto.Message, error) {
	if len(m.Param) < mallocReqSize || binary.NativeEndian.Uint32(m.Param[mallocReqT:]) != reqTypeSync {
		return nil, fmt.Errorf("shm: %s: unexpected request (param %d bytes): %w", m.Name, len(m.Param), ctrlproto.ErrFrame)
	}
	err := h.Sync()
	h.syncs.Add(1)
	rep := make([]byte, mallocReqSize)
	ne := binary.NativeEndian
	ne.PutUint32(rep[mallocReqT:], reqTypeSync)
	ne.PutUint64(rep[mallocReqID:], ne.Uint64(m.Param[mallocReqID:]))
	if err != nil {
		ne.PutUint32(rep[mallocReqResult:], reqResultFail)
	} else {
		ne.PutUint32(rep[mallocReqResult:], reqResultOK)
	}
	return &ctrlproto.Message{Name: m.Name, Param: rep}, err
}
