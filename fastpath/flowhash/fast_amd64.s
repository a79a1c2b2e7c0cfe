//go:build amd64 && gc && !purego

#include "go_asm.h"
#include "textflag.h"
#include "parse_amd64.h"

// Code layout. The express loops are bound by how fast the front end
// delivers their instructions, which depends on where they fall in 64-byte
// code windows: moving a loop by a few bytes changed its speed by up to
// 10 % (and the IPv6 and general code's by as much). So the hot labels are
// placed at fixed offsets modulo 64, each by PCALIGN $64 (which also
// aligns the function to 64 bytes) and dead filler bytes after an
// unconditional jump (PAD8, INT3): top at 18, x2o at 1, x4o at 0, x4i at
// 27 (then x6 at 4 and next at 20), the offsets they had before the
// outer_tuple4 pair loop grew, where they measured well. Code added
// before one of them no longer moves it; code added inside a section
// moves the rest of it (re-measure, then adjust the filler). The sections
// use the parsing macros of parse_amd64.h, shared with fastXXH: a change
// there moves code here too.
#define PAD8 BYTE $0xcc; BYTE $0xcc; BYTE $0xcc; BYTE $0xcc; BYTE $0xcc; BYTE $0xcc; BYTE $0xcc; BYTE $0xcc

// Registers of fastCRCSSE42 besides rptrs, rlens, routp, ridx and rpkt
// (parse_amd64.h).
#define rplen R11 // general code: bytes from rpkt on
#define rtab R11  // express loops: &portProtoBytes (reloaded at top)
#define rcrc R12
#define rpw R13  // general code: tunnels may be opened (before PORTS), then the port word;
                 // outer_tuple4 express loop: the second packet of a pair
#define rseed R14

// TPID(taglabel, nextlabel): jump to taglabel when the EtherType AX is a
// VLAN TPID (0x8100, 0x88a8, 0x9100), else to nextlabel.
#define TPID(taglabel, nextlabel) \
	TPID_TEST(taglabel) \
	JEQ  taglabel \
	JMP  nextlabel

// TUNNEL(tunnellabel, nextlabel): when tunnels may be opened (rpw != 0: an
// inner mode, outer header), jump to tunnellabel when the L4 protocol CX
// (header at rpkt+AX) opens a tunnel: IP-in-IP (4, 41), GRE (47), or UDP to
// port 4789 or 2152 (when the port is inside the packet). Clobbers DX.
#define TUNNEL(tunnellabel, nextlabel) \
	TESTL rpw, rpw \
	JZ    nextlabel \
	PROTO_IN(PROTO_TUNNEL, DX, tunnellabel, nextlabel) \
	CMPL  CX, $17 \
	JNE   nextlabel \
	LEAL  4(AX), DX \
	CMPL  DX, rplen \
	JA    nextlabel \
	UDP_TUNNEL(2(rpkt)(AX*1), DX, tunnellabel)

// PORTS(nextlabel, highlabel, havelabel): in a 4-tuple mode, when the L4
// protocol CX has ports (TCP 6, UDP 17, SCTP 132, UDP-Lite 136: the same set
// as portProtos) and the 4 port bytes at rpkt+AX are inside the packet, set BX to 1 and
// rpw to the two ports in wire order, smaller first. Clobbers DX, rcrc.
//
// Ordering trick (also used for the IPv4 addresses): x = bswap(load) is
// sport<<16 | dport, y = rotate(x, 16) is dport<<16 | sport, and min(x, y)
// is min<<16 | max; bswap turns it back into wire order. Three ALU ops and
// a CMOV, no branch.
#define PORTS(nextlabel, highlabel, havelabel) \
	TESTQ $1, mode+24(FP) \
	JZ    nextlabel \
	CMPL  CX, $64 \
	JAE   highlabel \
	MOVQ  $(1<<6|1<<17), DX \
	BTQ   CX, DX \
	JCC   nextlabel \
	JMP   havelabel \
highlabel: \
	CMPL  CX, $132 \
	JEQ   havelabel \
	CMPL  CX, $136 \
	JNE   nextlabel \
havelabel: \
	LEAL  4(AX), DX \
	CMPL  DX, rplen \
	JA    nextlabel \
	MOVL  (rpkt)(AX*1), DX \
	BSWAPL DX \
	MOVL  DX, rcrc \
	ROLL  $16, rcrc \
	CMPL  DX, rcrc \
	CMOVLHI rcrc, DX \
	BSWAPL DX \
	MOVL  DX, rpw \
	MOVL  $1, BX

// ADDR4: AX = the two IPv4 addresses at rpkt+26 (untagged Ethernet) in
// wire order, smaller first: one big-endian load (saddr<<32 | daddr),
// its rotation, unsigned min by CMOV, and a byte swap back. Clobbers DX.
#define ADDR4 \
	MOVBEQQ 26(rpkt), AX \
	RORXQ   $32, AX, DX \
	CMPQ    AX, DX \
	CMOVQHI DX, AX \
	BSWAPQ  AX

// KEY4V: AX = the two IPv4 addresses at rpkt+26 (untagged Ethernet) and
// DX the two ports at rpkt+34, each pair in wire order, smaller first, built in
// the vector unit (keeping the integer ALUs for parsing and CRC32): one
// load of bytes 22..37, two shuffles into host-order lanes [sa, da,
// sp<<16|dp] and [da, sa, dp<<16|sp], unsigned min and max, a blend
// taking lane 1 from the max, and a shuffle back to wire order.
// Needs X12-X14 = kshufBack, kshufA, kshufB. Clobbers X0-X3.
#define KEY4V \
	VMOVDQU  22(rpkt), X0 \
	VPSHUFB  X13, X0, X1 \
	VPSHUFB  X14, X0, X2 \
	VPMINUD  X2, X1, X3 \
	VPMAXUD  X2, X1, X1 \
	VPBLENDD $2, X1, X3, X3 \
	VPSHUFB  X12, X3, X3 \
	VMOVQ    X3, AX \
	VPEXTRD  $2, X3, DX

// V4PORTS(p, faillabel): jump to faillabel unless the frame at p (of at
// least 38 bytes) is untagged IPv4 with a 20-byte header, not a fragment,
// and a protocol with ports (portProtoBytes at rtab); CX is then the
// protocol. Clobbers AX, CX.
#define V4PORTS(p, faillabel) \
	IPV4_20(p, faillabel) \
	MOVL    20(p), CX \
	TESTW   $0xff3f, CX \
	JNZ     faillabel \
	SHRL    $24, CX \
	CMPB    (rtab)(CX*1), $0 \
	JEQ     faillabel

// V4PAIR(faillabel): jump to faillabel unless both frames, rpkt and R13
// (each of at least 38 bytes), pass V4PORTS's test; else Y3 = bytes 22..37
// of rpkt (low half) and of R13 (high half). One 32-byte load per frame
// (bytes 6..37): the header halves (6..21) XOR the expected bytes
// (kv4exp: EtherType 0x0800 at 6, version 4 and IHL 5 at 8) are zero
// where they match; the protocol (key half byte 1) is one of 6, 17, 132,
// 136 exactly when it equals kprotoTab[protocol & 15] (the four have
// distinct low nibbles); VPBLENDW takes word 0 (the protocol's
// difference) from the key halves, and one VPTEST with kv4test (the
// protocol, EtherType, version/IHL, MF and fragment offset bits) decides.
// Needs Y8-Y11 = kv4exp, knibble, kprotoTab, kv4test. Clobbers Y0-Y4.
#define V4PAIR(faillabel) \
	VMOVDQU     6(rpkt), Y0 \
	VMOVDQU     6(R13), Y1 \
	VINSERTI128 $1, X1, Y0, Y2 \
	VPERM2I128  $0x31, Y1, Y0, Y3 \
	VPXOR       Y8, Y2, Y2 \
	VPAND       Y9, Y3, Y4 \
	VPSHUFB     Y4, Y10, Y4 \
	VPXOR       Y3, Y4, Y4 \
	VPBLENDW    $1, Y4, Y2, Y2 \
	VPTEST      Y11, Y2 \
	JNZ         faillabel

// KEY4P: KEY4V on both key halves of Y3 (from V4PAIR): rpkt's key in
// AX (addresses) and DX (ports), R13's in CX and BX.
// Needs Y12-Y14. Clobbers Y0, Y1, Y3, X4.
#define KEY4P \
	VPSHUFB      Y13, Y3, Y0 \
	VPSHUFB      Y14, Y3, Y1 \
	VPMINUD      Y1, Y0, Y3 \
	VPMAXUD      Y1, Y0, Y0 \
	VPBLENDD     $0x22, Y0, Y3, Y3 \
	VPSHUFB      Y12, Y3, Y3 \
	VMOVQ        X3, AX \
	VPEXTRD      $2, X3, DX \
	VEXTRACTI128 $1, Y3, X4 \
	VMOVQ        X4, CX \
	VPEXTRD      $2, X4, BX

// func fastCRCSSE42(ptrs *unsafe.Pointer, lens *uint16, n int, mode uint64, seed uint32, out *uint32) (slow uint64)
//
// The whole-burst fast path of sym_crc. mode: bit 0 ports (4-tuple), bit 1
// inner. For each packet that is Ethernet, at most two VLAN tags (TPID
// 0x8100, 0x88a8, 0x9100), then IPv4 (any IHL) or IPv6 (with at most 8
// extension headers), and in an inner mode its IP-in-IP, GRE, NVGRE,
// VXLAN or GTP-U tunnel and inner packet (same rules), it parses the tuple,
// orders it branch-free (CMOV, or vector min/max), CRCs the key straight
// from registers or packet memory and writes out[i]. Express loops per
// mode take untagged IPv4 with a 20-byte header (outer_tuple4 two packets
// per round), x6 untagged IPv6 without extension headers; the general
// code (next) everything else. Every other packet (a third VLAN tag,
// anything truncated or malformed on the way, where the Go parser decides
// what is hashed) is left to the Go parser: its bit is set in slow and
// out[i] is not written. n <= 64. Consecutive packets are independent, so
// the out-of-order core keeps several packets' CRC chains in flight.
//
// With mode bit 2 (keys) out points to n keys, not hashes: every packet
// takes the general code, and the key of each packet it handles is
// written to ((*key)(out))[i] (sym_xxhash parses with this).
//
// Needs SSE4.2 (CRC32), AVX2 (VPBLENDD), BMI2 (RORX), MOVBE and POPCNT.
TEXT ·fastCRCSSE42(SB), NOSPLIT, $0-56
	BURST_ENTER
	MOVL seed+32(FP), rseed
	MOVQ $0, slow+48(FP)
	NEGQ ridx
	JZ   done
	VBROADCASTI128 kshufBack<>(SB), Y12 // constants of KEY4V and KEY4P
	VBROADCASTI128 kshufA<>(SB), Y13
	VBROADCASTI128 kshufB<>(SB), Y14
	CMPQ mode+24(FP), $1
	JNE  top
	VBROADCASTI128 kv4exp<>(SB), Y8 // constants of V4PAIR
	VBROADCASTI128 knibble<>(SB), Y9
	VBROADCASTI128 kprotoTab<>(SB), Y10
	VBROADCASTI128 kv4test<>(SB), Y11
	JMP            top
	PCALIGN        $64 // top at 18 mod 64 (see Code layout)
	PAD8
	PAD8
	BYTE           $0xcc
	BYTE           $0xcc

	// Every packet first tries the express loop of the mode, which takes
	// only untagged IPv4 with a 20-byte header (most traffic; in an inner
	// mode also not a tunnel) and hands any other packet to x6 (untagged
	// IPv6) or the general code at next, which come back here.
top:
	LEAQ  ·portProtoBytes(SB), rtab
	MOVQ  mode+24(FP), AX
	TESTQ $4, AX // keys: the general code only
	JNZ   next
	CMPQ  AX, $1
	JEQ   x4o
	JB    x2o
	CMPQ  AX, $2
	JEQ   x2i
	JMP   x4i

	// x2o: outer_tuple2. Untagged IPv4 (EtherType 0x0800, version 4,
	// IHL 5; fragments too: the key is the addresses either way).
	PCALIGN $64 // x2o at 1 mod 64
	BYTE    $0xcc
x2o:
	CMPW    (rlens)(ridx*2), $34
	JB      next
	MOVQ    (rptrs)(ridx*8), rpkt
	IPV4_20(rpkt, x6)
	ADDR4
	MOVL    rseed, rcrc
	CRC32Q  AX, rcrc
	MOVL    rcrc, (routp)(ridx*4)
	INCQ    ridx
	JNZ     x2o
	VZEROUPPER
	RET

	// x2i: inner_tuple2. As x2o, but a packet that is not a fragment and
	// whose protocol is IP-in-IP or GRE, or UDP to 4789/2152, goes to the
	// general code (tunnels).
x2i:
	CMPW    (rlens)(ridx*2), $34
	JB      next
	MOVQ    (rptrs)(ridx*8), rpkt
	IPV4_20(rpkt, x6)
	MOVL    20(rpkt), CX  // fragment word, TTL, protocol
	TESTW   $0xff3f, CX
	JNZ     x2ihash
	SHRL    $24, CX
	PROTO_IN(PROTO_TUNNEL, DX, next, x2ihash)
	CMPL    CX, $17
	JNE     x2ihash
	CMPW    (rlens)(ridx*2), $38
	JB      x2ihash
	UDP_TUNNEL(36(rpkt), DX, next)

x2ihash:
	ADDR4
	MOVL    rseed, rcrc
	CRC32Q  AX, rcrc
	MOVL    rcrc, (routp)(ridx*4)
	INCQ    ridx
	JNZ     x2i
	VZEROUPPER
	RET

	// x4o: outer_tuple4. Untagged IPv4 with a 20-byte header, not a
	// fragment, a protocol with ports (portProtoBytes), ports inside the
	// packet.
	// Two packets per round: their keys share the vector instructions.
	// An odd number left (ridx odd) first takes one packet alone.
	PCALIGN $64 // x4o at 0 mod 64 (x4opair at 13)
x4o:
	TESTQ   $1, ridx
	JNZ     x4o1

	// A pair: one 32-byte load per frame (bytes 6..37), the two header
	// halves (bytes 6..21) in one YMM and the two key halves (22..37) in
	// another; every test of both frames is one VPTEST (V4PAIR), the two
	// keys are built together (KEY4P): about 40 instructions per pair,
	// 3 fewer than with the scalar V4PORTS tests. The EtherTypes are
	// tested first, in the integer unit: a frame that is not IPv4 at all
	// (IPv6, VLAN) leaves early, without the vector work, and the branch
	// resolves soon after the load. (Storing the keys for CRC32 to read
	// from memory was slower: store forwarding; so was starting the CRC
	// with the key's first dword as the register and the seed as data,
	// which saves the two MOVs but lengthens the chain.)
x4opair:
	MOVL    (rlens)(ridx*2), CX // both lengths
	CMPW    CX, $38
	JB      next
	MOVQ    (rptrs)(ridx*8), rpkt
	CMPL    CX, $(38<<16)
	JB      x4o1
	CMPW    12(rpkt), ET_IPV4
	JNE     x6
	MOVQ    8(rptrs)(ridx*8), R13
	CMPW    12(R13), ET_IPV4
	JNE     x4o1
	V4PAIR(x4o1)
	KEY4P
	MOVL    rseed, rcrc
	CRC32Q  AX, rcrc
	CRC32L  DX, rcrc
	MOVL    rcrc, (routp)(ridx*4)
	MOVL    rseed, AX
	CRC32Q  CX, AX
	CRC32L  BX, AX
	MOVL    AX, 4(routp)(ridx*4)
	ADDQ    $2, ridx
	JNZ     x4opair
	VZEROUPPER
	RET

	// x4o1: one packet (the last, or the first of a pair that V4PAIR
	// did not take whole: it goes on to x6 or the general code alone).
x4o1:
	CMPW    (rlens)(ridx*2), $38
	JB      next
	MOVQ    (rptrs)(ridx*8), rpkt
	V4PORTS(rpkt, x6)
	KEY4V
	MOVL    rseed, rcrc
	CRC32Q  AX, rcrc
	CRC32L  DX, rcrc
	MOVL    rcrc, (routp)(ridx*4)
	INCQ    ridx
	JNZ     x4o
	VZEROUPPER
	RET

	// x4i: inner_tuple4. As x4o; of the protocols with ports only UDP to
	// 4789/2152 is a tunnel (for the general code).
	PCALIGN $64 // x4i at 27 mod 64
	PAD8
	PAD8
	PAD8
	BYTE    $0xcc
	BYTE    $0xcc
	BYTE    $0xcc
x4i:
	CMPW    (rlens)(ridx*2), $38
	JB      next
	MOVQ    (rptrs)(ridx*8), rpkt
	V4PORTS(rpkt, x6)
	CMPL    CX, $17
	JNE     x4ihash
	UDP_TUNNEL(36(rpkt), DX, next)

x4ihash:
	KEY4V
	MOVL    rseed, rcrc
	CRC32Q  AX, rcrc
	CRC32L  DX, rcrc
	MOVL    rcrc, (routp)(ridx*4)
	INCQ    ridx
	JNZ     x4i
	VZEROUPPER
	RET

	// x6: from an express loop (rpkt loaded, at least 34 bytes), a frame
	// that is not for it: untagged IPv6 goes straight to ip6, the rest
	// to next.
x6:
	CMPW    12(rpkt), ET_IPV6
	JNE     next
	MOVWLZX (rlens)(ridx*2), rplen

	// Express IPv6: at least 58 bytes (the ports inside), version 6, a
	// next header that is neither an extension header nor a tunnel
	// (v6NextClass), in an inner mode not UDP to 4789/2152.
	CMPL    rplen, $58
	JB      x6gen
	IPV6_VERSION(14(rpkt))
	JNE     x6gen
	MOVBLZX 20(rpkt), CX // next header
	V6_CLASS(DX, rpw)
	JZ      x6gen
	MOVQ    mode+24(FP), DX
	TESTQ   $2, DX
	JZ      x6mode
	CMPL    CX, $17
	JNE     x6mode
	UDP_TUNNEL(56(rpkt), CX, x6gen)

x6mode:
	SHRL    $1, rpw      // 1: a protocol with ports (class 2)
	ANDL    rpw, DX      // and ports wanted (mode bit 0): DX == 1
	V6_ORDER(rpkt)       // AX: smaller address, BX: larger
	MOVL    rseed, rcrc
	CRC32Q  (AX), rcrc
	CRC32Q  8(AX), rcrc
	CRC32Q  (BX), rcrc
	CRC32Q  8(BX), rcrc
	TESTL   DX, DX
	JZ      store
	MOVBELL 52(rpkt), BX // low 16 bits: source port
	MOVBELL 54(rpkt), CX // low 16 bits: destination port
	MOVL    54(rpkt), DX
	CMPW    BX, CX
	RORXL   $16, DX, BX
	CMOVLHI BX, DX
	CRC32L  DX, rcrc
	JMP     store

x6gen:
	MOVQ    mode+24(FP), rpw
	ANDL    $2, rpw
	ADDQ    $14, rpkt
	SUBL    $14, rplen
	JMP     ip6

	// The general code: one packet, from its Ethernet header.
next:
	MOVQ    (rptrs)(ridx*8), rpkt
	MOVWLZX (rlens)(ridx*2), rplen
	MOVQ    mode+24(FP), rpw
	ANDL    $2, rpw

	// l2: an Ethernet frame at rpkt, rplen bytes (also a VXLAN or NVGRE
	// payload). The tags are skipped unrolled (tag1, tag2), rpkt moved on
	// by 4 each; fastXXH skips them by parsing from its l2 again, so only
	// the TPID test (TPID_TEST) is shared.
l2:
	CMPL    rplen, $34
	JB      slow
	MOVWLZX 12(rpkt), AX
	TPID(tag1, l3)

tag1:
	MOVWLZX 16(rpkt), AX
	ADDQ    $4, rpkt
	SUBL    $4, rplen
	CMPL    rplen, $34
	JB      slow
	TPID(tag2, l3)

tag2:
	MOVWLZX 16(rpkt), AX // a third tag goes to the Go parser (not IPv4/IPv6)
	ADDQ    $4, rpkt
	SUBL    $4, rplen
	CMPL    rplen, $34
	JB      slow

l3:
	ADDQ $14, rpkt  // rpkt: the IP header; rplen: bytes from there
	SUBL $14, rplen
	CMPW AX, ET_IPV4
	JEQ  ip4
	CMPW AX, ET_IPV6
	JEQ  ip6
	JMP  slow

	// ip4: an IPv4 header at rpkt, rplen bytes.
ip4:
	CMPL    rplen, $20
	JB      slow
	XORL    BX, BX          // BX: the key has ports
	MOVBLZX (rpkt), AX
	MOVL    AX, DX
	ANDL    $0xf0, DX
	CMPL    DX, $0x40
	JNE     slow
	ANDL    $15, AX
	CMPL    AX, $5
	JB      slow
	SHLL    $2, AX          // AX: L4 offset
	MOVBLZX 9(rpkt), CX      // CX: protocol
	TESTW   $0xff3f, 6(rpkt) // MF or fragment offset: addresses only
	JNZ     v4addr
	TUNNEL(tunnel, v4ports)

v4ports:
	PORTS(v4addr, v4high, v4have)

v4addr:
	MOVQ    12(rpkt), AX // saddr, daddr
	BSWAPQ  AX           // saddr<<32 | daddr
	MOVQ    AX, DX
	ROLQ    $32, DX      // daddr<<32 | saddr
	CMPQ    AX, DX
	CMOVQHI DX, AX       // min<<32 | max
	BSWAPQ  AX           // wire order: min, max
	TESTQ   $4, mode+24(FP)
	JNZ     v4key
	MOVL    rseed, rcrc
	CRC32Q  AX, rcrc
	TESTL   BX, BX
	JZ      store
	CRC32L  rpw, rcrc

store:
	MOVL rcrc, (routp)(ridx*4)

nextpkt:
	INCQ ridx
	JNZ  top

done:
	VZEROUPPER
	RET

slow:
	SLOW_BIT(top)
	VZEROUPPER
	RET

	// ip6: an IPv6 header at rpkt, rplen bytes.
ip6:
	CMPL    rplen, $40
	JB      slow
	XORL    BX, BX
	IPV6_VERSION((rpkt))
	JNE     slow
	MOVBLZX 6(rpkt), CX // next header
	MOVL    $40, AX
	PROTO_IN(PROTO_V6EXT, DX, v6ext, v6l4)

v6l4:
	TUNNEL(tunnel, v6ports)

v6ports:
	PORTS(v6addr, v6high, v6have)

v6addr:
	// Order the addresses by their first differing byte (memcmp).
	VMOVDQU   8(rpkt), X0
	VPCMPEQB  24(rpkt), X0, X0
	VPMOVMSKB X0, DX
	XORL     $0x1ffff, DX // bit 16: all equal
	BSFL     DX, DX
	ANDL     $15, DX
	MOVBLZX  8(rpkt)(DX*1), CX
	MOVBLZX  24(rpkt)(DX*1), DX
	LEAQ     8(rpkt), AX   // AX: smaller address
	LEAQ     24(rpkt), rcrc // rcrc: larger address
	MOVQ     AX, rpkt
	CMPL     CX, DX
	CMOVQHI  rcrc, AX
	CMOVQHI  rpkt, rcrc
	MOVQ     rcrc, DX
	TESTQ    $4, mode+24(FP)
	JNZ      v6key
	MOVL     rseed, rcrc
	CRC32Q   (AX), rcrc
	CRC32Q   8(AX), rcrc
	CRC32Q   (DX), rcrc
	CRC32Q   8(DX), rcrc
	TESTL    BX, BX
	JZ       store
	CRC32L   rpw, rcrc
	JMP      store

	// v4key, v6key: keys mode (mode bit 2), the key goes to
	// ((*key)(out))[i]: the IPv4 address word AX or the IPv6 addresses at
	// AX (smaller) and DX, and the port word rpw when BX is set. Every
	// word of the key is written (zeros past n).
v4key:
	MOVQ  ridx, CX
	ADDQ  n+16(FP), CX
	IMULQ $key__size, CX
	ADDQ  out+40(FP), CX // &keys[i]
	MOVQ  AX, key_w(CX)
	MOVQ  $0, key_w+8(CX)
	MOVL  $8, DX
	TESTL BX, BX
	JZ    v4key1
	MOVL  rpw, key_w+8(CX)
	MOVL  $12, DX

v4key1:
	MOVQ $0, key_w+16(CX)
	MOVQ $0, key_w+24(CX)
	MOVQ $0, key_w+32(CX)
	MOVL DX, key_n(CX)
	JMP  nextpkt

v6key:
	MOVQ    ridx, CX
	ADDQ    n+16(FP), CX
	IMULQ   $key__size, CX
	ADDQ    out+40(FP), CX // &keys[i]
	VMOVDQU (AX), X0
	VMOVDQU X0, key_w(CX)
	VMOVDQU (DX), X0
	VMOVDQU X0, key_w+16(CX)
	MOVQ    $0, key_w+32(CX)
	MOVL    $32, DX
	TESTL   BX, BX
	JZ      v6key1
	MOVL    rpw, key_w+32(CX)
	MOVL    $36, DX

v6key1:
	MOVL DX, key_n(CX)
	JMP  nextpkt

	// v6ext: the IPv6 extension header CX (0, 43, 44 or 60) at rpkt+AX.
	// Up to 8 are skipped. A fragment (offset or M), a truncated chain or
	// too long a chain leave the addresses only (BX is 0). The step over
	// one header is parse_amd64.h's V6_EXT_SKIP, shared with fastXXH's
	// walk; the loop tests and the fragment step differ (fastXXH walks on
	// past a fragment to test the L4 protocol), so they stay here.
v6ext:
	MOVL $8, rcrc

v6loop:
	CMPL    CX, $44
	JEQ     v6frag
	CMPL    CX, $64
	JAE     v6l4
	MOVQ    $(1<<0|1<<43|1<<60), DX
	BTQ     CX, DX
	JCC     v6l4
	V6_EXT_SKIP(rpkt, AX, rplen, DX, v6addr)
	DECL    rcrc
	JNZ     v6loop
	JMP     v6last

v6frag:
	LEAL    8(AX), DX
	CMPL    DX, rplen
	JA      v6addr
	TESTW   $0xf9ff, 2(rpkt)(AX*1) // offset or M
	JNZ     v6addr
	MOVBLZX (rpkt)(AX*1), CX
	MOVL    DX, AX
	DECL    rcrc
	JNZ     v6loop

v6last:
	PROTO_IN(PROTO_V6EXT, DX, v6addr, v6l4)
	JMP  v6l4

	// tunnel: CX, the L4 protocol of the outer IP header at rpkt, opens
	// a tunnel whose header is at rpkt+AX. Anything that is not a well-
	// formed tunnel and inner IP header goes to the Go parser, which
	// falls back to the outer tuple.
tunnel:
	XORL rpw, rpw // one level only
	CMPL AX, rplen
	JA   slow
	ADDQ AX, rpkt // rpkt: the tunnel header
	SUBL AX, rplen
	CMPL CX, $4
	JEQ  ip4
	CMPL CX, $41
	JEQ  ip6
	CMPL CX, $47
	JEQ  gre

	// UDP to 4789 (VXLAN) or 2152 (GTP-U).
	CMPL rplen, $8
	JB   slow
	CMPW 2(rpkt), PORT_VXLAN
	JNE  gtpu
	CMPL rplen, $16
	JB   slow
	ADDQ $16, rpkt
	SUBL $16, rplen
	JMP  l2

gtpu:
	ADDQ    $8, rpkt
	SUBL    $8, rplen
	CMPL    rplen, $8
	JB      slow
	GTP_HDR((rpkt), 1(rpkt), CX, slow)
	MOVL    $8, AX
	TESTL   $7, DX      // E, S or PN
	JZ      gtpip
	MOVL    $12, AX
	CMPL    rplen, $12
	JB      slow
	TESTL   $4, DX      // E
	JZ      gtpip
	MOVBLZX 11(rpkt), CX // next extension type
	GTP_EXT(rpkt, AX, rplen, DX, gtpext, gtpip, slow)

gtpip:
	CMPL    AX, rplen
	JAE     slow
	ADDQ    AX, rpkt
	SUBL    AX, rplen
	IP_VERSION((rpkt), DX, ip4, ip6, slow)

gre:
	CMPL    rplen, $4
	JB      slow
	GRE_OPTS((rpkt), slow)
	LEAL    4(DX*4), AX
	MOVWLZX 2(rpkt), CX
	CMPL    AX, rplen
	JA      slow
	ADDQ    AX, rpkt
	SUBL    AX, rplen
	GRE_NEXT(ip4, ip6, l2, slow)

// Shuffle masks of KEY4V (bytes 22..37 of the frame: saddr at 4, daddr at
// 8, ports at 12; 0x80 zeroes a byte).
DATA kshufA<>+0(SB)/8, $0x08090a0b04050607
DATA kshufA<>+8(SB)/8, $0x808080800c0d0e0f
GLOBL kshufA<>(SB), RODATA|NOPTR, $16
DATA kshufB<>+0(SB)/8, $0x0405060708090a0b
DATA kshufB<>+8(SB)/8, $0x808080800e0f0c0d
GLOBL kshufB<>(SB), RODATA|NOPTR, $16
DATA kshufBack<>+0(SB)/8, $0x0405060700010203
DATA kshufBack<>+8(SB)/8, $0x8080808008090a0b
GLOBL kshufBack<>(SB), RODATA|NOPTR, $16
// Constants of V4PAIR, per 16-byte half (bytes 6..21 of the frame in the
// header half, 22..37 in the key half).
DATA kv4exp<>+0(SB)/8, $0x0008000000000000 // 0x08 0x00 at 6, 0x45 at 8
DATA kv4exp<>+8(SB)/8, $0x0000000000000045
GLOBL kv4exp<>(SB), RODATA|NOPTR, $16
DATA knibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA knibble<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL knibble<>(SB), RODATA|NOPTR, $16
// kprotoTab[lo] is the protocol with ports whose low nibble is lo (6, 17,
// 132, 136), else a byte with another low nibble (never equal).
DATA kprotoTab<>+0(SB)/8, $0x0006008400001101
DATA kprotoTab<>+8(SB)/8, $0x0000000000000088
GLOBL kprotoTab<>(SB), RODATA|NOPTR, $16
// kv4test: the protocol (1), EtherType (6, 7), version/IHL (8), MF and
// fragment offset (14, 15).
DATA kv4test<>+0(SB)/8, $0xffff00000000ff00
DATA kv4test<>+8(SB)/8, $0xff3f0000000000ff
GLOBL kv4test<>(SB), RODATA|NOPTR, $16
