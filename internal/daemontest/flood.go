package daemontest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// LoopRingConfig is a daemon config with one looped-back net_ring port
// (one 1024-slot ring is both its rx and its tx queue), a pool large
// enough for that ring, the vdev's rings and an app's cache, and small
// stream rings: the setup of the tx-refused tests, where an app flooding
// several tx streams fills the port's ring (see StartFlood).
const LoopRingConfig = `
[eal]
memory=256
[pool:MZ0]
size=8191
[port:r0]
devargs=net_ring0
[vdev:vxe0]
port=r0
ring_size=256
`

// UDPFrame returns a 60-byte Ethernet/IPv4/UDP frame from 10.0.0.1 port
// 1000 to 10.0.0.2 port dport (zero MAC addresses and checksums): the
// frame the trace and drop tests send and filter on.
func UDPFrame(dport byte) []byte {
	f := make([]byte, 60)
	f[12], f[13] = 0x08, 0x00
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	ip[3] = 46
	copy(ip[12:], []byte{10, 0, 0, 1})
	copy(ip[16:], []byte{10, 0, 0, 2})
	ip[20], ip[21], ip[22], ip[23] = 0x03, 0xe8, 0, dport
	return f
}

// FloodReport is what testapp -mode flood prints once the daemon has
// drained its tx rings ("DRAINED {json}").
type FloodReport struct {
	Sent     uint64   `json:"sent"`     // enqueued on the tx rings (all streams)
	PerTx    []uint64 `json:"per_tx"`   // enqueued per tx stream
	Marked   int      `json:"marked"`   // dport 53 frames among Sent (last tx stream)
	Received uint64   `json:"received"` // received while draining after the flood
}

// Flooder is a running testapp in flood mode that has printed its report
// and waits for Echo.
type Flooder struct {
	Report FloodReport
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
}

// StartFlood runs testapp -mode flood as appsym on devsym with one rx and
// ntx tx streams for dur (mark: dport 53 frames on the last tx stream, see
// the testapp's doc) and waits for its report. t.Cleanup kills it by pid
// if it is still running.
func StartFlood(t testing.TB, d *Daemon, appsym, devsym string, ntx int, dur time.Duration, mark int) *Flooder {
	t.Helper()
	f := &Flooder{cmd: exec.Command(TestApp(t), "-prefix", d.Prefix, "-appsym", appsym, "-devsym", devsym, "-mode", "flood",
		"-rx", "1", "-tx", fmt.Sprint(ntx), "-duration", dur.String(), "-mark", fmt.Sprint(mark))}
	f.in, _ = f.cmd.StdinPipe()
	stdout, _ := f.cmd.StdoutPipe()
	f.cmd.Stderr = os.Stderr
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if f.cmd.ProcessState == nil {
			f.cmd.Process.Kill()
			f.cmd.Wait()
		}
	})
	f.out = bufio.NewReader(stdout)
	line, err := f.out.ReadString('\n')
	js, ok := strings.CutPrefix(line, "DRAINED ")
	if err != nil || !ok {
		t.Fatalf("testapp flood: %q %v", line, err)
	}
	if err := json.Unmarshal([]byte(js), &f.Report); err != nil {
		t.Fatalf("testapp flood: %q: %v", line, err)
	}
	return f
}

// Echo lets the flooder send its 32-frame echo burst (dport 55, tx stream
// 0), waits for it to exit and returns how many frames came back.
func (f *Flooder) Echo(t testing.TB) int {
	t.Helper()
	io.WriteString(f.in, "\n")
	line, err := f.out.ReadString('\n')
	var n int
	if _, e := fmt.Sscanf(line, "ECHOED %d", &n); e != nil || err != nil {
		t.Fatalf("testapp echo: %q %v", line, err)
	}
	if err := f.cmd.Wait(); err != nil {
		t.Fatalf("testapp: %v", err)
	}
	return n
}
