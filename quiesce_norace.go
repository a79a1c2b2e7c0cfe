//go:build !race

package marsio

// publishQS stores a thread's quiescence slot with a plain store (a MOV on
// amd64; see quiesce.go for why no fence is needed on this side).
func publishQS(p *uint64, v uint64) { *p = v }
