//go:build amd64 && gc && !purego

#include "go_asm.h"
#include "funcdata.h"
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
//
// Tail waits (__rte_ring_update_tail: an MP/MC end waits until its tail
// reaches old_head) spin with PAUSE at most stallSpins times here. Then the
// kernel leaves for Go: assembly is not preemptible, and the thread we wait
// for may be descheduled or, if its process was killed between its head CAS
// and its tail store, dead (AbandonMemory, abandon.go). The reservation is
// made and the elements copied, so what is left to do is the wait and the
// publish: the kernel stores old_head and the count into argument slots it
// no longer needs and tail-calls a Go function with an identical frame
// (enqueueStall, enqueueStall8, enqueueOneStall, …, ring_amd64.go), which
// runs stallWait (yield to the scheduler, give up with 0 if the ring is
// abandoned, else wait on and publish) and returns to our caller. The
// single-element dequeue has no slot to spare and calls stallWait from a
// small stub with a frame (dequeueOneStall). The fast path is unchanged: the
// first look at the tail finds it equal to old_head when nobody is in
// between.

#define RING DI
#define OBJS SI
#define ESIZE R8
#define N CX
#define FLAGS R9
#define OLD BX
#define NEW DX
#define CNT R13
#define SPIN R12
#define RES R8 // single-element paths: where the count goes

// func enqueue(r unsafe.Pointer, objs unsafe.Pointer, esize uintptr, n uint32, flags uint32) uint32
//
// NOFRAME: it calls copy<>, so the assembler would give it a frame-pointer
// frame, which its tail call to enqueueStall (a JMP, not a RET) would not
// pop.
TEXT ·enqueue(SB), NOSPLIT|NOFRAME, $0-36
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
	CMPL SPIN, $const_stallSpins
	JNE  enq_wait
	// The producer we wait for may be descheduled, or dead: leave for Go
	// (enqueueStall) with old_head in n and the count in flags.
	MOVL OLD, n+24(FP)
	MOVL CNT, flags+28(FP)
	JMP  ·enqueueStall(SB)

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
TEXT ·dequeue(SB), NOSPLIT|NOFRAME, $0-36
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
	CMPL SPIN, $const_stallSpins
	JNE  deq_wait
	// See enq_wait: dequeueStall publishes cons.tail (R1) or gives up.
	MOVL OLD, n+24(FP)
	MOVL CNT, flags+28(FP)
	JMP  ·dequeueStall(SB)

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
// same algorithm as enqueue and dequeue above with slot offsets by shift,
// the copy inlined, one element taken apart, and the sync type dispatch done
// here so the Go methods stay one inlinable call. One entry point per
// method, with the flags (kSingle, kFixed, kGeneric) as a constant, so a
// call passes three words: the ring, the objects and their number. Each
// entry jumps to the shared body with its own frame, which the body reads.

// func spEnqueueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·spEnqueueBulk8(SB), NOSPLIT, $0-28
	CMPQ n+16(FP), $1
	JNE  speb_many
	// One element, SP: falls through on an MT/ST ring with room.
	MOVQ r+0(FP), RING
	CMPL const_ringProdSync(RING), $const_syncST
	JHI  speb_many
	MOVQ objs+8(FP), SI
	MOVL const_ringProdHead(RING), OLD
	// A0: acquire load of cons.tail (plain MOV, TSO), pairs with R1.
	MOVL const_ringConsTail(RING), AX
	ADDL const_ringOffCapacity(RING), AX
	CMPL AX, OLD                    // free_entries == 0
	JEQ  speb_none
	MOVQ (SI), SI
	LEAL 1(OLD), NEW
	MOVL NEW, const_ringProdHead(RING)
	ANDL const_ringOffMask(RING), OLD
	MOVQ SI, const_ringHeaderSize(RING)(OLD*8)
	// R0: release store of prod.tail (plain MOV, TSO), pairs with A1.
	MOVL NEW, const_ringProdTail(RING)
	MOVL $1, ret+24(FP)
	RET

speb_none:
	MOVL $0, ret+24(FP)
	RET

speb_many:
	MOVL $(const_kSingle|const_kFixed), FLAGS
	JMP  enq8<>(SB)

// func mpEnqueueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·mpEnqueueBulk8(SB), NOSPLIT, $0-28
	MOVL $(const_kFixed), FLAGS
	CMPQ n+16(FP), $1
	JNE  mpeb_many
	JMP  enqMP1b<>(SB)

mpeb_many:
	JMP enq8<>(SB)

// func enqueueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·enqueueBulk8(SB), NOSPLIT, $0-28
	MOVL $(const_kGeneric|const_kFixed), FLAGS
	JMP  enq8<>(SB)

// func spEnqueueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·spEnqueueBurst8(SB), NOSPLIT, $0-28
	CMPQ n+16(FP), $1
	JNE  spes_many
	// One element, SP: falls through on an MT/ST ring with room.
	MOVQ r+0(FP), RING
	CMPL const_ringProdSync(RING), $const_syncST
	JHI  spes_many
	MOVQ objs+8(FP), SI
	MOVL const_ringProdHead(RING), OLD
	// A0: acquire load of cons.tail (plain MOV, TSO), pairs with R1.
	MOVL const_ringConsTail(RING), AX
	ADDL const_ringOffCapacity(RING), AX
	CMPL AX, OLD                    // free_entries == 0
	JEQ  spes_none
	MOVQ (SI), SI
	LEAL 1(OLD), NEW
	MOVL NEW, const_ringProdHead(RING)
	ANDL const_ringOffMask(RING), OLD
	MOVQ SI, const_ringHeaderSize(RING)(OLD*8)
	// R0: release store of prod.tail (plain MOV, TSO), pairs with A1.
	MOVL NEW, const_ringProdTail(RING)
	MOVL $1, ret+24(FP)
	RET

spes_none:
	MOVL $0, ret+24(FP)
	RET

spes_many:
	MOVL $(const_kSingle), FLAGS
	JMP  enq8<>(SB)

// func mpEnqueueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·mpEnqueueBurst8(SB), NOSPLIT, $0-28
	MOVL $0, FLAGS
	CMPQ n+16(FP), $1
	JNE  mpes_many
	JMP  enqMP1b<>(SB)

mpes_many:
	JMP enq8<>(SB)

// func enqueueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·enqueueBurst8(SB), NOSPLIT, $0-28
	MOVL $(const_kGeneric), FLAGS
	JMP  enq8<>(SB)

// func scDequeueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·scDequeueBulk8(SB), NOSPLIT, $0-28
	CMPQ n+16(FP), $1
	JNE  scdb_many
	// One element, SC (falls through on an MT/ST ring with an entry).
	MOVQ r+0(FP), RING
	CMPL const_ringConsSync(RING), $const_syncST
	JHI  scdb_many
	MOVL const_ringConsHead(RING), OLD
	// A1: acquire load of prod.tail (plain MOV, TSO), pairs with R0.
	MOVL const_ringProdTail(RING), AX
	CMPL AX, OLD                    // entries == 0
	JEQ  scdb_none
	MOVQ objs+8(FP), SI
	LEAL 1(OLD), NEW
	MOVL NEW, const_ringConsHead(RING)
	ANDL const_ringOffMask(RING), OLD
	MOVQ const_ringHeaderSize(RING)(OLD*8), AX
	// R1: release store of cons.tail (plain MOV, TSO: not reordered with
	// the older slot load), pairs with A0.
	MOVL NEW, const_ringConsTail(RING)
	MOVQ AX, (SI)
	MOVL $1, ret+24(FP)
	RET

scdb_none:
	MOVL $0, ret+24(FP)
	RET

scdb_many:
	MOVL $(const_kSingle|const_kFixed), FLAGS
	JMP  deq8<>(SB)

// func mcDequeueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·mcDequeueBulk8(SB), NOSPLIT, $0-28
	MOVL $(const_kFixed), FLAGS
	CMPQ n+16(FP), $1
	JNE  mcdb_many
	JMP  deqMC1b<>(SB)

mcdb_many:
	JMP deq8<>(SB)

// func dequeueBulk8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·dequeueBulk8(SB), NOSPLIT, $0-28
	MOVL $(const_kGeneric|const_kFixed), FLAGS
	JMP  deq8<>(SB)

// func scDequeueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·scDequeueBurst8(SB), NOSPLIT, $0-28
	CMPQ n+16(FP), $1
	JNE  scds_many
	// One element, SC (falls through on an MT/ST ring with an entry).
	MOVQ r+0(FP), RING
	CMPL const_ringConsSync(RING), $const_syncST
	JHI  scds_many
	MOVL const_ringConsHead(RING), OLD
	// A1: acquire load of prod.tail (plain MOV, TSO), pairs with R0.
	MOVL const_ringProdTail(RING), AX
	CMPL AX, OLD                    // entries == 0
	JEQ  scds_none
	MOVQ objs+8(FP), SI
	LEAL 1(OLD), NEW
	MOVL NEW, const_ringConsHead(RING)
	ANDL const_ringOffMask(RING), OLD
	MOVQ const_ringHeaderSize(RING)(OLD*8), AX
	// R1: release store of cons.tail (plain MOV, TSO: not reordered with
	// the older slot load), pairs with A0.
	MOVL NEW, const_ringConsTail(RING)
	MOVQ AX, (SI)
	MOVL $1, ret+24(FP)
	RET

scds_none:
	MOVL $0, ret+24(FP)
	RET

scds_many:
	MOVL $(const_kSingle), FLAGS
	JMP  deq8<>(SB)

// func mcDequeueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·mcDequeueBurst8(SB), NOSPLIT, $0-28
	MOVL $0, FLAGS
	CMPQ n+16(FP), $1
	JNE  mcds_many
	JMP  deqMC1b<>(SB)

mcds_many:
	JMP deq8<>(SB)

// func dequeueBurst8(r unsafe.Pointer, objs *uintptr, n int) uint32
TEXT ·dequeueBurst8(SB), NOSPLIT, $0-28
	MOVL $(const_kGeneric), FLAGS
	JMP  deq8<>(SB)


// enqMP1b<> is the MP entry points' path for one element: objs[0] to
// enqMP1<> with the count at ret; HTS/RTS go to enq8<>.
TEXT enqMP1b<>(SB), NOSPLIT, $0-28
	MOVQ r+0(FP), RING
	MOVL const_ringProdSync(RING), AX
	CMPL AX, $const_syncST
	JHI  em1_other
	MOVQ objs+8(FP), SI
	MOVQ (SI), SI
	LEAQ ret+24(FP), RES
	JMP  enqMP1<>(SB)

em1_other:
	JMP enq8<>(SB)

// deqMC1b<> is the MC entry points' path for one element (see enqMP1b<>).
TEXT deqMC1b<>(SB), NOSPLIT, $0-28
	MOVQ r+0(FP), RING
	MOVL const_ringConsSync(RING), AX
	CMPL AX, $const_syncST
	JHI  dm1_other
	MOVQ objs+8(FP), R10
	LEAQ ret+24(FP), RES
	JMP  deqMC1<>(SB)

dm1_other:
	JMP deq8<>(SB)

// enq8<> is the body of the pointer enqueue kernels: FLAGS set by the entry
// point, arguments as theirs (r, objs, n; ret).
TEXT enq8<>(SB), NOSPLIT, $0-28
	MOVQ r+0(FP), RING
	MOVQ n+16(FP), N

	// The ring's own producer sync type: HTS/RTS run their own protocol
	// (Go, ring_hts.go); kGeneric takes MT/ST from the ring.
	MOVL const_ringProdSync(RING), AX
	CMPL AX, $const_syncST
	JHI  e8_sync
	CMPQ N, $1
	JEQ  e8_single
	MOVQ objs+8(FP), OBJS
	MOVL $0x7fffffff, DX            // clamp n to RTE_RING_SZ_MASK
	CMPQ N, DX
	CMOVQHI DX, N
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
	// 32 bytes at a time with AVX2 (useAVX2) from 16 elements on, else
	// 16 (SSE2): for fewer, the SSE2 loop was measured faster.
	CMPB ·useAVX2(SB), $0
	JEQ  e8_sse
	CMPL R12, $16
	JB   e8_sse

e8_y16:
	VMOVDQU (R10), Y0
	VMOVDQU 32(R10), Y1
	VMOVDQU 64(R10), Y2
	VMOVDQU 96(R10), Y3
	VMOVDQU Y0, (R11)
	VMOVDQU Y1, 32(R11)
	VMOVDQU Y2, 64(R11)
	VMOVDQU Y3, 96(R11)
	ADDQ    $128, R10
	ADDQ    $128, R11
	SUBL    $16, R12
	CMPL    R12, $16
	JAE     e8_y16

e8_y4:
	CMPL    R12, $4
	JB      e8_yend
	VMOVDQU (R10), Y0
	VMOVDQU Y0, (R11)
	ADDQ    $32, R10
	ADDQ    $32, R11
	SUBL    $4, R12
	JMP     e8_y4

e8_yend:
	VZEROUPPER
	JMP e8_one

e8_sse:
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
	CMPL SPIN, $const_stallSpins
	JNE  e8_wait
	// Leave for Go (see enq_wait): enqueueStall8 with old_head | count<<32
	// in n (both zero-extended by their 32-bit loads).
	SHLQ $32, CNT
	ORQ  OLD, CNT
	MOVQ CNT, n+16(FP)
	JMP  ·enqueueStall8(SB)

e8_publish:
	// R0: release store of prod.tail (plain MOV, TSO), pairs with A1.
	MOVL NEW, const_ringProdTail(RING)
	MOVL CNT, ret+24(FP)
	RET

e8_none:
	MOVL $0, ret+24(FP)
	RET

e8_single:
	// One element (AX: the sync type, MT or ST). SP falls through.
	TESTL $const_kSingle, FLAGS
	JZ   e8_single_mt

e8_sp1:
	// enqueueSP1 for objs[0], result at ret.
	MOVQ objs+8(FP), SI
	MOVL const_ringProdHead(RING), OLD
	// A0: acquire load of cons.tail (plain MOV, TSO), pairs with R1.
	MOVL const_ringConsTail(RING), AX
	ADDL const_ringOffCapacity(RING), AX
	CMPL AX, OLD
	JEQ  e8_none
	MOVQ (SI), SI
	LEAL 1(OLD), NEW
	MOVL NEW, const_ringProdHead(RING)
	ANDL const_ringOffMask(RING), OLD
	MOVQ SI, const_ringHeaderSize(RING)(OLD*8)
	// R0: release store of prod.tail (plain MOV, TSO), pairs with A1.
	MOVL NEW, const_ringProdTail(RING)
	MOVL $1, ret+24(FP)
	RET

e8_single_mt:
	// kGeneric on an ST ring is SP; MP and MT rings go to enqMP1<>, which
	// stores the count and returns to our caller.
	TESTL $const_kGeneric, FLAGS
	JZ   e8_mp1
	CMPL AX, $const_syncST
	JEQ  e8_sp1

e8_mp1:
	MOVQ objs+8(FP), SI
	MOVQ (SI), SI
	LEAQ ret+24(FP), RES
	JMP  enqMP1<>(SB)

e8_sync:
	// Tail call with the arguments untouched on the stack.
	TESTL $const_kFixed, FLAGS
	JNZ  e8_sync_bulk
	JMP  ·enqueueSyncBurst8(SB)

e8_sync_bulk:
	JMP ·enqueueSyncBulk8(SB)

// deq8<> is the body of the pointer dequeue kernels (see enq8<>).
TEXT deq8<>(SB), NOSPLIT, $0-28
	MOVQ r+0(FP), RING
	MOVQ n+16(FP), N

	MOVL const_ringConsSync(RING), AX
	CMPL AX, $const_syncST
	JHI  d8_sync
	CMPQ N, $1
	JEQ  d8_single
	MOVQ objs+8(FP), OBJS
	MOVL $0x7fffffff, DX
	CMPQ N, DX
	CMOVQHI DX, N
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
	// 32 bytes at a time with AVX2 (useAVX2) from 16 elements on, else
	// 16 (SSE2): for fewer, the SSE2 loop was measured faster.
	CMPB ·useAVX2(SB), $0
	JEQ  d8_sse
	CMPL R12, $16
	JB   d8_sse

d8_y16:
	VMOVDQU (R10), Y0
	VMOVDQU 32(R10), Y1
	VMOVDQU 64(R10), Y2
	VMOVDQU 96(R10), Y3
	VMOVDQU Y0, (R11)
	VMOVDQU Y1, 32(R11)
	VMOVDQU Y2, 64(R11)
	VMOVDQU Y3, 96(R11)
	ADDQ    $128, R10
	ADDQ    $128, R11
	SUBL    $16, R12
	CMPL    R12, $16
	JAE     d8_y16

d8_y4:
	CMPL    R12, $4
	JB      d8_yend
	VMOVDQU (R10), Y0
	VMOVDQU Y0, (R11)
	ADDQ    $32, R10
	ADDQ    $32, R11
	SUBL    $4, R12
	JMP     d8_y4

d8_yend:
	VZEROUPPER
	JMP d8_one

d8_sse:
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
	CMPL SPIN, $const_stallSpins
	JNE  d8_wait
	// Leave for Go (see e8_wait): the elements are in objs already.
	SHLQ $32, CNT
	ORQ  OLD, CNT
	MOVQ CNT, n+16(FP)
	JMP  ·dequeueStall8(SB)

d8_publish:
	// R1: release store of cons.tail (plain MOV, TSO), pairs with A0.
	MOVL NEW, const_ringConsTail(RING)
	MOVL CNT, ret+24(FP)
	RET

d8_none:
	MOVL $0, ret+24(FP)
	RET

d8_single:
	// One element (AX: the sync type, MT or ST). SC falls through.
	TESTL $const_kSingle, FLAGS
	JZ   d8_single_mt

d8_sc1:
	MOVL const_ringConsHead(RING), OLD
	// A1: acquire load of prod.tail (plain MOV, TSO), pairs with R0.
	MOVL const_ringProdTail(RING), AX
	CMPL AX, OLD
	JEQ  d8_none
	MOVQ objs+8(FP), SI
	LEAL 1(OLD), NEW
	MOVL NEW, const_ringConsHead(RING)
	ANDL const_ringOffMask(RING), OLD
	MOVQ const_ringHeaderSize(RING)(OLD*8), AX
	// R1: release store of cons.tail (plain MOV, TSO: not reordered with
	// the older slot load), pairs with A0.
	MOVL NEW, const_ringConsTail(RING)
	MOVQ AX, (SI)
	MOVL $1, ret+24(FP)
	RET

d8_single_mt:
	TESTL $const_kGeneric, FLAGS
	JZ   d8_mc1
	CMPL AX, $const_syncST
	JEQ  d8_sc1

d8_mc1:
	// deqMC1<> stores the element into objs[0] and the count, and returns
	// to our caller.
	MOVQ objs+8(FP), R10
	LEAQ ret+24(FP), RES
	JMP  deqMC1<>(SB)

d8_sync:
	TESTL $const_kFixed, FLAGS
	JNZ  d8_sync_bulk
	JMP  ·dequeueSyncBurst8(SB)

d8_sync_bulk:
	JMP ·dequeueSyncBulk8(SB)

// Single-element kernels: rte_ring_{sp,mp,}_enqueue and
// rte_ring_{sc,mc,}_dequeue, one per mode so a call passes only the ring and
// the object; enqueue8/dequeue8 run the same code when a burst or bulk call
// passes exactly one element. The algorithm above with n = 1: "n >
// free_entries" (resp. entries) is "free_entries == 0", so fixed and
// variable behaviour coincide. The SP/SC paths fall through; the generic
// entry points tail-jump to the SP/SC or MP/MC one (same frame layout), and
// the MP/MC code is shared through enqMP1<>/deqMC1<>.

// func spEnqueueOne(r unsafe.Pointer, obj uintptr) uint32
TEXT ·spEnqueueOne(SB), NOSPLIT, $0-20
	MOVQ r+0(FP), RING
	CMPL const_ringProdSync(RING), $const_syncST
	JHI  spe_sync
	MOVL const_ringProdHead(RING), OLD
	// A0: acquire load of cons.tail (plain MOV, TSO), pairs with R1.
	MOVL const_ringConsTail(RING), AX
	ADDL const_ringOffCapacity(RING), AX
	CMPL AX, OLD                    // free_entries = capacity + cons_tail - old_head == 0
	JEQ  spe_full
	MOVQ obj+8(FP), SI
	LEAL 1(OLD), NEW
	MOVL NEW, const_ringProdHead(RING) // SP: prod.head = new_head (relaxed)
	ANDL const_ringOffMask(RING), OLD
	MOVQ SI, const_ringHeaderSize(RING)(OLD*8)
	// R0: release store of prod.tail (plain MOV, TSO: not reordered with the
	// slot store above), pairs with A1.
	MOVL NEW, const_ringProdTail(RING)
	MOVL $1, ret+16(FP)
	RET

spe_full:
	MOVL $0, ret+16(FP)
	RET

spe_sync:
	JMP ·enqueueOneSync(SB)

// func mpEnqueueOne(r unsafe.Pointer, obj uintptr) uint32
TEXT ·mpEnqueueOne(SB), NOSPLIT, $0-20
	MOVQ r+0(FP), RING
	MOVL const_ringProdSync(RING), AX
	CMPL AX, $const_syncST
	JHI  mpe_sync
	MOVQ obj+8(FP), SI
	LEAQ ret+16(FP), RES
	JMP  enqMP1<>(SB)

mpe_sync:
	JMP ·enqueueOneSync(SB)

// func enqueueOne(r unsafe.Pointer, obj uintptr) uint32
TEXT ·enqueueOne(SB), NOSPLIT, $0-20
	MOVQ r+0(FP), RING
	MOVL const_ringProdSync(RING), AX
	CMPL AX, $const_syncST
	JEQ  eg_sp
	JHI  eg_sync
	JMP  ·mpEnqueueOne(SB)

eg_sp:
	JMP ·spEnqueueOne(SB)

eg_sync:
	JMP ·enqueueOneSync(SB)

// enqMP1<> enqueues SI on RING with the MP protocol and stores the count (0
// or 1) as a uint32 at (RES). Jumped to, not called: its RET returns to the
// Go caller of the entry point.
TEXT enqMP1<>(SB), NOSPLIT, $0-0
	MOVL const_ringProdHead(RING), OLD

em_retry:
	// A0 as above.
	MOVL const_ringConsTail(RING), AX
	ADDL const_ringOffCapacity(RING), AX
	CMPL AX, OLD
	JEQ  em_full
	LEAL 1(OLD), NEW
	// MP: CAS prod.head old_head -> new_head; on failure AX holds the
	// current head, the old_head of the retry.
	MOVL OLD, AX
	LOCK
	CMPXCHGL NEW, const_ringProdHead(RING)
	JNE  em_again
	MOVL OLD, AX
	ANDL const_ringOffMask(RING), AX
	MOVQ SI, const_ringHeaderSize(RING)(AX*8)
	// __rte_ring_update_tail: wait until prod.tail == old_head.
	CMPL const_ringProdTail(RING), OLD
	JNE  em_wait

em_publish:
	// R0: release store of prod.tail, pairs with A1.
	MOVL NEW, const_ringProdTail(RING)
	MOVL $1, (RES)
	RET

em_again:
	MOVL AX, OLD
	JMP  em_retry

em_wait:
	XORL SPIN, SPIN

em_spin:
	PAUSE
	INCL SPIN
	CMPL SPIN, $const_stallSpins
	JEQ  em_stall
	CMPL const_ringProdTail(RING), OLD
	JEQ  em_publish
	JMP  em_spin

em_stall:
	// Leave for Go (see enq_wait). The frame is our entry point's: RES is
	// ret+16(FP), 24(SP) (we were jumped to, so 0(SP) is the return
	// address), for mpEnqueueOne (r, obj; ret), else ret+24(FP) for the
	// pointer kernels (r, objs, n; ret).
	LEAQ 24(SP), AX
	CMPQ RES, AX
	JNE  em_stall8
	MOVQ OLD, 16(SP)                // obj+8(FP) = old_head
	JMP  ·enqueueOneStall(SB)

em_stall8:
	MOVQ $1, AX
	SHLQ $32, AX
	ORQ  OLD, AX
	MOVQ AX, 24(SP)                 // n+16(FP) = old_head | 1<<32
	JMP  ·enqueueStall8(SB)

em_full:
	MOVL $0, (RES)
	RET

// func scDequeueOne(r unsafe.Pointer) (obj uintptr, n uint32)
TEXT ·scDequeueOne(SB), NOSPLIT, $0-20
	MOVQ r+0(FP), RING
	CMPL const_ringConsSync(RING), $const_syncST
	JHI  scd_sync
	MOVL const_ringConsHead(RING), OLD
	// A1: acquire load of prod.tail (plain MOV, TSO), pairs with R0.
	MOVL const_ringProdTail(RING), AX
	CMPL AX, OLD                    // entries = prod_tail - old_head == 0
	JEQ  scd_empty
	LEAL 1(OLD), NEW
	MOVL NEW, const_ringConsHead(RING) // SC: cons.head = new_head (relaxed)
	ANDL const_ringOffMask(RING), OLD
	MOVQ const_ringHeaderSize(RING)(OLD*8), SI
	// R1: release store of cons.tail (plain MOV, TSO: stores are not
	// reordered with the older slot load), pairs with A0.
	MOVL NEW, const_ringConsTail(RING)
	MOVQ SI, obj+8(FP)
	MOVL $1, n+16(FP)
	RET

scd_empty:
	MOVQ $0, obj+8(FP)
	MOVL $0, n+16(FP)
	RET

scd_sync:
	JMP ·dequeueOneSync(SB)

// func mcDequeueOne(r unsafe.Pointer) (obj uintptr, n uint32)
TEXT ·mcDequeueOne(SB), NOSPLIT, $0-20
	MOVQ r+0(FP), RING
	MOVL const_ringConsSync(RING), AX
	CMPL AX, $const_syncST
	JHI  mcd_sync
	MOVQ $0, obj+8(FP)
	LEAQ obj+8(FP), R10
	LEAQ n+16(FP), RES
	JMP  deqMC1<>(SB)

mcd_sync:
	JMP ·dequeueOneSync(SB)

// func dequeueOne(r unsafe.Pointer) (obj uintptr, n uint32)
TEXT ·dequeueOne(SB), NOSPLIT, $0-20
	MOVQ r+0(FP), RING
	MOVL const_ringConsSync(RING), AX
	CMPL AX, $const_syncST
	JEQ  dg_sc
	JHI  dg_sync
	JMP  ·mcDequeueOne(SB)

dg_sc:
	JMP ·scDequeueOne(SB)

dg_sync:
	JMP ·dequeueOneSync(SB)

// deqMC1<> dequeues one element of RING with the MC protocol into (R10),
// which is left alone when the ring is empty, and stores the count (0 or 1)
// as a uint32 at (RES). Jumped to, as enqMP1<>.
TEXT deqMC1<>(SB), NOSPLIT, $0-0
	MOVL const_ringConsHead(RING), OLD

dm_retry:
	// A1 as above.
	MOVL const_ringProdTail(RING), AX
	CMPL AX, OLD
	JEQ  dm_empty
	LEAL 1(OLD), NEW
	MOVL OLD, AX
	LOCK
	CMPXCHGL NEW, const_ringConsHead(RING)
	JNE  dm_again
	MOVL OLD, AX
	ANDL const_ringOffMask(RING), AX
	MOVQ const_ringHeaderSize(RING)(AX*8), SI
	CMPL const_ringConsTail(RING), OLD
	JNE  dm_wait

dm_publish:
	// R1: release store of cons.tail, pairs with A0.
	MOVL NEW, const_ringConsTail(RING)
	MOVQ SI, (R10)
	MOVL $1, (RES)
	RET

dm_again:
	MOVL AX, OLD
	JMP  dm_retry

dm_wait:
	XORL SPIN, SPIN

dm_spin:
	PAUSE
	INCL SPIN
	CMPL SPIN, $const_stallSpins
	JEQ  dm_stall
	CMPL const_ringConsTail(RING), OLD
	JEQ  dm_publish
	JMP  dm_spin

dm_stall:
	// Leave for Go (see em_stall). The element goes to its destination
	// now (the caller's objs[0], or our entry point's obj result), as a
	// burst's copy precedes its wait.
	MOVQ SI, (R10)
	LEAQ 24(SP), AX
	CMPQ RES, AX
	JNE  dm_stall8
	// mcDequeueOne's frame (r; obj, n): no argument slot to spare, so
	// dequeueOneStall, which has a frame, calls stallWait; old_head in n.
	MOVL OLD, 24(SP)                // n+16(FP) = old_head
	JMP  ·dequeueOneStall(SB)

dm_stall8:
	MOVQ $1, AX
	SHLQ $32, AX
	ORQ  OLD, AX
	MOVQ AX, 24(SP)                 // n+16(FP) = old_head | 1<<32
	JMP  ·dequeueStall8(SB)

dm_empty:
	MOVL $0, (RES)
	RET

// func dequeueOneStall(r unsafe.Pointer) (obj uintptr, n uint32)
//
// The stall path of the single-element MC dequeue (deqMC1<> jumps here with
// its entry point's frame): obj holds the element, n the old_head. It calls
// stallWait(r, ringConsTail, old_head, 1) and returns (obj, 1), or (0, 0)
// when the wait gave up.
TEXT ·dequeueOneStall(SB), NOSPLIT, $32-20
	NO_LOCAL_POINTERS
	MOVQ r+0(FP), AX
	MOVQ AX, 0(SP)
	MOVQ $const_ringConsTail, 8(SP)
	MOVL n+16(FP), AX
	MOVL AX, 16(SP)
	MOVL $1, 20(SP)
	CALL ·stallWait(SB)
	MOVL 24(SP), AX
	MOVQ obj+8(FP), DX
	TESTL AX, AX
	JNZ  dos_done
	XORL DX, DX

dos_done:
	MOVQ DX, obj+8(FP)
	MOVL AX, n+16(FP)
	RET
