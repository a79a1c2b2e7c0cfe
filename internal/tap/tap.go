// Package tap creates the kernel TAP representor of a vdev, in pure Go
// (/dev/net/tun and rtnetlink through golang.org/x/sys/unix, no cgo).
//
// A representor is a kernel network interface standing for one vdev: it
// carries the vdev's MAC, MTU and configured addresses, so kernel tools and
// sockets see the device. The application hands received frames to the
// kernel with WriteToKernel (one copy); frames the kernel transmits out of
// the interface come back through ReadFromKernel (non-blocking) or the
// callback given to StartReader, and the caller sends them out of the vdev
// on a tx stream it reserves for that purpose. Both directions are counted.
//
// Lifetime: the interface exists while the Tap is open. Close removes it;
// so does the kernel when the process dies (the TAP is not persistent unless
// Config.Persist asks for it). Interfaces are marked with an alias
// "gomarsio:<appsym>:<pid>:<start>" and CleanupStale removes those whose
// process is gone (persistent leftovers of a crashed application).
//
// Every call that talks to the kernel works in the network namespace of the
// calling OS thread, like any socket call.
package tap

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrBadName: the interface name (given or derived) is not usable.
	ErrBadName = errors.New("tap: bad interface name")
	// ErrNameClash: an interface of that name already exists.
	ErrNameClash = errors.New("tap: interface name already in use")
	// ErrPermission: creating or configuring the interface needs
	// CAP_NET_ADMIN in the network namespace.
	ErrPermission = errors.New("tap: permission denied (CAP_NET_ADMIN needed)")
	// ErrNoTun: /dev/net/tun is missing (modprobe tun, or a container
	// without the device).
	ErrNoTun = errors.New("tap: /dev/net/tun not available")
	// ErrBadConfig: a Config field is invalid.
	ErrBadConfig = errors.New("tap: bad configuration")
	// ErrClosed: the Tap is closed.
	ErrClosed = errors.New("tap: closed")
	// ErrReaderRunning: ReadFromKernel or StartReader while StartReader's
	// goroutine owns the read side.
	ErrReaderRunning = errors.New("tap: reader goroutine is running")
)

// Config describes one representor.
type Config struct {
	// DevSym is the vdev's symbol; the interface name derives from it
	// (IfName) unless Name is set.
	DevSym string
	// Name, when set, is the interface name to use as is (CheckName).
	Name string
	// AppSym names the owning application in the interface alias.
	AppSym string
	// MAC is the vdev's Ethernet address (6 bytes, unicast); empty keeps
	// the kernel's random address.
	MAC net.HardwareAddr
	// MTU is the vdev's MTU (68..65535); 0 keeps the kernel default (1500).
	MTU int
	// Addrs are assigned to the interface (IPv4 and IPv6; IPv6 without
	// duplicate address detection).
	Addrs []netip.Prefix
	// Persist keeps the interface when the file descriptor is closed by a
	// crash (TUNSETPERSIST); Close still removes it. Leftovers are removed
	// by CleanupStale.
	Persist bool
}

// Stats are the representor's counters. "ToKernel" is WriteToKernel,
// "FromKernel" is what the kernel transmitted out of the interface.
type Stats struct {
	ToKernelPackets, ToKernelBytes, ToKernelErrors       uint64
	FromKernelPackets, FromKernelBytes, FromKernelErrors uint64
}

// Tap is an open representor. WriteToKernel is safe for concurrent use;
// the read side has one owner (ReadFromKernel callers or StartReader).
type Tap struct {
	name  string
	index int32
	mac   net.HardwareAddr
	mtu   int

	mu      sync.RWMutex // R: an fd in use; W: Close
	closed  bool
	fd      int
	f       *os.File
	reading atomic.Bool
	done    chan struct{}

	toPkts, toBytes, toErrs       atomic.Uint64
	fromPkts, fromBytes, fromErrs atomic.Uint64
}

// Create makes, configures and brings up the TAP interface of cfg in the
// calling thread's network namespace. On error nothing is left behind.
func Create(cfg Config) (*Tap, error) {
	name := cfg.Name
	if name == "" {
		n, err := IfName(cfg.DevSym)
		if err != nil {
			return nil, err
		}
		name = n
	} else if err := CheckName(name); err != nil {
		return nil, err
	}
	if len(cfg.MAC) != 0 && (len(cfg.MAC) != 6 || cfg.MAC[0]&1 != 0 || isZero(cfg.MAC)) {
		return nil, fmt.Errorf("%w: MAC %v is not a unicast Ethernet address", ErrBadConfig, cfg.MAC)
	}
	if cfg.MTU != 0 && (cfg.MTU < 68 || cfg.MTU > 65535) {
		return nil, fmt.Errorf("%w: MTU %d outside 68..65535", ErrBadConfig, cfg.MTU)
	}
	for _, p := range cfg.Addrs {
		if !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
			return nil, fmt.Errorf("%w: address %v", ErrBadConfig, p)
		}
	}
	alias, err := Marker(cfg.AppSym, os.Getpid())
	if err != nil {
		return nil, err
	}

	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) {
			return nil, fmt.Errorf("%w: %w", ErrNoTun, err)
		}
		return nil, fmt.Errorf("tap %s: open /dev/net/tun: %w", name, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %q: %w", ErrBadName, name, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_TUN_EXCL)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tap %s: create: %w", name, classify(err))
	}
	t := &Tap{name: name, fd: fd, mtu: cfg.MTU}
	fail := func(what string, err error) (*Tap, error) {
		if cfg.Persist {
			_ = unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 0)
		}
		unix.Close(fd) // a non-persistent TAP disappears with its last fd
		return nil, fmt.Errorf("tap %s: %s: %w", name, what, classify(err))
	}
	if cfg.Persist {
		if err := unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 1); err != nil {
			return fail("set persistent", err)
		}
	}
	nl, err := dialNetlink()
	if err != nil {
		return fail("netlink", err)
	}
	defer nl.close()
	ifr, _ = unix.NewIfreq(name)
	if err := unix.IoctlIfreq(nl.fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return fail("get ifindex", err)
	}
	t.index = int32(ifr.Uint32())
	if err := nl.setLink(t.index, cfg.MAC, cfg.MTU, alias, true); err != nil {
		return fail("set MAC/MTU/alias/up", err)
	}
	for _, p := range cfg.Addrs {
		if err := nl.addAddr(t.index, p); err != nil {
			return fail("add address "+p.String(), err)
		}
	}
	ls, err := nl.links()
	if err != nil {
		return fail("read back link", err)
	}
	for _, l := range ls {
		if l.index == t.index {
			t.mac = net.HardwareAddr(l.mac)
			t.mtu = l.mtu
		}
	}
	t.f = os.NewFile(uintptr(fd), "/dev/net/tun:"+name)
	return t, nil
}

// classify maps kernel errnos to the package's sentinels (keeping the
// errno in the chain).
func classify(err error) error {
	switch {
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		return fmt.Errorf("%w: %w", ErrPermission, err)
	case errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST):
		return fmt.Errorf("%w: %w", ErrNameClash, err)
	}
	return err
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Name is the interface name.
func (t *Tap) Name() string { return t.name }

// Index is the interface index (in the namespace it was created in).
func (t *Tap) Index() int { return int(t.index) }

// MAC is the interface's Ethernet address as the kernel reported it.
func (t *Tap) MAC() net.HardwareAddr { return t.mac }

// MTU is the interface's MTU as the kernel reported it.
func (t *Tap) MTU() int { return t.mtu }

// WriteToKernel hands one Ethernet frame to the kernel as if the interface
// had received it. The frame is copied; the caller keeps its buffer.
func (t *Tap) WriteToKernel(frame []byte) error {
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		return ErrClosed
	}
	n, err := writeRetry(t.fd, frame)
	t.mu.RUnlock()
	if err == nil && n != len(frame) {
		err = fmt.Errorf("short write %d of %d", n, len(frame))
	}
	if err != nil {
		t.toErrs.Add(1)
		return fmt.Errorf("tap %s: write to kernel: %w", t.name, err)
	}
	t.toPkts.Add(1)
	t.toBytes.Add(uint64(n))
	return nil
}

func writeRetry(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Write(fd, b)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// ReadFromKernel copies the next frame the kernel transmitted into buf and
// returns its length, or 0 when none is waiting (it never blocks). A frame
// longer than buf is truncated to len(buf) and counted as an error; size
// buf for MTU+14 (+4 with VLAN tags) bytes.
func (t *Tap) ReadFromKernel(buf []byte) (int, error) {
	if t.reading.Load() {
		return 0, ErrReaderRunning
	}
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		return 0, ErrClosed
	}
	var n int
	var err error
	for {
		n, err = unix.Read(t.fd, buf)
		if err != unix.EINTR {
			break
		}
	}
	t.mu.RUnlock()
	if err == unix.EAGAIN {
		return 0, nil
	}
	if err != nil {
		t.fromErrs.Add(1)
		return 0, fmt.Errorf("tap %s: read from kernel: %w", t.name, err)
	}
	t.countFrom(n, len(buf))
	return n, nil
}

func (t *Tap) countFrom(n, size int) {
	if n >= size {
		t.fromErrs.Add(1) // possibly truncated
	}
	t.fromPkts.Add(1)
	t.fromBytes.Add(uint64(n))
}

// StartReader starts a goroutine that waits (in Go's netpoller, no OS
// thread held) for frames the kernel transmits and calls fn with each. The
// frame is valid only during the call. The goroutine ends at Close; from
// then ReadFromKernel is refused until Close.
func (t *Tap) StartReader(fn func(frame []byte)) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return ErrClosed
	}
	if !t.reading.CompareAndSwap(false, true) {
		return ErrReaderRunning
	}
	size := t.mtu + 18
	if size < 65536 {
		size = 65536
	}
	t.done = make(chan struct{})
	go func(buf []byte) {
		defer close(t.done)
		for {
			n, err := t.f.Read(buf)
			if err != nil {
				if errors.Is(err, os.ErrClosed) {
					return
				}
				t.fromErrs.Add(1)
				// Not a tight loop on a persistent error (e.g. EIO):
				// back off a little; Close still ends us at once.
				time.Sleep(10 * time.Millisecond)
				continue
			}
			t.countFrom(n, len(buf))
			fn(buf[:n])
		}
	}(make([]byte, size))
	return nil
}

// Stats returns a snapshot of the counters.
func (t *Tap) Stats() Stats {
	return Stats{
		ToKernelPackets: t.toPkts.Load(), ToKernelBytes: t.toBytes.Load(), ToKernelErrors: t.toErrs.Load(),
		FromKernelPackets: t.fromPkts.Load(), FromKernelBytes: t.fromBytes.Load(), FromKernelErrors: t.fromErrs.Load(),
	}
}

// Close removes the interface (also a persistent one) and stops the
// reader goroutine, waiting for it. A second Close returns ErrClosed.
func (t *Tap) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	t.closed = true
	// Clearing the persist flag makes closing the last fd unregister the
	// interface, in whatever namespace it now lives: no netlink needed.
	_ = unix.IoctlSetInt(t.fd, unix.TUNSETPERSIST, 0)
	err := t.f.Close()
	done := t.done
	t.mu.Unlock()
	if done != nil {
		<-done
	}
	if err != nil {
		return fmt.Errorf("tap %s: close: %w", t.name, err)
	}
	return nil
}
