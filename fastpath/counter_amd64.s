//go:build amd64 && gc && !purego

#include "textflag.h"

// Single-writer counter publish. C0: the MOV store is a release on x86-TSO
// (not reordered with the caller's earlier stores, such as a ring tail it
// pairs with); readers pair it with an atomic load (acquire).

#define P DI
#define V AX

// func counterAdd(p *uint64, delta uint64)
TEXT ·counterAdd(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), P
	MOVQ (P), V
	ADDQ delta+8(FP), V
	MOVQ V, (P) // C0: release store
	RET
