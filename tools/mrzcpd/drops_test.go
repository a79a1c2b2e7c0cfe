package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
)

// dropConfig: traffic forever, no hold_rx (the daemon drops while no app
// has the vdev open), small rings (an app that does not read fills them).
const dropConfig = `
[eal]
memory=256
[pool:MZ0]
size=8191
cache=0
[port:p0]
devargs=net_pcap0,rx_pcap=${RUN_DIR}/in.pcap,infinite_rx=1
[vdev:vxe0]
port=p0
ring_size=256
`

// TestDropReasons: the status file carries each drop reason of a vdev as
// its own counter: no_app while nobody has the vdev open (at least the
// older no_app.drops, read before it), rx_ring_full once an app holds it open without
// reading; the reserved reasons stay 0 and the port reports rx_nombuf.
func TestDropReasons(t *testing.T) {
	_, in := genPcap(t, 20, 200)
	d := daemontest.Start(t, daemontest.Options{Config: dropConfig, Files: map[string][]byte{"in.pcap": in},
		Args: []string{"-status-interval", "20ms"}})
	st, ok := d.WaitStatus(t, 10*time.Second, func(s *monit.Daemon) bool { return s.Vdevs[0].Drops.NoApp > 1000 })
	if !ok {
		t.Fatalf("no no_app drops: %+v", st.Vdevs[0])
	}
	v := st.Vdevs[0]
	if v.Drops.NoApp < v.NoApp.Drops || v.Drops.RxRingFull != 0 || v.Drops.Filtered != 0 || v.Drops.Malformed != 0 {
		t.Errorf("idle vdev drops %+v (no_app counters %+v)", v.Drops, v.NoApp)
	}
	cmd := exec.Command(testApp(t), "-prefix", d.Prefix, "-appsym", "holder", "-mode", "hold")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.Contains(sc.Text(), "HOLDING") {
	}
	st, ok = d.WaitStatus(t, 10*time.Second, func(s *monit.Daemon) bool { return s.Vdevs[0].Drops.RxRingFull > 1000 })
	if !ok {
		t.Fatalf("no rx_ring_full drops with a full ring: %+v", st.Vdevs[0])
	}
	v = st.Vdevs[0]
	var sum uint64
	for _, s := range v.Rx {
		sum += s.Daemon.Drops
	}
	// The worker keeps counting while the status is built (streams read
	// after the vdev): equal up to a few bursts.
	if diff := int64(sum) - int64(v.Drops.RxRingFull); diff < -4096 || diff > 4096 {
		t.Errorf("rx_ring_full %d, the streams' drops %d", v.Drops.RxRingFull, sum)
	}
	t.Logf("drops %+v, port rx_nombuf %d", v.Drops, st.Ports[0].RxNoMbuf)
}
