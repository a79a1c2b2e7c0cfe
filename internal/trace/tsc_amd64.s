//go:build amd64 && gc && !purego

#include "textflag.h"

// func rdtsc() uint64
// The time-stamp counter: EDX:EAX of RDTSC as one 64-bit value. Not
// serialised (no LFENCE before it), as DPDK's rte_rdtsc: a burst's
// timestamp does not need the instruction order.
TEXT ·rdtsc(SB), NOSPLIT, $0-8
	RDTSC
	SHLQ $32, DX
	ORQ  DX, AX
	MOVQ AX, ret+0(FP)
	RET
