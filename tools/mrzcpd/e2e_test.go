package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/ctrlproto/mrconf"
	"github.com/gomarsio/marsio/fastpath/flowhash"
	"github.com/gomarsio/marsio/internal/daemontest"
	"github.com/gomarsio/marsio/internal/pcapgen"
	"github.com/gomarsio/marsio/internal/testenv"
	"github.com/gomarsio/marsio/tools/mrzcpd/internal/daemon"
)

// testApp is daemontest.TestApp.
func testApp(t testing.TB) string { return daemontest.TestApp(t) }

func genPcap(t *testing.T, flows, packets int) ([]pcapgen.Packet, []byte) {
	t.Helper()
	pkts, err := pcapgen.Generate(pcapgen.Config{Seed: 7, Flows: flows, Packets: packets})
	if err != nil {
		t.Fatal(err)
	}
	frames := make([][]byte, len(pkts))
	for i, p := range pkts {
		frames[i] = p.Data
	}
	path := filepath.Join(t.TempDir(), "in.pcap")
	if err := daemon.WritePcap(path, frames); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	return pkts, data
}

// readPcap reads a classic (microsecond or nanosecond) little-endian pcap.
func readPcap(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var hdr [24]byte
	if _, err := r.Read(hdr[:]); err != nil {
		t.Fatalf("pcap %s: %v", path, err)
	}
	if m := binary.LittleEndian.Uint32(hdr[:]); m != 0xa1b2c3d4 && m != 0xa1b23c4d {
		t.Fatalf("pcap %s: magic %#x", path, m)
	}
	var out [][]byte
	for {
		var rh [16]byte
		if _, err := readFull(r, rh[:]); err != nil {
			return out
		}
		n := binary.LittleEndian.Uint32(rh[8:])
		b := make([]byte, n)
		if _, err := readFull(r, b); err != nil {
			t.Fatalf("pcap %s: truncated record", path)
		}
		out = append(out, b)
	}
}

func readFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

type report struct {
	Slot     uint32 `json:"slot"`
	Received int    `json:"received"`
	Sent     int    `json:"sent"`
	Streams  []int  `json:"streams"`
	Packets  []struct {
		Stream int    `json:"s"`
		Data   string `json:"d"`
	} `json:"packets"`
}

const pcapConfig = `
[eal]
memory=256
[pool:MZ0]
size=8191
cache=0
[port:p0]
devargs=net_pcap0,rx_pcap=${RUN_DIR}/in.pcap,tx_pcap=${RUN_DIR}/out.pcap
[vdev:vxe0]
port=p0
hold_rx=1
rx_streams_max=16
tx_streams_max=4
`

// TestForwardPcap: a separate pure-Go app registers, opens vxe0 with 12 rx
// streams (more than 8: eventfds come in two messages), receives every
// packet of a generated pcap exactly once, both directions of each flow on
// one stream, on the stream flowhash says, and sends them back out; the
// tx pcap holds exactly the input packets.
func TestForwardPcap(t *testing.T) {
	pkts, in := genPcap(t, 200, 3000)
	d := daemontest.Start(t, daemontest.Options{Config: pcapConfig, Files: map[string][]byte{"in.pcap": in},
		Args: []string{"-status-interval", "100ms"}})
	repPath := d.Path("report.json")
	out, err := exec.Command(testApp(t), "-prefix", d.Prefix, "-appsym", "fwd", "-rx", "12", "-tx", "3",
		"-expect", fmt.Sprint(len(pkts)), "-timeout", "30s", "-report", repPath).CombinedOutput()
	if err != nil {
		t.Fatalf("testapp: %v\n%s", err, out)
	}
	data, err := os.ReadFile(repPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Received != len(pkts) || rep.Sent != len(pkts) {
		t.Fatalf("received %d, sent %d, want %d", rep.Received, rep.Sent, len(pkts))
	}
	h, _ := flowhash.New(flowhash.DistOuterTuple2, flowhash.HashSymCRC, 0)
	// Every packet exactly once, on the stream the library would compute.
	byData := map[string][]int{}
	for _, p := range rep.Packets {
		byData[p.Data] = append(byData[p.Data], p.Stream)
	}
	flowStream := map[int]int{}
	for _, p := range pkts {
		key := hex.EncodeToString(p.Data)
		ss := byData[key]
		if len(ss) == 0 {
			t.Fatalf("packet of flow %d (%v) not received (or received too often)", p.Flow, p.Kind)
		}
		s := ss[0]
		byData[key] = ss[1:]
		if want := int(flowhash.Distribute(h.Hash(p.Data), 12)); s != want {
			t.Fatalf("packet of flow %d on stream %d, flowhash says %d", p.Flow, s, want)
		}
		if p.Symmetric {
			if prev, ok := flowStream[p.Flow]; ok && prev != s {
				t.Fatalf("flow %d (%v) on streams %d and %d", p.Flow, p.Kind, prev, s)
			}
			flowStream[p.Flow] = s
		}
	}
	for k, ss := range byData {
		if len(ss) > 0 {
			t.Fatalf("packet %s… received %d extra times", k[:16], len(ss))
		}
	}
	used := 0
	for _, n := range rep.Streams {
		if n > 0 {
			used++
		}
	}
	t.Logf("%d packets, %d flows, per-stream %v", len(pkts), len(flowStream), rep.Streams)
	if used < 6 {
		t.Errorf("only %d of 12 streams used: %v", used, rep.Streams)
	}
	st, ok := d.WaitStatus(t, 3*time.Second, func(s *monit.Daemon) bool {
		return s.Vdevs[0].PortTx.Pkts == uint64(len(pkts)) && len(s.Apps) == 0
	})
	if !ok {
		t.Fatalf("status: port_tx %+v, apps %v", st.Vdevs[0].PortTx, st.Apps)
	}
	if st.Pools[0].Available != st.Pools[0].Size {
		t.Errorf("pool: %d of %d available after the app left", st.Pools[0].Available, st.Pools[0].Size)
	}
	if err := d.Stop(); err != nil { // closes the tx pcap
		t.Fatal(err)
	}
	got := readPcap(t, d.Path("out.pcap"))
	want := make([]string, len(pkts))
	for i, p := range pkts {
		want[i] = string(p.Data)
	}
	gotS := make([]string, len(got))
	for i, g := range got {
		gotS[i] = string(g)
	}
	slices.Sort(want)
	slices.Sort(gotS)
	if !slices.Equal(want, gotS) {
		t.Fatalf("tx pcap: %d packets, not the %d sent", len(got), len(pkts))
	}
	if files := testenv.HugepageFiles(d.Prefix); len(files) != 0 {
		t.Errorf("hugepage files left after SIGTERM: %d", len(files))
	}
	if _, err := os.Stat("/var/run/dpdk/" + d.Prefix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("runtime dir left after SIGTERM: %v", err)
	}
	if _, err := os.Stat(d.StatusPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("status file left after SIGTERM: %v", err)
	}
}

const holdConfig = `
[eal]
memory=256
[pool:MZ0]
size=8191
cache=0
[port:p0]
devargs=net_pcap0,rx_pcap=${RUN_DIR}/in.pcap,infinite_rx=1
[vdev:vxe0]
port=p0
hold_rx=1
ring_size=256
`

// TestKillReclaim: kill -9 of an app that holds mbufs in every way (its rx
// rings full of traffic, packets it received and kept, mbufs it allocated
// through its shared-memory cache and the cache itself) gives every one of
// them back to the pool.
func TestKillReclaim(t *testing.T) {
	_, in := genPcap(t, 50, 500)
	d := daemontest.Start(t, daemontest.Options{Config: holdConfig, Files: map[string][]byte{"in.pcap": in},
		Args: []string{"-status-interval", "20ms"}})
	initial := d.Status(t).Pools[0].Available
	cmd := exec.Command(testApp(t), "-prefix", d.Prefix, "-appsym", "victim", "-mode", "hold")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HOLDING") {
		t.Fatalf("testapp: %q %v", line, err)
	}
	busy, _ := d.WaitStatus(t, 2*time.Second, func(s *monit.Daemon) bool {
		return s.Pools[0].Available < initial-500 && len(s.Vdevs[0].Rx) > 0 && s.Vdevs[0].Rx[1].Daemon.Drops > 0
	})
	if len(busy.Vdevs[0].Rx) == 0 || busy.Vdevs[0].Rx[1].Daemon.Drops == 0 {
		t.Errorf("full rx rings: no drops counted: %+v", busy.Vdevs[0])
	}
	t.Logf("initial %d available; app %s; while it runs %d available", initial, strings.TrimSpace(line), busy.Pools[0].Available)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	st, ok := d.WaitStatus(t, 5*time.Second, func(s *monit.Daemon) bool {
		return s.Pools[0].Available == initial && len(s.Reclaims) == 1
	})
	if !ok {
		t.Fatalf("after kill -9: %d available, want %d; reclaims %+v", st.Pools[0].Available, initial, st.Reclaims)
	}
	r := st.Reclaims[0]
	t.Logf("back to %d available %v after kill -9: %d mbufs from rings, %d from caches, %d by owner tag",
		initial, time.Since(start).Round(time.Millisecond), r.FromRings, r.FromCache, r.FromTags)
	if r.FromRings == 0 || r.FromCache == 0 || r.FromTags < 64+50 {
		t.Errorf("reclaim did not cover every path: %+v", r)
	}
	if st.Vdevs[0].State != "idle" || len(st.Apps) != 0 {
		t.Errorf("vdev %s, apps %v", st.Vdevs[0].State, st.Apps)
	}
	// The slot and the vdev are usable again.
	c, err := daemontest.Register(d.Prefix, "victim", 1, 64)
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Open("vxe0", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	c.Deregister()
}

// TestDaemonDeath: on the embedded default config, the status file names a
// readable global config; an app sees the daemon's death (kill -9) on its
// liveness socket.
func TestDaemonDeath(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{})
	g := d.Status(t).General.GCfgfile
	if _, err := mrconf.LoadApp(g, mrconf.AppConfigPath(g, "x")); err != nil {
		t.Errorf("g_cfgfile %s: %v", g, err)
	}
	cmd := exec.Command(testApp(t), "-prefix", d.Prefix, "-mode", "waitgone")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(stdout)
	if line, err := r.ReadString('\n'); err != nil || line != "REGISTERED\n" {
		t.Fatalf("testapp: %q %v", line, err)
	}
	d.Kill()
	done := make(chan string, 1)
	go func() { l, _ := r.ReadString('\n'); done <- l }()
	select {
	case l := <-done:
		if l != "DAEMON GONE\n" {
			t.Fatalf("testapp said %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the app did not notice the daemon's death")
	}
	cmd.Wait()
}
