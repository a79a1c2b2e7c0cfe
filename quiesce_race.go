//go:build race

package marsio

import "sync/atomic"

// publishQS is the race detector's variant: the same store as sync/atomic
// (an XCHG), so the detector sees the handshake (quiesce.go).
func publishQS(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
