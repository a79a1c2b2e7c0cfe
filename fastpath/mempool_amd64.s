//go:build amd64 && gc && !purego

#include "go_asm.h"
#include "textflag.h"

// Mempool cache fast paths for amd64: the cache-hit get and the cache-fit
// put of rte_mempool_do_generic_get/put (DPDK 22.11) in one call each. A
// miss tail-calls the Go slow path (same signature), so the Go methods stay
// one inlinable call. The cache belongs to the calling thread: no ordering
// is involved. Requests of 16 objects or more are copied 32 bytes at a time
// with AVX2 where the CPU has it (useAVX2), sixteen per step; others, and
// all without AVX2, 16 bytes at a time (SSE2, the amd64 baseline), eight per
// step. A get reverses them (the cache is a stack: dst[i] =
// cache.objs[len-1-i]): VPERMQ $0x1b reverses four, PSHUFD $0x4e swaps a
// pair.

#define CACHE DI
#define OBJS SI
#define N CX
#define LEN AX
#define DST R11

// func mempoolGet(c unsafe.Pointer, objs *uintptr, n int, mp *Mempool) error
TEXT ·mempoolGet(SB), NOSPLIT, $0-48
	MOVQ c+0(FP), CACHE
	TESTQ CACHE, CACHE
	JZ   get_slow
	MOVQ n+16(FP), N
	MOVL const_cacheOffLen(CACHE), LEN
	CMPQ LEN, N
	JB   get_slow                   // cache->len < n: not a hit
	SUBQ N, LEN
	MOVL LEN, const_cacheOffLen(CACHE) // cache->len -= n
	MOVQ objs+8(FP), DST
	// SI: one past the last object taken (&cache->objs[old len]).
	LEAQ const_cacheOffObjs(CACHE)(LEN*8), SI
	LEAQ (SI)(N*8), SI
	CMPB ·useAVX2(SB), $0
	JEQ  get_eight
	CMPQ N, $16
	JB   get_eight

get_y16:
	SUBQ    $128, SI
	VMOVDQU 96(SI), Y0
	VMOVDQU 64(SI), Y1
	VMOVDQU 32(SI), Y2
	VMOVDQU (SI), Y3
	VPERMQ  $0x1b, Y0, Y0
	VPERMQ  $0x1b, Y1, Y1
	VPERMQ  $0x1b, Y2, Y2
	VPERMQ  $0x1b, Y3, Y3
	VMOVDQU Y0, (DST)
	VMOVDQU Y1, 32(DST)
	VMOVDQU Y2, 64(DST)
	VMOVDQU Y3, 96(DST)
	ADDQ    $128, DST
	SUBQ    $16, N
	CMPQ    N, $16
	JAE     get_y16

get_y4:
	CMPQ    N, $4
	JB      get_yend
	SUBQ    $32, SI
	VMOVDQU (SI), Y0
	VPERMQ  $0x1b, Y0, Y0
	VMOVDQU Y0, (DST)
	ADDQ    $32, DST
	SUBQ    $4, N
	JMP     get_y4

get_yend:
	VZEROUPPER
	JMP get_two

get_eight:
	CMPQ   N, $8
	JB     get_four
	SUBQ   $64, SI
	MOVOU  48(SI), X0
	MOVOU  32(SI), X1
	MOVOU  16(SI), X2
	MOVOU  (SI), X3
	PSHUFD $0x4e, X0, X0
	PSHUFD $0x4e, X1, X1
	PSHUFD $0x4e, X2, X2
	PSHUFD $0x4e, X3, X3
	MOVOU  X0, (DST)
	MOVOU  X1, 16(DST)
	MOVOU  X2, 32(DST)
	MOVOU  X3, 48(DST)
	ADDQ   $64, DST
	SUBQ   $8, N
	JMP    get_eight

get_four:
	CMPQ   N, $4
	JB     get_two
	SUBQ   $32, SI
	MOVOU  16(SI), X0
	MOVOU  (SI), X1
	PSHUFD $0x4e, X0, X0
	PSHUFD $0x4e, X1, X1
	MOVOU  X0, (DST)
	MOVOU  X1, 16(DST)
	ADDQ   $32, DST
	SUBQ   $4, N

get_two:
	CMPQ   N, $2
	JB     get_one
	SUBQ   $16, SI
	MOVOU  (SI), X0
	PSHUFD $0x4e, X0, X0
	MOVOU  X0, (DST)
	ADDQ   $16, DST
	SUBQ   $2, N

get_one:
	TESTQ N, N
	JZ    get_done
	MOVQ  -8(SI), R8
	MOVQ  R8, (DST)

get_done:
	MOVQ $0, ret_itable+32(FP)
	MOVQ $0, ret_data+40(FP)
	RET

get_slow:
	JMP ·mempoolGetSlow(SB)

// func mempoolPut(c unsafe.Pointer, objs *uintptr, n int, mp *Mempool)
TEXT ·mempoolPut(SB), NOSPLIT, $0-32
	MOVQ c+0(FP), CACHE
	TESTQ CACHE, CACHE
	JZ   put_slow
	MOVQ n+16(FP), N
	MOVL const_cacheOffLen(CACHE), LEN
	MOVL const_cacheOffFlushthresh(CACHE), DX
	LEAQ (LEN)(N*1), BX
	CMPQ BX, DX
	JHI  put_slow                   // cache->len + n > flushthresh: not a fit
	MOVL BX, const_cacheOffLen(CACHE) // cache->len += n
	LEAQ const_cacheOffObjs(CACHE)(LEN*8), DST
	MOVQ objs+8(FP), OBJS
	CMPB ·useAVX2(SB), $0
	JEQ  put_eight
	CMPQ N, $16
	JB   put_eight

put_y16:
	VMOVDQU (OBJS), Y0
	VMOVDQU 32(OBJS), Y1
	VMOVDQU 64(OBJS), Y2
	VMOVDQU 96(OBJS), Y3
	VMOVDQU Y0, (DST)
	VMOVDQU Y1, 32(DST)
	VMOVDQU Y2, 64(DST)
	VMOVDQU Y3, 96(DST)
	ADDQ    $128, OBJS
	ADDQ    $128, DST
	SUBQ    $16, N
	CMPQ    N, $16
	JAE     put_y16

put_y4:
	CMPQ    N, $4
	JB      put_yend
	VMOVDQU (OBJS), Y0
	VMOVDQU Y0, (DST)
	ADDQ    $32, OBJS
	ADDQ    $32, DST
	SUBQ    $4, N
	JMP     put_y4

put_yend:
	VZEROUPPER
	JMP put_two

put_eight:
	CMPQ  N, $8
	JB    put_four
	MOVOU (OBJS), X0
	MOVOU 16(OBJS), X1
	MOVOU 32(OBJS), X2
	MOVOU 48(OBJS), X3
	MOVOU X0, (DST)
	MOVOU X1, 16(DST)
	MOVOU X2, 32(DST)
	MOVOU X3, 48(DST)
	ADDQ  $64, OBJS
	ADDQ  $64, DST
	SUBQ  $8, N
	JMP   put_eight

put_four:
	CMPQ  N, $4
	JB    put_two
	MOVOU (OBJS), X0
	MOVOU 16(OBJS), X1
	MOVOU X0, (DST)
	MOVOU X1, 16(DST)
	ADDQ  $32, OBJS
	ADDQ  $32, DST
	SUBQ  $4, N

put_two:
	CMPQ  N, $2
	JB    put_one
	MOVOU (OBJS), X0
	MOVOU X0, (DST)
	ADDQ  $16, OBJS
	ADDQ  $16, DST
	SUBQ  $2, N

put_one:
	TESTQ N, N
	JZ    put_done
	MOVQ  (OBJS), R8
	MOVQ  R8, (DST)

put_done:
	RET

put_slow:
	JMP ·mempoolPutSlow(SB)
