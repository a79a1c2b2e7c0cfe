package daemontest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gomarsio/marsio/ctrlproto"
	"github.com/gomarsio/marsio/fastpath"
	"github.com/gomarsio/marsio/shm"
)

// Layout of gen/abi/mrzcpd_abi.h as far as the test client needs it. The
// daemon's tests check every value here against the C header (cgo), so a
// change of the header that is not followed here fails there.
const (
	ABIVersion = 2
	SymbolMax  = 64

	SizeofRegisterReq   = 256
	SizeofRegisterRep   = 160
	SizeofDeregisterReq = 16
	SizeofVdevOpenReq   = 152
	SizeofVdevOpenRep   = 216
	SizeofVdevFdsReq    = 16
	SizeofVdevFdsRep    = 16
	SizeofVdevCloseReq  = 16
	SizeofStatusRep     = 136

	OffRegisterReqAppsym    = 16
	OffRegisterReqMonitFile = 80
	OffRegisterRepStrerr    = 32
	OffVdevOpenReqDevsym    = 24
	OffVdevOpenReqAppsym    = 88
	OffVdevOpenRepStrerr    = 88
	OffStatusRepStrerr      = 8

	OffRootOwnerDynfield = 36
	OffRootNrPools       = 40
	OffRootPools         = 256
	OffRootVdevs         = 1280
	SizeofPoolDesc       = 128
	OffPoolDescMempool   = 64
	SizeofVdevDesc       = 384
	OffAppZoneCaches     = 16
	OffAppZoneStride     = 24
	OffInstanceNrRx      = 12
	OffInstanceRx        = 64
	OffInstanceTx        = 16448
	SizeofRxStream       = 256
	SizeofTxStream       = 192
	OffRxStreamSleeping  = 128
)

// Error codes of the ABI (MR_E*).
const (
	MrOK      = 0
	MrEABI    = 1000
	MrENOSLOT = 1001
	MrENODEV  = 1002
	MrEBUSY   = 1003
	MrEDENIED = 1004
	MrEINVAL  = 1005
	MrENOMEM  = 1006
	MrENOTREG = 1007
)

// Action names of the ABI.
const (
	MsgRegister   = "instance_alive_register"
	MsgDeregister = "instance_deregister"
	MsgVdevOpen   = "vdev_instance_request"
	MsgVdevFds    = "vdev_instance_fds"
	MsgVdevClose  = "vdev_instance_close"
)

// ReplyError is a refusal from the daemon.
type ReplyError struct {
	Action string
	Code   int32
	Text   string
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("mrzcpd %s: error %d: %s", e.Action, e.Code, e.Text)
}

// Client is a minimal application written directly against shm, ctrlproto
// and fastpath (no marsio package): enough to register, open vdevs, move
// packets and be killed. It is for tests of the daemon.
type Client struct {
	H          *shm.Handle
	Appsym     string
	Slot       uint32
	Generation uint64
	Root       uintptr
	Zone       uintptr
	Live       *os.File // our end of the liveness socketpair
	Timeout    time.Duration
}

// Register attaches to the daemon's memory (pure Go) and registers appsym.
func Register(filePrefix, appsym string, nrThreads, cacheSize uint32) (*Client, error) {
	h, err := shm.Attach(shm.Options{FilePrefix: filePrefix})
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w", filePrefix, err)
	}
	c := &Client{H: h, Appsym: appsym, Timeout: 5 * time.Second}
	if err := c.register(nrThreads, cacheSize); err != nil {
		h.Detach()
		return nil, err
	}
	return c, nil
}

func putStr(b []byte, s string) { copy(b[:len(b)-1], s) }

func getStr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Request sends a raw request (for bad-input tests) and returns the reply.
func (c *Client) Request(name string, param []byte, fds []int) (*ctrlproto.Message, error) {
	return c.H.Channel().Request("", &ctrlproto.Message{Type: ctrlproto.TypeReq, Name: name, Param: param, Fds: fds}, c.Timeout)
}

// RegisterRequest encodes an instance_alive_register request.
func RegisterRequest(appsym string, pid int, nrThreads, cacheSize uint32) []byte {
	p := make([]byte, SizeofRegisterReq)
	binary.LittleEndian.PutUint32(p[0:], ABIVersion)
	binary.LittleEndian.PutUint32(p[4:], uint32(pid))
	binary.LittleEndian.PutUint32(p[8:], nrThreads)
	binary.LittleEndian.PutUint32(p[12:], cacheSize)
	putStr(p[OffRegisterReqAppsym:OffRegisterReqAppsym+SymbolMax], appsym)
	putStr(p[OffRegisterReqMonitFile:], "/var/run/mrzcpd/mrmonit.app."+appsym)
	return p
}

func (c *Client) register(nrThreads, cacheSize uint32) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socketpair: %w", err)
	}
	rep, err := c.Request(MsgRegister, RegisterRequest(c.Appsym, os.Getpid(), nrThreads, cacheSize), fds[1:2])
	unix.Close(fds[1])
	if err != nil {
		unix.Close(fds[0])
		return fmt.Errorf("register: %w", err)
	}
	p := rep.Param
	if len(p) != SizeofRegisterRep {
		unix.Close(fds[0])
		return fmt.Errorf("register: reply of %d bytes", len(p))
	}
	if code := int32(binary.LittleEndian.Uint32(p)); code != MrOK {
		unix.Close(fds[0])
		return &ReplyError{MsgRegister, code, getStr(p[OffRegisterRepStrerr:])}
	}
	c.Slot = binary.LittleEndian.Uint32(p[4:])
	c.Generation = binary.LittleEndian.Uint64(p[8:])
	c.Root = uintptr(binary.LittleEndian.Uint64(p[16:]))
	c.Zone = uintptr(binary.LittleEndian.Uint64(p[24:]))
	c.Live = os.NewFile(uintptr(fds[0]), "liveness")
	if !c.H.Contains(c.Root, 4096) || !c.H.Contains(c.Zone, 64) {
		return fmt.Errorf("register: root %#x or zone %#x outside mapped memory", c.Root, c.Zone)
	}
	return nil
}

// statusReply decodes a mr_msg_status_rep.
func statusReply(action string, m *ctrlproto.Message) error {
	if len(m.Param) != SizeofStatusRep {
		return fmt.Errorf("%s: reply of %d bytes", action, len(m.Param))
	}
	if code := int32(binary.LittleEndian.Uint32(m.Param)); code != MrOK {
		return &ReplyError{action, code, getStr(m.Param[OffStatusRepStrerr:])}
	}
	return nil
}

// Deregister deregisters and detaches.
func (c *Client) Deregister() error {
	p := make([]byte, SizeofDeregisterReq)
	binary.LittleEndian.PutUint32(p[0:], c.Slot)
	binary.LittleEndian.PutUint32(p[4:], uint32(os.Getpid()))
	binary.LittleEndian.PutUint64(p[8:], c.Generation)
	rep, err := c.Request(MsgDeregister, p, nil)
	if err == nil {
		err = statusReply(MsgDeregister, rep)
	}
	c.Live.Close()
	c.H.Detach()
	return err
}

// OwnerOffset returns the owner dynfield offset from the root.
func (c *Client) OwnerOffset() uintptr {
	return uintptr(*(*int32)(ptr(c.Root + OffRootOwnerDynfield)))
}

// Pool returns pool i of the root and this app's cache for it (thread t).
func (c *Client) Pool(i, t int) (fastpath.Mempool, fastpath.Cache, error) {
	mpAddr := *(*uint64)(ptr(c.Root + OffRootPools + uintptr(i)*SizeofPoolDesc + OffPoolDescMempool))
	mp, err := fastpath.MempoolAt(uintptr(mpAddr))
	if err != nil {
		return mp, fastpath.Cache{}, err
	}
	np := uintptr(*(*uint32)(ptr(c.Root + OffRootNrPools)))
	caches := uintptr(*(*uint64)(ptr(c.Zone + OffAppZoneCaches)))
	stride := uintptr(*(*uint64)(ptr(c.Zone + OffAppZoneStride)))
	cache, err := fastpath.CacheAt(caches + (uintptr(t)*np+uintptr(i))*stride)
	return mp, cache, err
}

// Vdev is an opened vdev instance.
type Vdev struct {
	c        *Client
	Devsym   string
	Index    uint32
	Instance uintptr
	Rx, Tx   []fastpath.Ring
	Efds     []int
}

// VdevOpenRequest encodes a vdev_instance_request.
func (c *Client) VdevOpenRequest(devsym string, nrx, ntx uint32) []byte {
	p := make([]byte, SizeofVdevOpenReq)
	binary.LittleEndian.PutUint32(p[0:], c.Slot)
	binary.LittleEndian.PutUint32(p[4:], uint32(os.Getpid()))
	binary.LittleEndian.PutUint64(p[8:], c.Generation)
	binary.LittleEndian.PutUint32(p[16:], nrx)
	binary.LittleEndian.PutUint32(p[20:], ntx)
	putStr(p[OffVdevOpenReqDevsym:OffVdevOpenReqDevsym+SymbolMax], devsym)
	putStr(p[OffVdevOpenReqAppsym:OffVdevOpenReqAppsym+SymbolMax], c.Appsym)
	return p
}

// Open opens devsym with nrx/ntx streams; eventfds beyond the first 8 are
// fetched with vdev_instance_fds requests.
func (c *Client) Open(devsym string, nrx, ntx uint32) (*Vdev, error) {
	rep, err := c.Request(MsgVdevOpen, c.VdevOpenRequest(devsym, nrx, ntx), nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", devsym, err)
	}
	p := rep.Param
	if len(p) != SizeofVdevOpenRep {
		return nil, fmt.Errorf("open %s: reply of %d bytes", devsym, len(p))
	}
	if code := int32(binary.LittleEndian.Uint32(p)); code != MrOK {
		return nil, &ReplyError{MsgVdevOpen, code, getStr(p[OffVdevOpenRepStrerr:])}
	}
	v := &Vdev{c: c, Devsym: devsym, Index: binary.LittleEndian.Uint32(p[4:]),
		Instance: uintptr(binary.LittleEndian.Uint64(p[16:])), Efds: rep.Fds}
	if !c.H.Contains(v.Instance, OffInstanceTx+64*SizeofTxStream) {
		return nil, fmt.Errorf("open %s: instance %#x outside mapped memory", devsym, v.Instance)
	}
	for uint32(len(v.Efds)) < nrx {
		q := make([]byte, SizeofVdevFdsReq)
		binary.LittleEndian.PutUint32(q[0:], c.Slot)
		binary.LittleEndian.PutUint32(q[4:], v.Index)
		binary.LittleEndian.PutUint32(q[8:], uint32(len(v.Efds)))
		r, err := c.Request(MsgVdevFds, q, nil)
		if err != nil {
			return nil, fmt.Errorf("open %s: fds: %w", devsym, err)
		}
		if code := int32(binary.LittleEndian.Uint32(r.Param)); code != MrOK || len(r.Fds) == 0 {
			return nil, &ReplyError{MsgVdevFds, code, "no fds"}
		}
		v.Efds = append(v.Efds, r.Fds...)
	}
	for i := uint32(0); i < nrx; i++ {
		r, err := fastpath.RingAt(uintptr(*(*uint64)(ptr(v.Instance + OffInstanceRx + uintptr(i)*SizeofRxStream))))
		if err != nil {
			return nil, fmt.Errorf("rx ring %d: %w", i, err)
		}
		v.Rx = append(v.Rx, r)
	}
	for i := uint32(0); i < ntx; i++ {
		r, err := fastpath.RingAt(uintptr(*(*uint64)(ptr(v.Instance + OffInstanceTx + uintptr(i)*SizeofTxStream))))
		if err != nil {
			return nil, fmt.Errorf("tx ring %d: %w", i, err)
		}
		v.Tx = append(v.Tx, r)
	}
	return v, nil
}

// Sleeping returns the address of rx stream i's sleeping flag.
func (v *Vdev) Sleeping(i int) *uint32 {
	return (*uint32)(ptr(v.Instance + OffInstanceRx + uintptr(i)*SizeofRxStream + OffRxStreamSleeping))
}

// Wait blocks until rx stream i has packets or timeout passes, with the
// ABI's protocol: sleeping=1, full fence (the atomic store is an XCHG),
// re-check the ring, wait on the eventfd, sleeping=0.
func (v *Vdev) Wait(i int, timeout time.Duration) bool {
	atomic.StoreUint32(v.Sleeping(i), 1)
	defer atomic.StoreUint32(v.Sleeping(i), 0)
	if v.Rx[i].Count() > 0 {
		return true
	}
	fds := []unix.PollFd{{Fd: int32(v.Efds[i]), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(timeout/time.Millisecond))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if n > 0 {
			var b [8]byte
			unix.Read(v.Efds[i], b[:])
		}
		return v.Rx[i].Count() > 0
	}
}

// Close closes the vdev at the daemon.
func (v *Vdev) Close() error {
	p := make([]byte, SizeofVdevCloseReq)
	binary.LittleEndian.PutUint32(p[0:], v.c.Slot)
	binary.LittleEndian.PutUint32(p[4:], v.Index)
	binary.LittleEndian.PutUint64(p[8:], v.c.Generation)
	rep, err := v.c.Request(MsgVdevClose, p, nil)
	for _, fd := range v.Efds {
		unix.Close(fd)
	}
	if err != nil {
		return err
	}
	return statusReply(MsgVdevClose, rep)
}

// ptr turns an address of mapped shared memory into a pointer (never Go memory).
func ptr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

// SetOwner writes the owner tag of an mbuf (tag = slot+1, 0 = none).
func (c *Client) SetOwner(mbuf uintptr, tag uint32) {
	*(*uint32)(ptr(mbuf + c.OwnerOffset())) = tag
}

// DaemonGone reports whether the liveness socket has hung up (non-blocking).
func (c *Client) DaemonGone() bool {
	fds := []unix.PollFd{{Fd: int32(c.Live.Fd()), Events: unix.POLLIN}}
	n, _ := unix.Poll(fds, 0)
	return n > 0 && fds[0].Revents&(unix.POLLHUP|unix.POLLIN|unix.POLLERR) != 0
}
