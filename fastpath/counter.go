package fastpath

import "sync/atomic"

// CounterAdd adds delta to the single-writer counter at *p and publishes the
// new value with a release store, for the per-stream counters of the
// shared-memory ABI ("written by one side only").
//
// Only one thread may ever write *p; any number may read it with an atomic
// (acquire) load. On amd64 the store is a plain MOV in assembly — x86-TSO
// makes every store a release — where sync/atomic's Store would be an XCHG
// (a full fence, ~6 ns: DESIGN.md §6). Readers see each published value
// whole (an aligned 8-byte MOV is atomic) and never a value that goes
// backwards. The pure-Go twin (purego, other architectures) uses
// sync/atomic.
func CounterAdd(p *uint64, delta uint64) { counterAdd(p, delta) }

// counterAddGo is the pure-Go kernel, always compiled so tests compare it
// with the assembly on twin memory.
func counterAddGo(p *uint64, delta uint64) { atomic.StoreUint64(p, *p+delta) }
