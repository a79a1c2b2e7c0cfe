package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto"
	"github.com/gomarsio/marsio/ctrlproto/monit"
	"github.com/gomarsio/marsio/internal/daemontest"
)

const grantConfig = `
[eal]
memory=128
[pool:MZ0]
size=2047
cache=0
[port:p0]
devargs=net_null0
[port:p1]
devargs=net_null1
[port:bad]
devargs=net_pcap9,rx_pcap=/nonexistent/in.pcap
[vdev:open]
port=p0
rx_streams_max=4
tx_streams_max=2
hold_rx=1
[vdev:private]
port=p1
apps=owner
hold_rx=1
[vdev:broken]
port=bad
`

func wantCode(t *testing.T, what string, err error, code int32, text string) {
	t.Helper()
	var re *daemontest.ReplyError
	if !errors.As(err, &re) || re.Code != code || !strings.Contains(re.Text, text) {
		t.Errorf("%s: got %v, want code %d with %q", what, err, code, text)
	}
}

func statusCode(t *testing.T, m *ctrlproto.Message, err error) (int32, string) {
	t.Helper()
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	code := int32(binary.LittleEndian.Uint32(m.Param))
	off := daemontest.OffStatusRepStrerr
	switch len(m.Param) {
	case daemontest.SizeofRegisterRep:
		off = daemontest.OffRegisterRepStrerr
	case daemontest.SizeofVdevOpenRep:
		off = daemontest.OffVdevOpenRepStrerr
	case daemontest.SizeofVdevFdsRep:
		return code, ""
	}
	s := string(m.Param[off:])
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return code, s
}

// TestBadRequests: every kind of bad request gets a clear error, the
// daemon keeps serving, and no mbuf is lost.
func TestBadRequests(t *testing.T) {
	d := daemontest.Start(t, daemontest.Options{Config: grantConfig, Args: []string{"-status-interval", "20ms"}})
	st := d.Status(t)
	if !strings.HasPrefix(st.Vdevs[2].State, "port failed: port bad: rte_dev_probe(net_pcap9") {
		t.Errorf("broken port state: %q", st.Vdevs[2].State)
	}
	if !strings.Contains(d.Log(), "ERROR: port bad") {
		t.Errorf("port failure not logged")
	}
	initial := st.Pools[0].Available

	c, err := daemontest.Register(d.Prefix, "app1", 2, 128)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Deregister()
	rq := func(name string, p []byte, fds []int) (int32, string) {
		m, err := c.Request(name, p, fds)
		return statusCode(t, m, err)
	}

	// Register: wrong size, wrong version, no liveness fd, duplicate live appsym.
	req := daemontest.RegisterRequest("x", os.Getpid(), 1, 0)
	code, text := rq(daemontest.MsgRegister, req[:100], nil)
	if code != daemontest.MrEINVAL || !strings.Contains(text, "request of 100 bytes, want 256") {
		t.Errorf("short register: %d %q", code, text)
	}
	bad := append([]byte(nil), req...)
	binary.LittleEndian.PutUint32(bad, 99)
	code, text = rq(daemontest.MsgRegister, bad, nil)
	if code != daemontest.MrEABI || !strings.Contains(text, fmt.Sprintf("ABI version 99, daemon has %d", daemontest.ABIVersion)) {
		t.Errorf("version: %d %q", code, text)
	}
	code, text = rq(daemontest.MsgRegister, req, nil)
	if code != daemontest.MrEINVAL || !strings.Contains(text, "exactly one fd") {
		t.Errorf("no fd: %d %q", code, text)
	}
	sp, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	code, text = rq(daemontest.MsgRegister, daemontest.RegisterRequest("app1", os.Getpid(), 1, 0), sp[1:2])
	if code != daemontest.MrEBUSY || !strings.Contains(text, `appsym "app1" is already registered by live pid`) {
		t.Errorf("duplicate appsym: %d %q", code, text)
	}
	unix.Close(sp[0])
	unix.Close(sp[1])
	big := daemontest.RegisterRequest("y", os.Getpid(), 1, 9999)
	code, text = rq(daemontest.MsgRegister, big, []int{int(c.Live.Fd())})
	if code != daemontest.MrEINVAL || !strings.Contains(text, "cache_size 9999: must be <= 512") {
		t.Errorf("cache size: %d %q", code, text)
	}

	// Open: unknown devsym, too many streams, not granted, broken port, twice.
	_, err = c.Open("nope", 1, 1)
	wantCode(t, "unknown devsym", err, daemontest.MrENODEV, `no vdev "nope"`)
	_, err = c.Open("open", 5, 1)
	wantCode(t, "too many rx streams", err, daemontest.MrEINVAL, "5 rx streams, must be 1..4")
	_, err = c.Open("open", 1, 3)
	wantCode(t, "too many tx streams", err, daemontest.MrEINVAL, "3 tx streams, must be 0..2")
	_, err = c.Open("private", 1, 1)
	wantCode(t, "not granted", err, daemontest.MrEDENIED, `app "app1" may not open "private"`)
	_, err = c.Open("broken", 1, 1)
	wantCode(t, "broken port", err, daemontest.MrENODEV, "rte_dev_probe(net_pcap9")
	v, err := c.Open("open", 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Open("open", 1, 1)
	wantCode(t, "open twice", err, daemontest.MrEBUSY, `vdev "open" is already open by app1`)
	// Stale generation.
	stale := c.VdevOpenRequest("open", 1, 1)
	binary.LittleEndian.PutUint64(stale[8:], c.Generation+5)
	code, text = rq(daemontest.MsgVdevOpen, stale, nil)
	if code != daemontest.MrENOTREG || !strings.Contains(text, "is stale") {
		t.Errorf("stale generation: %d %q", code, text)
	}
	// Fds beyond the streams.
	fq := make([]byte, daemontest.SizeofVdevFdsReq)
	binary.LittleEndian.PutUint32(fq[0:], c.Slot)
	binary.LittleEndian.PutUint32(fq[4:], v.Index)
	binary.LittleEndian.PutUint32(fq[8:], 9)
	if code, _ = rq(daemontest.MsgVdevFds, fq, nil); code != daemontest.MrEINVAL {
		t.Errorf("fds beyond streams: %d", code)
	}

	// A peer that vanishes mid-request: it registers and is gone before
	// reading the reply (its liveness end closed): the daemon frees it.
	fds, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	ch, err := ctrlproto.Open(c.H.RuntimeDir(), ctrlproto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	go ch.Request("", &ctrlproto.Message{Type: ctrlproto.TypeReq, Name: daemontest.MsgRegister,
		Param: daemontest.RegisterRequest("ghost", os.Getpid(), 1, 0), Fds: fds[1:2]}, time.Second)
	time.Sleep(5 * time.Millisecond)
	unix.Close(fds[0])
	unix.Close(fds[1])
	ch.Close()

	// The daemon still serves: the good vdev works (net_null: traffic).
	if !v.Wait(0, 2*time.Second) {
		t.Error("no traffic on open/0")
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	after := time.Now().UnixNano()
	st2, ok := d.WaitStatus(t, 3*time.Second, func(s *monit.Daemon) bool {
		if s.General.UpdateTime < after {
			return false
		}
		for _, a := range s.Apps {
			if a.Appsym == "ghost" {
				return false
			}
		}
		return s.Pools[0].Available == initial && s.Vdevs[0].State == "idle"
	})
	if !ok {
		t.Errorf("after the bad requests: %d of %d available, apps %+v", st2.Pools[0].Available, initial, st2.Apps)
	}
	for _, want := range []string{"refused: MR_EABI", "refused: MR_EDENIED", "refused: MR_EBUSY", "refused: MR_ENODEV"} {
		if !strings.Contains(d.Log(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestConfigErrors: a bad config is one clear line naming file, section,
// key and why, and a non-zero exit.
func TestConfigErrors(t *testing.T) {
	bin := daemontest.Binary(t)
	dir := t.TempDir()
	cfg := dir + "/mrglobal.conf"
	os.WriteFile(cfg, []byte("[service]\nmp_cache_size=9999\n"), 0o644)
	out, err := exec.Command(bin, "-config", cfg, "-run-dir", dir).CombinedOutput()
	want := "mrzcpd: config " + cfg + ": [service] mp_cache_size=9999: must be <= 512\n"
	if err == nil || string(out) != want {
		t.Errorf("got %v %q, want exit 1 and %q", err, out, want)
	}
	out, err = exec.Command(bin, "-config", dir+"/missing.conf", "-run-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no such file") {
		t.Errorf("missing config: %v %q", err, out)
	}
	out, err = exec.Command(bin, "-default-config", "-check", "-run-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "config "+dir+"/mrzcpd-default.conf: ok (1 pools, 1 ports, 1 vdevs)") {
		t.Errorf("embedded config: %v %q", err, out)
	}
}
