//go:build !notrace

package marsio

import "github.com/gomarsio/marsio/internal/trace"

// traceCompiled: the data-path trace hooks are built in (build tag notrace
// removes them).
const traceCompiled = true

// traceTxFull records a Drop event (reason app-tx-ring-full) for each
// mbuf at objs that d's trace selects: the packets a full tx stream ring
// refused, before enqueue frees them. Off, one load and a predictable
// branch.
func (t *Thread) traceTxFull(d *Device, objs []uintptr) {
	if d.tc.On() {
		t.traceDropWords(d, objs, trace.DropAppTxRingFull)
	}
}
