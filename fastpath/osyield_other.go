//go:build !linux

package fastpath

// osYield: outside Linux, runtime.Gosched (in stallYield) is all the waits do.
func osYield() {}
