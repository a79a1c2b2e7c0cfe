package pcapio

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"
)

func TestRoundTripAndGopacket(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	pkts := [][]byte{{1, 2, 3}, make([]byte, 1500), {}}
	for i, p := range pkts {
		if err := w.WritePacket(base.Add(time.Duration(i)*time.Microsecond), p, len(p)+i); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()

	r, err := NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType != LinkTypeEthernet {
		t.Fatalf("link type %d", r.LinkType)
	}
	for i, p := range pkts {
		rec, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.Data, p) || rec.OrigLen != len(p)+i || !rec.Time.Equal(base.Add(time.Duration(i)*time.Microsecond)) {
			t.Fatalf("record %d: got %v/%d/%v", i, len(rec.Data), rec.OrigLen, rec.Time)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after last record: %v, want io.EOF", err)
	}

	// An independent reader agrees.
	gr, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		data, ci, err := gr.ReadPacketData()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, p) || ci.Length != len(p)+i {
			t.Fatalf("gopacket record %d differs", i)
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, in := range [][]byte{nil, make([]byte, 24), append([]byte{0xd4, 0xc3, 0xb2, 0xa1}, make([]byte, 20)...)} {
		r, err := NewReader(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("%v does not match ErrFormat", err)
			}
			continue
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("empty file: %v", err)
		}
	}
	// A record header promising more bytes than there are.
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	_ = w.WritePacket(time.Unix(0, 0), make([]byte, 10), 10)
	_ = w.Flush()
	r, _ := NewReader(bytes.NewReader(buf.Bytes()[:buf.Len()-3]))
	if _, err := r.Next(); !errors.Is(err, ErrFormat) {
		t.Fatalf("short record: %v", err)
	}
}
