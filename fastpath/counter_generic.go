//go:build !(amd64 && gc && !purego)

package fastpath

func counterAdd(p *uint64, delta uint64) { counterAddGo(p, delta) }
