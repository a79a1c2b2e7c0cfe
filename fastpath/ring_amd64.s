//go:build amd64 && gc && !purego

#include "go_asm.h"
#include "textflag.h"

// Ring kernels for amd64. Contract and labels (A0, A1, R0, R1) as in
// ring_go.go, mirroring DPDK 22.11 rte_ring_c11_pvt.h and rte_ring_elem_pvt.h.
//
// x86-TSO is what makes plain MOVs correct here: loads are not reordered with
// older loads (every load is an acquire) and stores are not reordered with
// older loads or stores (every store is a release). The assembler does not
// reorder instructions, so the order written below is the order executed. A
// LOCK CMPXCHG is a full barrier. The only thing TSO allows — a later load
// passing an earlier store to another address — is never relied upon.
//
// Elements are copied as bytes: esize is a multiple of 4, so every copy is a
// multiple of 4 bytes (moved 32, 8, then 4 at a time by copy<>).

#define RING DI
#define OBJS SI
#define ESIZE R8
#define N CX
#define FLAGS R9
#define OLD BX
#define NEW DX
#define CNT R13
#define SPIN R12

#define SYS_sched_yield 24

// func enqueue(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, n uint32, flags uint32) uint32
TEXT ·enqueue(SB), NOSPLIT, $0-36
	MOVQ r+0(FP), RING
	MOVQ objs+8(FP), OBJS
	MOVQ esize+16(FP), ESIZE
	MOVL n+24(FP), N
	MOVL flags+28(FP), FLAGS

	// __rte_ring_move_prod_head: old_head = prod.head (relaxed).
	MOVL const_ringProdHead(RING), OLD

enq_retry:
	// A0: acquire load of cons.tail (plain MOV, TSO), pairs with R1.
	MOVL const_ringConsTail(RING), AX
	ADDL const_ringOffCapacity(RING), AX
	SUBL OLD, AX                    // free_entries = capacity + cons_tail - old_head
	MOVL N, CNT
	CMPL CNT, AX
	JLS  enq_have
	TESTL $const_kFixed, FLAGS
	JNZ  enq_none                   // RTE_RING_QUEUE_FIXED: all or nothing
	MOVL AX, CNT

enq_have:
	TESTL CNT, CNT
	JZ    enq_none
	LEAL  (OLD)(CNT*1), NEW         // new_head = old_head + n
	TESTL $const_kSingle, FLAGS
	JZ    enq_mp
	MOVL  NEW, const_ringProdHead(RING) // SP: prod.head = new_head (relaxed)
	JMP   enq_copy

enq_mp:
	// MP: CAS prod.head old_head -> new_head; on failure AX holds the
	// current head, which becomes old_head for the retry.
	MOVL OLD, AX
	LOCK
	CMPXCHGL NEW, const_ringProdHead(RING)
	JEQ  enq_copy
	MOVL AX, OLD
	JMP  enq_retry

enq_copy:
	// __rte_ring_enqueue_elems: slot bytes from (old_head & mask) * esize,
	// wrapping at size * esize.
	MOVL  OLD, AX
	ANDL  const_ringOffMask(RING), AX
	IMULQ ESIZE, AX                 // AX = byte offset of the first slot
	MOVL  CNT, CX
	IMULQ ESIZE, CX                 // CX = bytes to copy
	MOVL  const_ringOffSize(RING), R12
	IMULQ ESIZE, R12
	SUBQ  AX, R12                   // R12 = bytes up to the end of the slots
	LEAQ  const_ringHeaderSize(RING)(AX*1), R11
	MOVQ  OBJS, R10
	CMPQ  CX, R12
	JHI   enq_wrap
	MOVQ  CX, R12
	CALL  copy<>(SB)
	JMP   enq_tail

enq_wrap:
	SUBQ R12, CX
	CALL copy<>(SB)
	LEAQ const_ringHeaderSize(RING), R11
	MOVQ CX, R12
	CALL copy<>(SB)

enq_tail:
	// __rte_ring_update_tail: MP waits until prod.tail == old_head.
	TESTL $const_kSingle, FLAGS
	JNZ   enq_publish
	XORL  SPIN, SPIN

enq_wait:
	CMPL const_ringProdTail(RING), OLD
	JEQ  enq_publish
	PAUSE
	INCL SPIN
	TESTL $1023, SPIN
	JNZ  enq_wait
	// The producer we wait for may be descheduled (fewer cores than
	// spinning threads): give the CPU away now and then, as runtime.osyield.
	MOVL $SYS_sched_yield, AX
	SYSCALL
	JMP  enq_wait

enq_publish:
	// R0: release store of prod.tail (plain MOV, TSO: not reordered with the
	// slot stores above), pairs with A1.
	MOVL NEW, const_ringProdTail(RING)
	MOVL CNT, ret+32(FP)
	RET

enq_none:
	MOVL $0, ret+32(FP)
	RET

// func dequeue(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, n uint32, flags uint32) uint32
TEXT ·dequeue(SB), NOSPLIT, $0-36
	MOVQ r+0(FP), RING
	MOVQ objs+8(FP), OBJS
	MOVQ esize+16(FP), ESIZE
	MOVL n+24(FP), N
	MOVL flags+28(FP), FLAGS

	// __rte_ring_move_cons_head: old_head = cons.head (relaxed).
	MOVL const_ringConsHead(RING), OLD

deq_retry:
	// A1: acquire load of prod.tail (plain MOV, TSO), pairs with R0.
	MOVL const_ringProdTail(RING), AX
	SUBL OLD, AX                    // entries = prod_tail - old_head
	MOVL N, CNT
	CMPL CNT, AX
	JLS  deq_have
	TESTL $const_kFixed, FLAGS
	JNZ  deq_none
	MOVL AX, CNT

deq_have:
	TESTL CNT, CNT
	JZ    deq_none
	LEAL  (OLD)(CNT*1), NEW
	TESTL $const_kSingle, FLAGS
	JZ    deq_mc
	MOVL  NEW, const_ringConsHead(RING) // SC: cons.head = new_head (relaxed)
	JMP   deq_copy

deq_mc:
	MOVL OLD, AX
	LOCK
	CMPXCHGL NEW, const_ringConsHead(RING)
	JEQ  deq_copy
	MOVL AX, OLD
	JMP  deq_retry

deq_copy:
	// __rte_ring_dequeue_elems.
	MOVL  OLD, AX
	ANDL  const_ringOffMask(RING), AX
	IMULQ ESIZE, AX
	MOVL  CNT, CX
	IMULQ ESIZE, CX
	MOVL  const_ringOffSize(RING), R12
	IMULQ ESIZE, R12
	SUBQ  AX, R12
	LEAQ  const_ringHeaderSize(RING)(AX*1), R10
	MOVQ  OBJS, R11
	CMPQ  CX, R12
	JHI   deq_wrap
	MOVQ  CX, R12
	CALL  copy<>(SB)
	JMP   deq_tail

deq_wrap:
	SUBQ R12, CX
	CALL copy<>(SB)
	LEAQ const_ringHeaderSize(RING), R10
	MOVQ CX, R12
	CALL copy<>(SB)

deq_tail:
	TESTL $const_kSingle, FLAGS
	JNZ   deq_publish
	XORL  SPIN, SPIN

deq_wait:
	CMPL const_ringConsTail(RING), OLD
	JEQ  deq_publish
	PAUSE
	INCL SPIN
	TESTL $1023, SPIN
	JNZ  deq_wait
	MOVL $SYS_sched_yield, AX
	SYSCALL
	JMP  deq_wait

deq_publish:
	// R1: release store of cons.tail (plain MOV, TSO: stores are not
	// reordered with the older slot loads), pairs with A0.
	MOVL NEW, const_ringConsTail(RING)
	MOVL CNT, ret+32(FP)
	RET

deq_none:
	MOVL $0, ret+32(FP)
	RET

// copy<> copies R12 bytes (a multiple of 4) from R10 to R11 and advances
// R10 and R11 past them. Clobbers AX, R12, X0, X1.
TEXT copy<>(SB), NOSPLIT, $0-0
	CMPQ R12, $32
	JB   copy_8

copy_32:
	MOVOU (R10), X0
	MOVOU 16(R10), X1
	MOVOU X0, (R11)
	MOVOU X1, 16(R11)
	ADDQ  $32, R10
	ADDQ  $32, R11
	SUBQ  $32, R12
	CMPQ  R12, $32
	JAE   copy_32

copy_8:
	CMPQ R12, $8
	JB   copy_4
	MOVQ (R10), AX
	MOVQ AX, (R11)
	ADDQ $8, R10
	ADDQ $8, R11
	SUBQ $8, R12
	JMP  copy_8

copy_4:
	TESTQ R12, R12
	JZ    copy_done
	MOVL  (R10), AX
	MOVL  AX, (R11)
	ADDQ  $4, R10
	ADDQ  $4, R11

copy_done:
	RET

// The pointer-sized (8-byte) element kernels behind every Ring method: the
// same algorithm as enqueue and dequeue above with the slice passed whole
// (fewer arguments), slot offsets by shift, the copy inlined, and the sync
// type dispatch done here (flags may hold kGeneric) so the Go methods stay
// one inlinable call.

// func enqueue8(r unsafe.Pointer, objs []uintptr, flags uint32) uint32
TEXT ·enqueue8(SB), NOSPLIT, $0-44
	MOVQ r+0(FP), RING
	MOVQ objs_base+8(FP), OBJS
	MOVQ objs_len+16(FP), N
	MOVL flags+32(FP), FLAGS
	MOVL $0x7fffffff, AX            // clamp n to RTE_RING_SZ_MASK
	CMPQ N, AX
	CMOVQHI AX, N

	// The ring's own producer sync type: HTS/RTS run their own protocol
	// (Go, ring_hts.go); kGeneric takes MT/ST from the ring.
	MOVL const_ringProdSync(RING), AX
	CMPL AX, $const_syncST
	JHI  e8_sync
	TESTL $const_kGeneric, FLAGS
	JZ   e8_start
	ANDL $const_kFixed, FLAGS
	ORL  AX, FLAGS

e8_start:
	MOVL const_ringProdHead(RING), OLD

e8_retry:
	// A0: acquire load of cons.tail (plain MOV, TSO), pairs with R1.
	MOVL const_ringConsTail(RING), AX
	ADDL const_ringOffCapacity(RING), AX
	SUBL OLD, AX
	MOVL N, CNT
	CMPL CNT, AX
	JLS  e8_have
	TESTL $const_kFixed, FLAGS
	JNZ  e8_none
	MOVL AX, CNT

e8_have:
	TESTL CNT, CNT
	JZ    e8_none
	LEAL  (OLD)(CNT*1), NEW
	TESTL $const_kSingle, FLAGS
	JZ    e8_mp
	MOVL  NEW, const_ringProdHead(RING)
	JMP   e8_copy

e8_mp:
	MOVL OLD, AX
	LOCK
	CMPXCHGL NEW, const_ringProdHead(RING)
	JEQ  e8_copy
	MOVL AX, OLD
	JMP  e8_retry

e8_copy:
	// __rte_ring_enqueue_elems_64: R12 slots up to the end of the ring,
	// then CX more from slot 0.
	MOVL OLD, AX
	ANDL const_ringOffMask(RING), AX
	MOVL const_ringOffSize(RING), R12
	SUBL AX, R12
	LEAQ const_ringHeaderSize(RING)(AX*8), R11
	MOVQ OBJS, R10
	MOVL CNT, CX
	CMPL CX, R12
	JHI  e8_split
	MOVL CX, R12
	XORL CX, CX
	JMP  e8_part

e8_split:
	SUBL R12, CX

e8_part:
	CMPL R12, $4
	JB   e8_one

e8_four:
	MOVOU (R10), X0
	MOVOU 16(R10), X1
	MOVOU X0, (R11)
	MOVOU X1, 16(R11)
	ADDQ  $32, R10
	ADDQ  $32, R11
	SUBL  $4, R12
	CMPL  R12, $4
	JAE   e8_four

e8_one:
	TESTL R12, R12
	JZ    e8_next
	MOVQ  (R10), AX
	MOVQ  AX, (R11)
	ADDQ  $8, R10
	ADDQ  $8, R11
	DECL  R12
	JMP   e8_one

e8_next:
	TESTL CX, CX
	JZ    e8_tail
	LEAQ  const_ringHeaderSize(RING), R11
	MOVL  CX, R12
	XORL  CX, CX
	JMP   e8_part

e8_tail:
	TESTL $const_kSingle, FLAGS
	JNZ   e8_publish
	XORL  SPIN, SPIN

e8_wait:
	CMPL const_ringProdTail(RING), OLD
	JEQ  e8_publish
	PAUSE
	INCL SPIN
	TESTL $1023, SPIN
	JNZ  e8_wait
	MOVL $SYS_sched_yield, AX
	SYSCALL
	JMP  e8_wait

e8_publish:
	// R0: release store of prod.tail (plain MOV, TSO), pairs with A1.
	MOVL NEW, const_ringProdTail(RING)
	MOVL CNT, ret+40(FP)
	RET

e8_none:
	MOVL $0, ret+40(FP)
	RET

e8_sync:
	// Tail call with the arguments untouched on the stack.
	JMP ·enqueueSync8(SB)

// func dequeue8(r unsafe.Pointer, objs []uintptr, flags uint32) uint32
TEXT ·dequeue8(SB), NOSPLIT, $0-44
	MOVQ r+0(FP), RING
	MOVQ objs_base+8(FP), OBJS
	MOVQ objs_len+16(FP), N
	MOVL flags+32(FP), FLAGS
	MOVL $0x7fffffff, AX
	CMPQ N, AX
	CMOVQHI AX, N

	MOVL const_ringConsSync(RING), AX
	CMPL AX, $const_syncST
	JHI  d8_sync
	TESTL $const_kGeneric, FLAGS
	JZ   d8_start
	ANDL $const_kFixed, FLAGS
	ORL  AX, FLAGS

d8_start:
	MOVL const_ringConsHead(RING), OLD

d8_retry:
	// A1: acquire load of prod.tail (plain MOV, TSO), pairs with R0.
	MOVL const_ringProdTail(RING), AX
	SUBL OLD, AX
	MOVL N, CNT
	CMPL CNT, AX
	JLS  d8_have
	TESTL $const_kFixed, FLAGS
	JNZ  d8_none
	MOVL AX, CNT

d8_have:
	TESTL CNT, CNT
	JZ    d8_none
	LEAL  (OLD)(CNT*1), NEW
	TESTL $const_kSingle, FLAGS
	JZ    d8_mc
	MOVL  NEW, const_ringConsHead(RING)
	JMP   d8_copy

d8_mc:
	MOVL OLD, AX
	LOCK
	CMPXCHGL NEW, const_ringConsHead(RING)
	JEQ  d8_copy
	MOVL AX, OLD
	JMP  d8_retry

d8_copy:
	// __rte_ring_dequeue_elems_64.
	MOVL OLD, AX
	ANDL const_ringOffMask(RING), AX
	MOVL const_ringOffSize(RING), R12
	SUBL AX, R12
	LEAQ const_ringHeaderSize(RING)(AX*8), R10
	MOVQ OBJS, R11
	MOVL CNT, CX
	CMPL CX, R12
	JHI  d8_split
	MOVL CX, R12
	XORL CX, CX
	JMP  d8_part

d8_split:
	SUBL R12, CX

d8_part:
	CMPL R12, $4
	JB   d8_one

d8_four:
	MOVOU (R10), X0
	MOVOU 16(R10), X1
	MOVOU X0, (R11)
	MOVOU X1, 16(R11)
	ADDQ  $32, R10
	ADDQ  $32, R11
	SUBL  $4, R12
	CMPL  R12, $4
	JAE   d8_four

d8_one:
	TESTL R12, R12
	JZ    d8_next
	MOVQ  (R10), AX
	MOVQ  AX, (R11)
	ADDQ  $8, R10
	ADDQ  $8, R11
	DECL  R12
	JMP   d8_one

d8_next:
	TESTL CX, CX
	JZ    d8_tail
	LEAQ  const_ringHeaderSize(RING), R10
	MOVL  CX, R12
	XORL  CX, CX
	JMP   d8_part

d8_tail:
	TESTL $const_kSingle, FLAGS
	JNZ   d8_publish
	XORL  SPIN, SPIN

d8_wait:
	CMPL const_ringConsTail(RING), OLD
	JEQ  d8_publish
	PAUSE
	INCL SPIN
	TESTL $1023, SPIN
	JNZ  d8_wait
	MOVL $SYS_sched_yield, AX
	SYSCALL
	JMP  d8_wait

d8_publish:
	// R1: release store of cons.tail (plain MOV, TSO), pairs with A0.
	MOVL NEW, const_ringConsTail(RING)
	MOVL CNT, ret+40(FP)
	RET

d8_none:
	MOVL $0, ret+40(FP)
	RET

d8_sync:
	JMP ·dequeueSync8(SB)
