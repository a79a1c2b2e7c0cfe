// Package e2eref is the C side of mrbench's e2e suite and its
// cgo-binding-style Go variants. Each runs in its own process, an EAL
// secondary of a running mrzcpd (cgo, `pkg-config libdpdk`), which registers
// with the daemon over rte_mp exactly as docs/ABI.md says
// (instance_alive_register with one end of a socketpair, then
// vdev_instance_request for one rx and one tx stream) and then runs the
// receive → touch → send loop on the stream rings:
//
//   - [Session.RunC]: the C reference. The whole loop is C
//     (rte_ring_dequeue_burst, the touch, rte_ring_enqueue_burst; DPDK's
//     inline ring code); Go makes one cgo call per measured phase.
//   - [Session.RunCgoBurst]: a Go loop that crosses cgo twice per burst
//     (dequeue burst, enqueue burst), as Go DPDK bindings wrap
//     rte_ring_*_burst; the touch is Go.
//   - [Session.RunCgoPacket]: a Go loop that crosses cgo twice per packet
//     (rte_ring_dequeue, rte_ring_enqueue); the touch is Go.
//
// Every loop follows the same rules as the pure-Go marsio app of the suite
// (tools/mrbench): poll with the given burst; touch each packet ([Touch]:
// read the IPv4 4-tuple, fold it into a sum, count it); send it back on the
// tx stream, freeing what the ring refuses; when a poll finds the ring empty,
// sleep (nanosleep, timer slack 1 µs) so that the loop's CPU time measures
// the packets it handled, not the time it spent waiting for the daemon. The
// CPU time spent inside those sleeps is measured and reported apart. The
// clock is read only on an empty poll and every 256 busy polls.
//
// Only tools/mrbench imports this package.
package e2eref

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -O3 -I${SRCDIR}/../../gen/abi -Wno-deprecated-declarations
#include <stdlib.h>
#include "e2eref.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/gomarsio/marsio/fastpath"
)

// ErrEAL reports that EAL could not be initialised as a secondary.
var ErrEAL = errors.New("e2eref: EAL secondary init failed")

// ErrDaemon reports that the daemon refused or did not answer a request.
var ErrDaemon = errors.New("e2eref: daemon request failed")

// MaxBurst is the largest burst a loop takes.
const MaxBurst = C.E2E_MAX_BURST

// Stats is what one measured phase did (mirrors struct e2e_stats).
type Stats struct {
	Pkts       uint64 `json:"pkts"`          // received, touched, sent (or dropped on a full tx ring)
	WallNs     uint64 `json:"wall_ns"`       // phase duration (CLOCK_MONOTONIC)
	CPUNs      uint64 `json:"cpu_ns"`        // loop thread CPU time
	SleepCPUNs uint64 `json:"sleep_cpu_ns"`  // thread CPU inside the idle sleeps
	Sleeps     uint64 `json:"sleeps"`        // empty polls that slept
	SleepWall  uint64 `json:"sleep_wall_ns"` // wall time inside those sleeps
	TxDrops    uint64 `json:"tx_drops"`      // tx ring full: freed
	IPv4       uint64 `json:"ipv4"`          // packets whose 4-tuple was read
	Sum        uint64 `json:"sum"`           // xor of 4-tuples
}

// BusyNs is the loop's CPU time minus the time inside idle sleeps.
func (s *Stats) BusyNs() uint64 {
	if s.SleepCPUNs > s.CPUNs {
		return 0
	}
	return s.CPUNs - s.SleepCPUNs
}

// InitEAL initialises EAL as a secondary of the primary with file prefix
// prefix, its main lcore on cpu. Call it once per process, from a goroutine
// locked to its OS thread: that thread becomes the EAL main lcore and must
// run the loops.
func InitEAL(prefix string, cpu int) error {
	args := []string{"e2eref", "--proc-type=secondary", "--file-prefix", prefix, "--no-pci",
		"-l", fmt.Sprint(cpu), "--log-level", "lib.eal:error"}
	argv := make([]*C.char, len(args)+1)
	for i, a := range args {
		argv[i] = C.CString(a) // EAL keeps pointers into argv: never freed
	}
	cargv := (**C.char)(C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof(argv[0]))))
	copy(unsafe.Slice(cargv, len(argv)), argv)
	var eb [256]C.char
	if C.e2e_eal_init(C.int(len(args)), cargv, &eb[0], C.int(len(eb))) != 0 {
		return fmt.Errorf("%w: %s (args %q)", ErrEAL, C.GoString(&eb[0]), args)
	}
	C.e2e_set_timerslack()
	return nil
}

// CleanupEAL releases EAL (rte_eal_cleanup).
func CleanupEAL() { C.e2e_eal_cleanup() }

// Session is a vdev opened by this process through the daemon.
type Session struct {
	s C.struct_e2e_session
}

// Attach registers appsym with the daemon and opens devsym with one rx and
// one tx stream.
func Attach(appsym, devsym string) (*Session, error) {
	ca, cd := C.CString(appsym), C.CString(devsym)
	defer C.free(unsafe.Pointer(ca))
	defer C.free(unsafe.Pointer(cd))
	s := &Session{}
	var eb [256]C.char
	if C.e2e_attach(ca, cd, &s.s, &eb[0], C.int(len(eb))) != 0 {
		C.e2e_detach(&s.s, &eb[128], 128)
		return nil, fmt.Errorf("%w: %s", ErrDaemon, C.GoString(&eb[0]))
	}
	return s, nil
}

// Close closes the vdev and deregisters.
func (s *Session) Close() error {
	var eb [256]C.char
	if C.e2e_detach(&s.s, &eb[0], C.int(len(eb))) != 0 {
		return fmt.Errorf("%w: %s", ErrDaemon, C.GoString(&eb[0]))
	}
	return nil
}

// Slot is the application slot the daemon gave this process.
func (s *Session) Slot() int { return int(s.s.slot) }

// RunC runs the C reference loop: warm unmeasured, then dur measured. The
// busy loop is C; this Go function only takes the idle sleeps, the same
// ones every variant takes (see e2e_run_c_step).
func (s *Session) RunC(burst int, warm, dur, sleep time.Duration) Stats {
	cs := (*C.struct_e2e_cstate)(C.calloc(1, C.sizeof_struct_e2e_cstate))
	defer C.free(unsafe.Pointer(cs))
	C.e2e_run_c_begin(cs, C.uint64_t(warm), C.uint64_t(dur))
	b := C.uint32_t(clampBurst(burst))
	for C.e2e_run_c_step(&s.s, b, cs) != 0 {
		c0, t0 := ThreadCPUNs(), monoNs()
		Sleep(sleep)
		C.e2e_run_c_slept(cs, C.uint64_t(ThreadCPUNs()-c0), C.uint64_t(monoNs()-t0))
	}
	st := &cs.st
	return Stats{Pkts: uint64(st.pkts), WallNs: uint64(st.wall_ns), CPUNs: uint64(st.cpu_ns),
		SleepCPUNs: uint64(st.sleep_cpu_ns), Sleeps: uint64(st.sleeps), SleepWall: uint64(st.sleep_wall_ns),
		TxDrops: uint64(st.tx_drops), IPv4: uint64(st.ipv4), Sum: uint64(st.sum)}
}

func clampBurst(b int) int { return max(1, min(b, MaxBurst)) }

// RunCgoBurst runs the Go loop that crosses cgo once per ring operation on
// a whole burst (dequeue burst, enqueue burst).
func (s *Session) RunCgoBurst(burst int, warm, dur, sleep time.Duration) Stats {
	burst = clampBurst(burst)
	rx, tx, off := C.uintptr_t(s.s.rx_ring), C.uintptr_t(s.s.tx_ring), s.s.owner_off
	objs := make([]uintptr, burst)
	cobjs := (*C.uintptr_t)(unsafe.Pointer(&objs[0]))
	var ph phase
	ph.start(warm, dur)
	for {
		n := int(C.e2e_dequeue_burst(rx, cobjs, C.unsigned(burst)))
		if ph.poll(n, sleep) {
			break
		}
		if n == 0 {
			continue
		}
		for _, o := range objs[:n] {
			Touch(fastpath.Mbuf(o).Data(), ph.c)
		}
		k := int(C.e2e_enqueue_burst(tx, off, cobjs, C.unsigned(n)))
		ph.c.TxDrops += uint64(n - k)
		ph.c.Pkts += uint64(n)
	}
	return ph.finish()
}

// RunCgoPacket runs the Go loop that crosses cgo once per ring operation on
// one packet (rte_ring_dequeue, rte_ring_enqueue): a burst is burst such
// calls, stopping early when the ring is empty.
func (s *Session) RunCgoPacket(burst int, warm, dur, sleep time.Duration) Stats {
	burst = clampBurst(burst)
	rx, tx, off := C.uintptr_t(s.s.rx_ring), C.uintptr_t(s.s.tx_ring), s.s.owner_off
	objs := make([]uintptr, burst)
	var obj C.uintptr_t
	var ph phase
	ph.start(warm, dur)
	for {
		n := 0
		for n < burst && C.e2e_dequeue(rx, &obj) == 0 {
			objs[n] = uintptr(obj)
			n++
		}
		if ph.poll(n, sleep) {
			break
		}
		if n == 0 {
			continue
		}
		for _, o := range objs[:n] {
			Touch(fastpath.Mbuf(o).Data(), ph.c)
			if C.e2e_enqueue(tx, off, C.uintptr_t(o)) != 0 {
				ph.c.TxDrops++
			}
		}
		ph.c.Pkts += uint64(n)
	}
	return ph.finish()
}

// SleepCalibrate returns the mean wall time of n idle sleeps of d taken in
// C (nanosleep), as e2e_run_c takes them.
func SleepCalibrate(n int, d time.Duration) time.Duration {
	return time.Duration(C.e2e_sleep_calibrate(C.int(n), C.uint64_t(d)))
}
