//go:build amd64 && gc && !purego

#include "go_asm.h"
#include "textflag.h"

// Registers of crcKeysSSE42.
#define keys SI
#define cnt CX
#define seedr R9
#define outp DI
#define klen AX
#define words DX
#define off R8
#define c0 R10
#define c1 R11
#define c2 R12
#define c3 R13

// func crcKeysSSE42(k *key, n int, seed uint32, out *uint32)
//
// Four keys of equal length are hashed with their four CRC32 chains
// interleaved (latency 3, throughput 1 per cycle); a key whose length
// differs from its neighbours' is hashed alone.
TEXT ·crcKeysSSE42(SB), NOSPLIT, $0-32
	MOVQ k+0(FP), keys
	MOVQ n+8(FP), cnt
	MOVL seed+16(FP), seedr
	MOVQ out+24(FP), outp

quad:
	CMPQ cnt, $4
	JB   tail
	MOVL key_n(keys), klen
	CMPL klen, (key__size+key_n)(keys)
	JNE  one
	CMPL klen, (key__size*2+key_n)(keys)
	JNE  one
	CMPL klen, (key__size*3+key_n)(keys)
	JNE  one
	TESTL klen, klen
	JZ   zero4
	MOVL seedr, c0
	MOVL seedr, c1
	MOVL seedr, c2
	MOVL seedr, c3
	MOVL klen, words
	SHRL $3, words
	XORL off, off

loop4:
	CRC32Q (keys)(off*1), c0
	CRC32Q key__size(keys)(off*1), c1
	CRC32Q (key__size*2)(keys)(off*1), c2
	CRC32Q (key__size*3)(keys)(off*1), c3
	ADDQ   $8, off
	DECL   words
	JNZ    loop4
	TESTL  $4, klen
	JZ     store4
	CRC32L (keys)(off*1), c0
	CRC32L key__size(keys)(off*1), c1
	CRC32L (key__size*2)(keys)(off*1), c2
	CRC32L (key__size*3)(keys)(off*1), c3

store4:
	MOVL c0, (outp)
	MOVL c1, 4(outp)
	MOVL c2, 8(outp)
	MOVL c3, 12(outp)
	ADDQ $(key__size*4), keys
	ADDQ $16, outp
	SUBQ $4, cnt
	JMP  quad

zero4:
	MOVQ $0, (outp)
	MOVQ $0, 8(outp)
	ADDQ $(key__size*4), keys
	ADDQ $16, outp
	SUBQ $4, cnt
	JMP  quad

tail:
	TESTQ cnt, cnt
	JZ    done

	// One key alone: its length differs from a neighbour's, or fewer
	// than four are left.
one:
	MOVL  key_n(keys), klen
	XORL  c0, c0
	TESTL klen, klen
	JZ    store1
	MOVL  seedr, c0
	MOVL  klen, words
	SHRL  $3, words
	XORL  off, off

loop1:
	CRC32Q (keys)(off*1), c0
	ADDQ   $8, off
	DECL   words
	JNZ    loop1
	TESTL  $4, klen
	JZ     store1
	CRC32L (keys)(off*1), c0

store1:
	MOVL c0, (outp)
	ADDQ $key__size, keys
	ADDQ $4, outp
	DECQ cnt
	JMP  quad

done:
	RET
