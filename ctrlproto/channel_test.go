package ctrlproto

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/internal/testenv"
)

// fakePrimary binds <dir>/mp_socket as a channel, so tests can play both
// sides without DPDK.
func fakePrimary(t *testing.T, dir string) *Channel {
	t.Helper()
	p, err := Listen(filepath.Join(dir, PrimarySocket), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestOpenNoPrimary(t *testing.T) {
	testenv.CheckFDLeaks(t)
	if _, err := Open(t.TempDir(), Options{}); !errors.Is(err, ErrNoPrimary) {
		t.Fatalf("got %v, want ErrNoPrimary", err)
	}
}

func TestRequestReplyAndFds(t *testing.T) {
	testenv.CheckFDLeaks(t)
	dir := t.TempDir()
	p := fakePrimary(t, dir)
	var (
		mu  sync.Mutex
		got []byte
	)
	p.Handle("echo_fd", func(m *Message, peer string) (*Message, error) {
		if len(m.Fds) != 1 {
			return nil, errors.New("want one fd")
		}
		defer unix.Close(m.Fds[0])
		buf := make([]byte, 16)
		n, _ := unix.Read(m.Fds[0], buf)
		mu.Lock()
		got = buf[:n]
		mu.Unlock()
		return &Message{Param: append([]byte("re:"), m.Param...)}, nil
	})
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	unix.Write(fds[1], []byte("via fd"))
	unix.Close(fds[1])
	rep, err := c.Request("", &Message{Name: "echo_fd", Param: []byte("hi"), Fds: []int{fds[0]}}, 2*time.Second)
	unix.Close(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	carried := string(got)
	mu.Unlock()
	if rep.Type != TypeRep || rep.Name != "echo_fd" || string(rep.Param) != "re:hi" || carried != "via fd" {
		t.Errorf("reply %+v, fd carried %q", rep, carried)
	}
	path := c.Path()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket %s still exists after Close", path)
	}
	if _, err := c.Request("", &Message{Name: "echo_fd"}, time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("request after close: %v", err)
	}
}

func TestRequestTimeoutAndIgnore(t *testing.T) {
	testenv.CheckFDLeaks(t)
	dir := t.TempDir()
	p := fakePrimary(t, dir)
	p.Handle("silent", func(*Message, string) (*Message, error) { return nil, nil })
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Request("", &Message{Name: "silent"}, 100*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Errorf("silent peer: %v, want ErrTimeout", err)
	}
	if _, err := c.Request("", &Message{Name: "unknown_action"}, 2*time.Second); !errors.Is(err, ErrIgnored) {
		t.Errorf("unknown action: %v, want ErrIgnored", err)
	}
	// A second request with the same name while one is pending.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.Request("", &Message{Name: "silent"}, 300*time.Millisecond) }()
	time.Sleep(50 * time.Millisecond)
	if _, err := c.Request("", &Message{Name: "silent"}, time.Second); !errors.Is(err, ErrBusy) {
		t.Errorf("duplicate pending request: %v, want ErrBusy", err)
	}
	wg.Wait()
}

// TestMalformedDatagrams sends garbage and oversize datagrams (with fds,
// which must be closed, not leaked) at a channel: each is dropped and the
// channel keeps working.
func TestMalformedDatagrams(t *testing.T) {
	testenv.CheckFDLeaks(t)
	dir := t.TempDir()
	p := fakePrimary(t, dir)
	p.Handle("ping", func(*Message, string) (*Message, error) { return &Message{}, nil })
	var mu sync.Mutex
	var errs []error
	c, err := Open(dir, Options{OnError: func(e error) { mu.Lock(); errs = append(errs, e); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(s)
	to := &unix.SockaddrUnix{Name: c.Path()}
	var pipe [2]int
	unix.Pipe2(pipe[:], unix.O_CLOEXEC)
	good, _ := AppendFrame(nil, &Message{Type: TypeMsg, Name: "x"})
	for _, b := range [][]byte{
		{1, 2, 3},
		make([]byte, FrameSize+1),
		make([]byte, 64*1024),
		good[:FrameSize-4],
	} {
		if err := unix.Sendmsg(s, b, unix.UnixRights(pipe[0], pipe[1]), to, 0); err != nil {
			t.Fatal(err)
		}
	}
	unix.Close(pipe[0])
	unix.Close(pipe[1])
	if _, err := c.Request("", &Message{Name: "ping"}, 2*time.Second); err != nil {
		t.Fatalf("channel broken after garbage: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for c.Dropped() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	var frameErrs int
	for _, e := range errs {
		if errors.Is(e, ErrFrame) {
			frameErrs++
		}
	}
	if frameErrs != 4 {
		t.Errorf("%d ErrFrame reports, want 4: %v", frameErrs, errs)
	}
}

// TestTestpmdGolden talks to DPDK's own primary: the bus_vdev_mp scan
// request (reply and per-vdev messages) and a heap allocation request that
// makes the primary broadcast mp_malloc_sync to us. With
// GOMARSIO_UPDATE_GOLDEN=1 the received frames are written to testdata/.
func TestTestpmdGolden(t *testing.T) {
	testenv.CheckFDLeaks(t)
	tp := testenv.StartTestpmd(t, testenv.TestpmdOptions{MemMB: 64,
		Args: []string{"--forward-mode=io", "--total-num-mbufs=2048"}})
	var mu sync.Mutex
	frames := map[string][]byte{}
	c, err := Open(tp.RuntimeDir, Options{Tap: func(b []byte, _ string) {
		m, err := DecodeFrame(b, nil)
		if err != nil {
			return
		}
		key := m.Name + "/" + m.Type.String()
		mu.Lock()
		if _, ok := frames[key]; !ok {
			frames[key] = b
		}
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Handle("bus_vdev_mp", func(*Message, string) (*Message, error) { return nil, nil })
	req := make([]byte, 72)
	binary.NativeEndian.PutUint32(req, 1) // VDEV_SCAN_REQ
	rep, err := c.Request("", &Message{Name: "bus_vdev_mp", Param: req}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.NativeEndian.Uint32(rep.Param[4:]); n != 2 {
		t.Errorf("primary reports %d vdevs, want 2", n)
	}

	// mp_malloc_sync: we map nothing here, so answering success is true.
	ne := binary.NativeEndian
	synced := make(chan uint64, 4)
	c.Handle("mp_malloc_sync", func(m *Message, _ string) (*Message, error) {
		r := make([]byte, 80)
		ne.PutUint32(r, 2)
		ne.PutUint64(r[64:], ne.Uint64(m.Param[64:]))
		synced <- ne.Uint64(m.Param[64:])
		return &Message{Param: r}, nil
	})
	id := rand.Uint64()
	done := make(chan uint32, 1)
	c.Handle("mp_malloc_response", func(m *Message, _ string) (*Message, error) {
		if ne.Uint64(m.Param[64:]) == id {
			done <- ne.Uint32(m.Param[72:])
		}
		return nil, nil
	})
	p := make([]byte, 80)
	ne.PutUint64(p[16:], 2<<20) // page_sz
	ne.PutUint64(p[24:], 8<<20) // elt_size
	ne.PutUint64(p[40:], 64)    // align
	ne.PutUint64(p[64:], id)
	if err := c.Send("", &Message{Name: "mp_malloc_request", Param: p}); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res != 0 {
			t.Fatalf("allocation result %d", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no mp_malloc_response")
	}
	select {
	case <-synced:
	default:
		t.Fatal("primary grew its heap without mp_malloc_sync")
	}

	mu.Lock()
	defer mu.Unlock()
	want := map[string]string{
		"bus_vdev_mp/MP_MSG":        "bus_vdev_mp_scan_one.bin",
		"bus_vdev_mp/MP_REP":        "bus_vdev_mp_reply.bin",
		"mp_malloc_sync/MP_REQ":     "mp_malloc_sync_req.bin",
		"mp_malloc_response/MP_MSG": "mp_malloc_response.bin",
	}
	for key, file := range want {
		b, ok := frames[key]
		if !ok {
			t.Errorf("no %s frame received", key)
			continue
		}
		if os.Getenv("GOMARSIO_UPDATE_GOLDEN") == "1" {
			if err := os.WriteFile(filepath.Join("testdata", file), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
