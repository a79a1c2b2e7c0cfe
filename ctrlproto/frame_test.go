package ctrlproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	for _, m := range []*Message{
		{Type: TypeReq, Name: "x"},
		{Type: TypeRep, Name: strings.Repeat("n", MaxNameLen), Param: bytes.Repeat([]byte{7}, MaxParamLen)},
		{Type: TypeMsg, Name: "with_fds", Param: []byte{1, 2, 3}, Fds: []int{5, 6}},
		{Type: TypeIgn, Name: "ign"},
	} {
		b, err := AppendFrame(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != FrameSize {
			t.Fatalf("frame %d bytes, want %d", len(b), FrameSize)
		}
		got, err := DecodeFrame(b, m.Fds)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != m.Type || got.Name != m.Name || !bytes.Equal(got.Param, m.Param) || len(got.Fds) != len(m.Fds) {
			t.Errorf("round trip %+v -> %+v", m, got)
		}
	}
}

func TestFrameEncodeLimits(t *testing.T) {
	for _, m := range []*Message{
		{Name: ""},
		{Name: strings.Repeat("n", MaxNameLen+1)},
		{Name: "p", Param: make([]byte, MaxParamLen+1)},
		{Name: "f", Fds: make([]int, MaxFds+1)},
	} {
		if _, err := AppendFrame(nil, m); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%q: %v, want ErrTooLarge", m.Name, err)
		}
	}
}

func TestFrameDecodeMalformed(t *testing.T) {
	good, _ := AppendFrame(nil, &Message{Type: TypeReq, Name: "ok", Param: []byte{1}})
	mod := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	ne := binary.NativeEndian
	for name, tc := range map[string]struct {
		b   []byte
		fds []int
	}{
		"short":            {b: good[:FrameSize-1]},
		"long":             {b: append(append([]byte(nil), good...), 0)},
		"empty":            {b: nil},
		"type":             {b: mod(func(b []byte) { ne.PutUint32(b, 9) })},
		"negative type":    {b: mod(func(b []byte) { ne.PutUint32(b, 0xffffffff) })},
		"empty name":       {b: mod(func(b []byte) { b[4] = 0 })},
		"unterminated":     {b: mod(func(b []byte) { copy(b[4:4+64], bytes.Repeat([]byte{'a'}, 64)) })},
		"len_param big":    {b: mod(func(b []byte) { ne.PutUint32(b[4+64:], MaxParamLen+1) })},
		"len_param neg":    {b: mod(func(b []byte) { ne.PutUint32(b[4+64:], 0x80000000) })},
		"num_fds big":      {b: mod(func(b []byte) { ne.PutUint32(b[4+68:], MaxFds+1) })},
		"fds missing":      {b: mod(func(b []byte) { ne.PutUint32(b[4+68:], 2) }), fds: []int{3}},
		"num_fds negative": {b: mod(func(b []byte) { ne.PutUint32(b[4+68:], 0xffffffff) })},
	} {
		if _, err := DecodeFrame(tc.b, tc.fds); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: %v, want ErrFrame", name, err)
		}
	}
}

// goldenFrames are datagrams captured from DPDK 22.11's own primary
// (dpdk-testpmd) by TestTestpmdGolden with GOMARSIO_UPDATE_GOLDEN=1.
var goldenFrames = []struct {
	file string
	typ  Type
	name string
	plen int
}{
	{"bus_vdev_mp_scan_one.bin", TypeMsg, "bus_vdev_mp", 72},
	{"bus_vdev_mp_reply.bin", TypeRep, "bus_vdev_mp", 72},
	{"mp_malloc_sync_req.bin", TypeReq, "mp_malloc_sync", 80},
	{"mp_malloc_response.bin", TypeMsg, "mp_malloc_response", 80},
}

func TestGoldenFrames(t *testing.T) {
	for _, g := range goldenFrames {
		b, err := os.ReadFile(filepath.Join("testdata", g.file))
		if err != nil {
			t.Fatalf("%v (regenerate: GOMARSIO_UPDATE_GOLDEN=1 go test -run TestTestpmdGolden ./ctrlproto)", err)
		}
		m, err := DecodeFrame(b, nil)
		if err != nil {
			t.Fatalf("%s: %v", g.file, err)
		}
		if m.Type != g.typ || m.Name != g.name || len(m.Param) != g.plen {
			t.Errorf("%s: %s %q param %d, want %s %q %d", g.file, m.Type, m.Name, len(m.Param), g.typ, g.name, g.plen)
		}
		// Our encoder must produce DPDK's bytes for the fields it defines
		// (DPDK leaves the rest of name/param uninitialised stack bytes in
		// some senders, so compare the decoded form again).
		re, err := AppendFrame(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := DecodeFrame(re, nil)
		if err != nil || m2.Name != m.Name || !bytes.Equal(m2.Param, m.Param) || m2.Type != m.Type {
			t.Errorf("%s: re-encode differs: %+v vs %+v (%v)", g.file, m2, m, err)
		}
		if !bytes.Equal(re[:4+64], b[:4+64]) && strings.Count(string(b[4:4+64]), "\x00") == 64-len(m.Name) {
			t.Errorf("%s: header bytes differ from DPDK's", g.file)
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, g := range goldenFrames {
		if b, err := os.ReadFile(filepath.Join("testdata", g.file)); err == nil {
			f.Add(b, uint8(0))
		}
	}
	good, _ := AppendFrame(nil, &Message{Type: TypeReq, Name: "seed", Param: []byte("abc")})
	f.Add(good, uint8(1))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, nfds uint8) {
		fds := make([]int, nfds%10)
		for i := range fds {
			fds[i] = 100 + i
		}
		m, err := DecodeFrame(b, fds)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("error not ErrFrame: %v", err)
			}
			return
		}
		if len(m.Name) == 0 || len(m.Name) > MaxNameLen || len(m.Param) > MaxParamLen || len(m.Fds) > MaxFds {
			t.Fatalf("decoded out-of-range message %+v", m)
		}
		re, err := AppendFrame(nil, m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := DecodeFrame(re, m.Fds)
		if err != nil || m2.Type != m.Type || m2.Name != m.Name || !bytes.Equal(m2.Param, m.Param) {
			t.Fatalf("round trip: %+v vs %+v (%v)", m2, m, err)
		}
	})
}
