package e2eref

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// touchRef is Touch written plainly (the C touch line by line): Touch,
// written for the inliner, must fold exactly the same.
func touchRef(p []byte, st *Stats) {
	if len(p) < 34 || p[12] != 0x08 || p[13] != 0x00 {
		return
	}
	ihl := int(p[14]&0x0f) * 4
	src := binary.NativeEndian.Uint32(p[26:30])
	dst := binary.NativeEndian.Uint32(p[30:34])
	var ports uint32
	if proto := p[23]; (proto == 6 || proto == 17) && len(p) >= 14+ihl+4 {
		ports = binary.NativeEndian.Uint32(p[14+ihl : 18+ihl])
	}
	st.Sum += uint64(src ^ dst ^ ports)
	st.IPv4++
}

func TestTouchMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 128)
	protos := []byte{6, 17, 132, 1, 0, 70, 81, 255}
	for i := 0; i < 200000; i++ {
		for k := range buf {
			buf[k] = byte(r.Uint32())
		}
		if r.IntN(8) != 0 {
			buf[12], buf[13] = 0x08, 0x00
		}
		buf[23] = protos[r.IntN(len(protos))]
		p := buf[:r.IntN(len(buf)+1)]
		var got, want Stats
		Touch(p, &got)
		touchRef(p, &want)
		if got != want {
			t.Fatalf("len %d ihl %d proto %d: Touch %+v, reference %+v", len(p), buf[14]&0x0f, buf[23], got, want)
		}
	}
}

func TestTouchAllocs(t *testing.T) {
	p := make([]byte, 64)
	p[12], p[14], p[23] = 0x08, 0x45, 6
	var st Stats
	if a := testing.AllocsPerRun(100, func() { Touch(p, &st) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}
