package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"

	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/pcapgen"
	"github.com/gomarsio/marsio/internal/pcapio"
	"github.com/gomarsio/marsio/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var testTime = time.Unix(1700000000, 0)

// capConfig replays in.pcap once (no infinite_rx) into vdev vxe0; the port
// is polled only while an application (mrdump) has the vdev open, so every
// packet of the file reaches mrdump, in order (one rx stream).
const capConfig = `
[eal]
memory=128
[pool:MZ0]
size=4095
[port:p0]
devargs="net_pcap0,rx_pcap=${RUN_DIR}/in.pcap,tx_pcap=${RUN_DIR}/out.pcap"
[vdev:vxe0]
port=p0
hold_rx=1
`

func genPcap(t *testing.T, n int) ([]pcapgen.Packet, []byte) {
	t.Helper()
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: 7, Flows: 40, Packets: n})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := pcapio.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(testTime, p.Data, len(p.Data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return pkts, buf.Bytes()
}

func readPcap(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapio.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.OrigLen != len(rec.Data) {
			t.Errorf("record %d: orig len %d, captured %d", len(out), rec.OrigLen, len(rec.Data))
		}
		out = append(out, rec.Data)
	}
}

func readPcapng(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
}

func mrdump(t *testing.T, d *daemontest.Daemon, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	args = append([]string{"-marsio.status-dir", d.RunDir}, args...)
	err := run(context.Background(), args, io.Discard, &stderr)
	t.Logf("mrdump %s: %s", strings.Join(args, " "), strings.TrimSpace(stderr.String()))
	if err != nil {
		t.Fatalf("mrdump: %v", err)
	}
	return stderr.String()
}

// TestCaptureAll: a daemon fed by a generated pcap (every kind pcapgen
// makes: tunnels, fragments, malformed and truncated frames); mrdump -c N
// writes exactly the file's packets, byte for byte and in order, as pcap
// and as pcapng.
func TestCaptureAll(t *testing.T) {
	const n = 300
	for _, format := range []string{"pcap", "pcapng"} {
		t.Run(format, func(t *testing.T) {
			pkts, in := genPcap(t, n)
			d := daemontest.Start(t, daemontest.Options{Config: capConfig, Files: map[string][]byte{"in.pcap": in}})
			out := filepath.Join(t.TempDir(), "cap."+format)
			mrdump(t, d, "-dev", "vxe0", "-w", out, "-c", "300", "-duration", "60s")
			var got [][]byte
			if format == "pcap" {
				got = readPcap(t, out)
			} else {
				got = readPcapng(t, out)
			}
			if len(got) != n {
				t.Fatalf("captured %d packets, want %d", len(got), n)
			}
			for i := range got {
				if !bytes.Equal(got[i], pkts[i].Data) {
					t.Fatalf("packet %d differs:\n got %x\nwant %x", i, got[i], pkts[i].Data)
				}
			}
		})
	}
}

// TestCaptureFilter: with -f, mrdump writes exactly the packets of the file
// that the filter matches (checked against pcapgen's own tuples for plain
// IPv4/IPv6 traffic), and -forward sends every received packet on to the
// port's tx pcap.
func TestCaptureFilter(t *testing.T) {
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: 3, Flows: 30, Packets: 240,
		Mix: []pcapgen.Kind{pcapgen.Plain4, pcapgen.Plain6}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, _ := pcapio.NewWriter(&buf)
	for _, p := range pkts {
		w.WritePacket(testTime, p.Data, len(p.Data))
	}
	w.Flush()
	// The first flow's a-side address: packets to or from it, as a host filter.
	host := pkts[0].Inner.Src
	var want [][]byte
	for _, p := range pkts {
		if p.Inner.Src == host || p.Inner.Dst == host {
			want = append(want, p.Data)
		}
	}
	if len(want) == 0 || len(want) == len(pkts) {
		t.Fatalf("bad fixture: %d of %d packets match host %v", len(want), len(pkts), host)
	}
	d := daemontest.Start(t, daemontest.Options{Config: capConfig, Files: map[string][]byte{"in.pcap": buf.Bytes()}})
	out := filepath.Join(t.TempDir(), "cap.pcap")
	mrdump(t, d, "-dev", "vxe0", "-w", out, "-c", strconv.Itoa(len(want)), "-duration", "60s", "-forward",
		"host", host.String())
	got := readPcap(t, out)
	if len(got) != len(want) {
		t.Fatalf("captured %d packets, want %d (host %v)", len(got), len(want), host)
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("packet %d differs", i)
		}
	}
}

// TestUsage: -h explains the tool and the filter language; bad input is
// refused before anything is attached.
func TestUsage(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-h"}, io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"pcapng", "-forward", "portrange", "Examples", "one application at a time"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("-h lacks %q", want)
		}
	}
	for _, args := range [][]string{
		{"-dev", "vxe0"},                      // no -w
		{"-w", "x.pcap", "-f", "port banana"}, // bad filter
		{"-w", "x.pcap", "-format", "erf"},    // bad format
		{"-w", "x.pcap", "-f", "tcp", "udp"},  // filter twice
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
