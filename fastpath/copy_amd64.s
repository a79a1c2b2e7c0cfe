//go:build amd64 && gc && !purego

#include "textflag.h"

// func reverseCopy(dst, src []uintptr)
// dst[i] = src[len(dst)-1-i] for i < len(dst); len(src) >= len(dst). Four,
// then two elements per step: 16-byte loads, PSHUFD swapping the halves,
// stores.
TEXT ·reverseCopy(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	LEAQ (SI)(CX*8), SI

rc_four:
	CMPQ   CX, $4
	JB     rc_two
	SUBQ   $32, SI
	MOVOU  16(SI), X0
	MOVOU  (SI), X1
	PSHUFD $0x4e, X0, X0
	PSHUFD $0x4e, X1, X1
	MOVOU  X0, (DI)
	MOVOU  X1, 16(DI)
	ADDQ   $32, DI
	SUBQ   $4, CX
	JMP    rc_four

rc_two:
	CMPQ   CX, $2
	JB     rc_one
	SUBQ   $16, SI
	MOVOU  (SI), X0
	PSHUFD $0x4e, X0, X0
	MOVOU  X0, (DI)
	ADDQ   $16, DI
	SUBQ   $2, CX
	JMP    rc_two

rc_one:
	TESTQ CX, CX
	JZ    rc_done
	MOVQ  -8(SI), AX
	MOVQ  AX, (DI)

rc_done:
	RET
