//go:build amd64 && gc && !purego

#include "go_asm.h"
#include "textflag.h"
#include "parse_amd64.h"

// The sym_xxhash fast path: IPv4 and IPv6 (at most two VLAN tags) parsed and hashed with
// XXH64 in registers (fastXXH), and the XXH64 kernel over prepared keys
// (xxhKeysAsm) for the rest. XXH64 as in cespare/xxhash (xxhash.go,
// xxhash_amd64.s) for inputs of at most 40 bytes, specialised to the key
// lengths 8, 12, 32 and 36.
//
// The fold uint32(h) ^ uint32(h>>32) after the avalanche's last step
// h ^= h>>32 is the low half of h before that step: the last step is left
// out and the low 32 bits stored.

// XXH64 primes.
#define PRIME1 $11400714785074694791
#define PRIME2 $14029467366897019727
#define PRIME3 $1609587929392839161
#define PRIME4 $9650029242287828579
#define PRIME5 $2870177450012600261

// Registers of fastXXH besides rptrs, rlens, routp, ridx and rpkt
// (parse_amd64.h; rpkt: the frame, IPv6: v3 once the key is loaded).
#define rlen R11 // its length (then a temporary; IPv6: v4)
#define rp1 R12  // PRIME1
#define rp2 R13  // PRIME2
#define rp3 R14  // PRIME3

// Frame slots of fastXXH: per-call constants (seed + PRIME5 + key length,
// the four lane seeds, PRIME4) and the IPv6 key's port word and length.
#define s8 seed8-8(SP)
#define s12 seed12-16(SP)
#define v1i lane1-24(SP)
#define v2i lane2-32(SP)
#define v3i lane3-40(SP)
#define v4i lane4-48(SP)
#define p4 prime4-56(SP)
#define pw portword-64(SP)
#define klen keylen-72(SP)
#define emode effmode-80(SP)  // mode, then mode&1 once a tunnel is opened
#define l2base l2start-88(SP) // where the Ethernet frame being parsed starts

// XXH_PRIMES: rp1, rp2, rp3 = PRIME1, PRIME2, PRIME3 and the slot p4 =
// PRIME4. Clobbers AX.
#define XXH_PRIMES \
	MOVQ PRIME1, rp1 \
	MOVQ PRIME2, rp2 \
	MOVQ PRIME3, rp3 \
	MOVQ PRIME4, AX \
	MOVQ AX, p4

// XXH_LANES: the four lane seeds of the 32-byte step from the seed AX
// into the slots v1i..v4i: seed + PRIME1 + PRIME2, seed + PRIME2, seed,
// seed - PRIME1. Needs XXH_PRIMES. Clobbers AX, CX.
#define XXH_LANES \
	LEAQ (AX)(rp2*1), CX \
	MOVQ CX, v2i \
	ADDQ rp1, CX \
	MOVQ CX, v1i \
	MOVQ AX, v3i \
	SUBQ rp1, AX \
	MOVQ AX, v4i

// XXH_WORD(w, h): h is advanced over the 8-byte key word w (clobbered):
// h ^= round(0, w); h = rotl(h, 27)*PRIME1 + PRIME4.
#define XXH_WORD(w, h) \
	IMULQ rp2, w \
	ROLQ  $31, w \
	IMULQ rp1, w \
	XORQ  w, h \
	ROLQ  $27, h \
	IMULQ rp1, h \
	ADDQ  p4, h

// XXH_HALF(v, h): h is advanced over the 4-byte key word v (the low half
// of v, zero-extended; clobbered): h ^= v*PRIME1; h = rotl(h, 23)*PRIME2
// + PRIME3.
#define XXH_HALF(v, h) \
	IMULQ rp1, v \
	XORQ  v, h \
	ROLQ  $23, h \
	IMULQ rp2, h \
	ADDQ  rp3, h

// XXH_LANE(init, v): v = round(init, v): (init + v*PRIME2) rotl 31 * PRIME1.
#define XXH_LANE(init, v) \
	IMULQ rp2, v \
	ADDQ  init, v \
	ROLQ  $31, v \
	IMULQ rp1, v

// XXH_MERGE(v, h): h ^= round(0, v); h = h*PRIME1 + PRIME4 (v clobbered).
#define XXH_MERGE(v, h) \
	IMULQ rp2, v \
	ROLQ  $31, v \
	IMULQ rp1, v \
	XORQ  v, h \
	IMULQ rp1, h \
	ADDQ  p4, h

// XXH_AVAL(h, t): the avalanche up to its last step; the low 32 bits of h
// are then the folded hash. t is clobbered.
#define XXH_AVAL(h, t) \
	MOVQ  h, t \
	SHRQ  $33, t \
	XORQ  t, h \
	IMULQ rp2, h \
	MOVQ  h, t \
	SHRQ  $29, t \
	XORQ  t, h \
	IMULQ rp3, h

// ADDR4X: AX = the two IPv4 addresses at rpkt+26 (Ethernet, tags skipped) in
// wire order, smaller first. Clobbers BX, CX, rlen. Not fast_amd64.s's
// ADDR4 (one MOVBEQQ, RORX, CMOV, BSWAPQ): two 32-bit MOVBE loads compared
// and a raw load rotated, no byte swap; each kernel keeps the sequence it
// was measured with, so the two are not merged.
#define ADDR4X \
	MOVBELL 26(rpkt), BX \
	MOVBELL 30(rpkt), CX \
	MOVQ    26(rpkt), AX \
	RORXQ   $32, AX, rlen \
	CMPL    BX, CX \
	CMOVQHI rlen, AX

// PORTW(off, r, t): r = the two ports at rpkt+off in wire order, smaller
// first (bswap, compare with the halves swapped, CMOV, bswap). Clobbers t.
// fast_amd64.s's PORTS orders them the same way with MOVL and ROLL for
// the swap (RORXL here): other instructions, so not merged.
#define PORTW(off, r, t) \
	MOVL    off(rpkt), r \
	BSWAPL  r \
	RORXL   $16, r, t \
	CMPL    r, t \
	CMOVLHI t, r \
	BSWAPL  r

// PORTS_WANTED(t, nolabel): jump to nolabel unless the mode DX asks for
// ports (bit 0) and the protocol CX has them (portProtoBytes). Clobbers t.
#define PORTS_WANTED(t, nolabel) \
	TESTQ $1, DX \
	JZ    nolabel \
	LEAQ  ·portProtoBytes(SB), t \
	CMPB  (t)(CX*1), $0 \
	JEQ   nolabel

// INNER_IP(min, slowlabel): the inner IP header at rpkt+BX is put at
// rpkt+14 (rpkt and rlen move on by BX-14); jump to slowlabel when it
// starts past the packet or fewer than min bytes are left from rpkt.
#define INNER_IP(min, slowlabel) \
	CMPL BX, rlen \
	JA   slowlabel \
	SUBL $14, BX \
	ADDQ BX, rpkt \
	SUBL BX, rlen \
	CMPL rlen, min \
	JB   slowlabel

// func fastXXH(ptrs *unsafe.Pointer, lens *uint16, n int, mode uint64, seed uint32, out *uint32) (slow uint64)
//
// The express path of sym_xxhash. mode: bit 0 ports (4-tuple), bit 1
// inner. It takes Ethernet with at most two VLAN tags (TPID 0x8100,
// 0x88a8, 0x9100), then IPv4 with a 20-byte header or IPv6 (extension
// headers skipped as the Go parser does, at most 8); in an inner mode,
// when that outer header (not a fragment) opens a tunnel, the tunnel's
// common forms: IP-in-IP, GRE (version 0, no routing) carrying IP or
// Ethernet (NVGRE), VXLAN, GTP-U G-PDU without optional fields, and then
// the inner Ethernet or IP header by the same rules (no second tunnel is
// opened: the mode is then mode&1). It builds the key in registers
// exactly as fastCRCSSE42 does, and stores its folded XXH64 (seed) in
// out[i]. Every other packet is left (anything malformed, truncated or
// less common on the way, where the Go parser decides what is hashed):
// its bit is set in slow and out[i] is not written. n <= 64. Consecutive
// packets are independent, so the out-of-order core overlaps their
// multiply chains.
//
// Needs BMI2 (RORX), MOVBE and POPCNT (checked with the assembly parser's
// features, useFastParse).
TEXT ·fastXXH(SB), NOSPLIT, $88-56
	BURST_ENTER
	MOVQ $0, slow+48(FP)
	XXH_PRIMES
	MOVL seed+32(FP), AX
	MOVQ PRIME5, BX
	ADDQ AX, BX
	LEAQ 8(BX), CX
	MOVQ CX, s8
	LEAQ 12(BX), CX
	MOVQ CX, s12
	XXH_LANES
	NEGQ ridx
	JZ   done

loop:
	MOVWLZX (rlens)(ridx*2), rlen
	CMPL    rlen, $34
	JB      slow
	MOVQ    (rptrs)(ridx*8), rpkt
	MOVQ    rpkt, l2base
	MOVQ    mode+24(FP), AX
	MOVQ    AX, emode

	// l2: an Ethernet frame at rpkt (after up to two VLAN tags: their
	// bytes skipped, rpkt and rlen moved on by 4 each), rlen >= 34 bytes.
l2:
	IPV4_20(rpkt, notv4)

	// v4: IPv4 with a 20-byte header at rpkt+14, rlen >= 34 bytes from
	// rpkt.
v4:
	MOVQ    emode, DX
	TESTQ   DX, DX
	JZ      v4addr // outer_tuple2
	TESTW   $0xff3f, 20(rpkt)
	JNZ     v4addr // a fragment: addresses only, never opened
	MOVBLZX 23(rpkt), CX // protocol
	TESTQ   $2, DX
	JZ      v4ports

	// Inner mode: IP-in-IP, GRE, UDP to 4789 or 2152 open a tunnel.
	PROTO_IN(PROTO_TUNNEL, BX, open4, v4ports)
	CMPL    CX, $17
	JNE     v4ports
	CMPL    rlen, $38
	JB      v4addr // UDP without its ports: no tunnel, no ports
	UDP_TUNNEL(36(rpkt), BX, open4)

v4ports:
	PORTS_WANTED(BX, v4addr)
	CMPL  rlen, $38
	JB    v4addr
	PORTW(34, DX, CX)
	ADDR4X
	MOVQ  s12, BX
	XXH_WORD(AX, BX)
	XXH_HALF(DX, BX)
	JMP   v4aval

v4addr:
	ADDR4X
	MOVQ s8, BX
	XXH_WORD(AX, BX)

v4aval:
	XXH_AVAL(BX, AX)
	MOVL BX, (routp)(ridx*4)
	INCQ ridx
	JNZ  loop
	RET

notv4:
	MOVWLZX 12(rpkt), AX
	CMPW    AX, ET_IPV6
	JNE     tpid
	IPV6_VERSION(14(rpkt))
	JNE     slow

	// v6: IPv6 at rpkt+14, rlen >= 54 bytes from rpkt.
v6:
	MOVQ    $32, klen
	MOVQ    emode, DX
	TESTQ   DX, DX
	JNZ     v6modes
	CMPL    rlen, $54 // outer_tuple2: the addresses, whatever follows
	JB      slow
	JMP     v6addr

v6modes:
	CMPL    rlen, $58
	JB      slow
	MOVBLZX 20(rpkt), CX // next header
	TESTQ   $2, DX
	JZ      v6class

	// Inner mode: IP-in-IP, GRE, UDP to 4789 or 2152 open a tunnel.
	CMPL    CX, $47
	JEQ     open6
	CMPL    CX, $41
	JEQ     open6
	CMPL    CX, $4
	JEQ     open6
	CMPL    CX, $17
	JNE     v6class
	UDP_TUNNEL(56(rpkt), AX, open6)

v6class:
	V6_CLASS(AX, AX)
	JNZ     v6p
	CMPL    CX, $47 // a tunnel protocol not opened: no ports
	JEQ     v6addr
	CMPL    CX, $41
	JEQ     v6addr
	CMPL    CX, $4
	JEQ     v6addr

	// v6walk: CX is an extension header (0, 43, 44, 60) at rpkt+BX. Up
	// to 8 are skipped; a truncated chain, or too long a chain, leaves
	// the addresses only. DX: a fragment header with an offset or M.
	MOVL $54, BX
	XORL DX, DX
	MOVQ $8, pw // headers left (pw is not in use yet)

v6wloop:
	CMPL    CX, $44
	JEQ     v6wfrag
	CMPL    CX, $60
	JEQ     v6wopt
	CMPL    CX, $43
	JEQ     v6wopt
	TESTL   CX, CX
	JNZ     v6wdone

v6wopt:
	V6_EXT_SKIP(rpkt, BX, rlen, AX, v6addr)
	JMP     v6wnext

	// Not fastCRCSSE42's v6frag: that one leaves the walk at a fragment
	// with an offset or M; here it is noted in DX (CMOV) and the walk
	// goes on to the L4 header (a tunnel behind it is still not opened).
v6wfrag:
	LEAL    8(BX), AX
	CMPL    AX, rlen
	JA      v6addr
	MOVBLZX (rpkt)(BX*1), CX
	MOVL    AX, BX
	MOVL    $1, AX
	TESTW   $0xf9ff, -6(rpkt)(BX*1) // offset or M
	CMOVLNE AX, DX

v6wnext:
	DECQ pw
	JNZ  v6wloop
	PROTO_IN(PROTO_V6EXT, AX, v6addr, v6wdone) // a ninth extension header: addresses only

	// v6wdone: CX is the protocol of the L4 header at rpkt+BX; DX is set
	// for a fragment.
v6wdone:
	TESTL DX, DX
	JNZ   v6addr // a fragment: addresses only, never opened
	MOVQ  emode, DX
	TESTQ $2, DX
	JZ    v6wports
	CMPL  CX, $47
	JEQ   open
	CMPL  CX, $41
	JEQ   open
	CMPL  CX, $4
	JEQ   open
	CMPL  CX, $17
	JNE   v6wports
	LEAL  4(BX), AX
	CMPL  AX, rlen
	JA    v6addr // UDP without its ports: no tunnel, no ports
	UDP_TUNNEL(2(rpkt)(BX*1), AX, open)

v6wports:
	PORTS_WANTED(AX, v6addr)
	LEAL    4(BX), AX
	CMPL    AX, rlen
	JA      v6addr
	MOVL    (rpkt)(BX*1), AX
	BSWAPL  AX
	RORXL   $16, AX, CX
	CMPL    AX, CX
	CMOVLHI CX, AX
	BSWAPL  AX
	MOVQ    AX, pw
	MOVQ    $36, klen
	JMP     v6addr

v6p:
	SHRL  $1, AX // 1: a protocol with ports
	ANDL  DX, AX // and ports wanted (mode bit 0)
	TESTL $1, AX
	JZ    v6addr
	PORTW(54, BX, CX)
	MOVQ  BX, pw
	MOVQ  $36, klen

v6addr:
	V6_ORDER(rpkt) // AX: smaller address, BX: larger

	// The four lanes over the 32 address bytes, then the merge.
	MOVQ (AX), CX
	MOVQ 8(AX), DX
	MOVQ (BX), rpkt
	MOVQ 8(BX), rlen
	XXH_LANE(v1i, CX)
	XXH_LANE(v2i, DX)
	XXH_LANE(v3i, rpkt)
	XXH_LANE(v4i, rlen)
	RORXQ $63, CX, AX // rotl 1
	RORXQ $57, DX, BX // rotl 7
	ADDQ  BX, AX
	RORXQ $52, rpkt, BX // rotl 12
	ADDQ  BX, AX
	RORXQ $46, rlen, BX // rotl 18
	ADDQ  BX, AX
	XXH_MERGE(CX, AX)
	XXH_MERGE(DX, AX)
	XXH_MERGE(rpkt, AX)
	XXH_MERGE(rlen, AX)
	MOVQ  klen, CX
	ADDQ  CX, AX
	CMPL  CX, $36
	JNE   v6aval
	MOVQ  pw, BX
	XXH_HALF(BX, AX)

v6aval:
	XXH_AVAL(AX, BX)
	MOVL AX, (routp)(ridx*4)
	INCQ ridx
	JNZ  loop
	RET

	// tpid: the EtherType AX is a VLAN TPID (0x8100, 0x88a8, 0x9100):
	// the frame is parsed again 4 bytes on; a third tag is for the
	// general code. The test is parse_amd64.h's TPID_TEST; the skip is
	// not fastCRCSSE42's (tag1, tag2 move rpkt on and reload the
	// EtherType, unrolled; here l2 runs again, tags counted by l2base).
tpid:
	TPID_TEST(tag)
	JNE   slow

tag:
	MOVQ  l2base, BX
	SUBQ  rpkt, BX // -4 * the tags skipped so far
	CMPQ  BX, $-8
	JLE   slow
	ADDQ  $4, rpkt
	SUBL  $4, rlen
	CMPL  rlen, $34
	JAE   l2

	// open4, open6: the outer IPv4 or IPv6 header at rpkt+14, protocol
	// CX, opens a tunnel whose header is at rpkt+BX (34 or 54). Unlike
	// fastCRCSSE42's tunnel, rpkt stays at the frame and BX is the offset,
	// so only the runs in parse_amd64.h (GTP_HDR, GTP_EXT, IP_VERSION,
	// GRE_OPTS, GRE_NEXT) are shared with it.
open6:
	MOVL $54, BX
	JMP  open

open4:
	MOVL $34, BX

open:
	MOVQ emode, AX
	ANDL $1, AX
	MOVQ AX, emode // one level only
	CMPL CX, $4
	JEQ  in4
	CMPL CX, $41
	JEQ  in6
	CMPL CX, $47
	JEQ  ogre

	// UDP to 4789 (VXLAN: Ethernet after 8 bytes of UDP and 8 of VXLAN)
	// or 2152 (GTP-U).
	LEAL 8(BX), AX
	CMPL AX, rlen
	JA   slow
	CMPW 2(rpkt)(BX*1), PORT_VXLAN
	JNE  ogtpu
	ADDL $16, BX
	JMP  eth

	// GTP-U: version 1, PT 1, G-PDU; 8 bytes of header, 4 more when E,
	// S or PN is set, then with E the extension headers while the next
	// type is not 0 (4*length bytes each, length 0 malformed); IPv4 or
	// IPv6 by the version nibble.
ogtpu:
	LEAL    16(BX), AX
	CMPL    AX, rlen
	JA      slow
	GTP_HDR(8(rpkt)(BX*1), 9(rpkt)(BX*1), AX, slow)
	ADDL    $16, BX
	TESTL   $7, DX // E, S or PN
	JZ      gtpip
	LEAL    4(BX), AX
	CMPL    AX, rlen
	JA      slow
	MOVBLZX 3(rpkt)(BX*1), CX // next extension type
	MOVL    AX, BX
	TESTL   $4, DX // E
	JZ      gtpip
	GTP_EXT(rpkt, BX, rlen, AX, gtpext, gtpip, slow)

gtpip:
	CMPL    BX, rlen
	JAE     slow
	IP_VERSION((rpkt)(BX*1), AX, in4, in6, slow)

	// GRE version 0, routing bit clear: 4 bytes plus 4 per C, K, S bit,
	// then IPv4, IPv6 or Ethernet (0x6558).
ogre:
	LEAL    4(BX), AX
	CMPL    AX, rlen
	JA      slow
	GRE_OPTS((rpkt)(BX*1), slow)
	MOVWLZX 2(rpkt)(BX*1), CX
	LEAL    4(BX)(DX*4), BX
	GRE_NEXT(in4, in6, eth, slow)

	// in4, in6: an inner IPv4 or IPv6 header at rpkt+BX (BX >= 34):
	// rpkt and rlen move on so that it is at rpkt+14, and the header is
	// parsed by v4 or v6.
in4:
	INNER_IP($34, slow)
	CMPB 14(rpkt), $0x45 // version 4, IHL 5
	JEQ  v4
	JMP  slow

in6:
	INNER_IP($54, slow)
	IPV6_VERSION(14(rpkt))
	JEQ     v6
	JMP     slow

	// eth: an inner Ethernet frame at rpkt+BX, parsed from l2.
eth:
	CMPL BX, rlen
	JA   slow
	ADDQ BX, rpkt
	SUBL BX, rlen
	CMPL rlen, $34
	JB   slow
	MOVQ rpkt, l2base
	JMP  l2

slow:
	SLOW_BIT(loop)

done:
	RET

// Frame slots of xxhKeysAsm past fastXXH's: the two index lists (keys
// shorter than 32 bytes, the others), the short keys' count, the long
// keys' count and the loop index of the long keys.
#define nshort countshort-80(SP)
#define nlong countlong-88(SP)
#define jlong indexlong-96(SP)
#define lshort listshort-160(SP)
#define llong listlong-224(SP)

// func xxhKeysAsm(k *key, n int, seed uint32, out *uint32)
//
// xxhKeysGeneric in assembly for the keys the parsers make (0, 8, 12, 32
// or 36 bytes) and n <= 64: out[i] = the folded XXH64(seed) of key i, 0
// for an empty key. Branch-free per key: key lengths on mixed traffic
// follow no pattern a predictor learns. The keys are first split into two
// index lists by a branch-free partition (shorter than 32 bytes: one
// 8-byte step; 32 or more: the four lanes), each list is then hashed in a
// straight loop, with the 4-byte step always computed and taken by CMOV
// when the length has 4 in it, and an empty key's hash replaced by 0 by
// CMOV. Consecutive keys are independent: the out-of-order core overlaps
// their multiply chains. Needs BMI2 (RORX).
TEXT ·xxhKeysAsm(SB), NOSPLIT, $224-32
	MOVQ k+0(FP), SI
	MOVQ n+8(FP), R8
	MOVQ out+24(FP), DI
	XXH_PRIMES
	MOVL seed+16(FP), AX
	MOVQ PRIME5, R9 // R9: seed + PRIME5
	ADDQ AX, R9
	XXH_LANES
	TESTQ R8, R8
	JZ    kdone

	// The partition: index i goes to both lists, and the count of the
	// list it belongs to moves on (BX short, CX - BX long).
	LEAQ lshort, R10
	LEAQ llong, R11
	XORL BX, BX
	XORL CX, CX
	MOVQ SI, AX

kpart:
	MOVL CX, DX
	SUBL BX, DX
	MOVB CX, (R10)(BX*1)
	MOVB CX, (R11)(DX*1)
	CMPL key_n(AX), $32 // CF: shorter than 32
	ADCL $0, BX
	ADDQ $key__size, AX
	INCL CX
	CMPL CX, R8
	JB   kpart
	MOVQ BX, nshort
	SUBQ BX, R8
	MOVQ R8, nlong
	XORL CX, CX
	TESTQ BX, BX
	JZ    klong

	// Keys shorter than 32 bytes (8, 12 or empty): h = seed + PRIME5 +
	// len, the first word, the 4-byte step when len has 4.
kshort:
	MOVBLZX (R10)(CX*1), DX // i
	IMUL3Q  $key__size, DX, R11
	ADDQ    SI, R11 // &keys[i]
	MOVL    key_n(R11), R8
	LEAQ    (R9)(R8*1), AX
	MOVQ    key_w(R11), BX
	XXH_WORD(BX, AX)
	MOVLQZX key_w+8(R11), BX
	MOVQ    AX, R11
	XXH_HALF(BX, R11)
	TESTL   $4, R8
	CMOVQNE R11, AX
	XXH_AVAL(AX, BX)
	TESTL   R8, R8
	CMOVLEQ R8, AX // an empty key hashes to 0
	MOVL    AX, (DI)(DX*4)
	INCL    CX
	CMPL    CX, nshort
	JB      kshort

klong:
	CMPQ nlong, $0
	JEQ  kdone
	MOVQ $0, jlong

	// Keys of 32 bytes or more (32 or 36): the four lanes, the merge,
	// h += len, the 4-byte step when len has 4.
kloop:
	LEAQ    llong, R10
	MOVQ    jlong, CX
	MOVBLZX (R10)(CX*1), DX // i
	IMUL3Q  $key__size, DX, R11
	ADDQ    SI, R11 // &keys[i]
	MOVQ    key_w(R11), BX
	MOVQ    key_w+8(R11), CX
	MOVQ    key_w+16(R11), R8
	MOVQ    key_w+24(R11), R9
	XXH_LANE(v1i, BX)
	XXH_LANE(v2i, CX)
	XXH_LANE(v3i, R8)
	XXH_LANE(v4i, R9)
	RORXQ   $63, BX, AX
	RORXQ   $57, CX, R10
	ADDQ    R10, AX
	RORXQ   $52, R8, R10
	ADDQ    R10, AX
	RORXQ   $46, R9, R10
	ADDQ    R10, AX
	XXH_MERGE(BX, AX)
	XXH_MERGE(CX, AX)
	XXH_MERGE(R8, AX)
	XXH_MERGE(R9, AX)
	MOVL    key_n(R11), R8
	ADDQ    R8, AX
	MOVLQZX key_w+32(R11), BX
	MOVQ    AX, R10
	XXH_HALF(BX, R10)
	TESTL   $4, R8
	CMOVQNE R10, AX
	XXH_AVAL(AX, BX)
	MOVL    AX, (DI)(DX*4)
	MOVQ    jlong, CX
	INCQ    CX
	MOVQ    CX, jlong
	CMPQ    CX, nlong
	JB      kloop

kdone:
	RET
