//go:build amd64 && gc && !purego

package fastpath

// counterAdd is CounterAdd's kernel (counter_amd64.s): load, add, plain MOV.
//
//go:noescape
func counterAdd(p *uint64, delta uint64)
