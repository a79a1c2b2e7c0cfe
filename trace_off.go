//go:build notrace

package marsio

// traceCompiled: built with notrace, the data-path trace hooks compile out.
const traceCompiled = false

// traceTxFull compiles out with notrace (see trace_on.go).
func (t *Thread) traceTxFull(d *Device, objs []uintptr) {}
