package ctrlproto

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// PrimarySocket is the name of the primary's socket in the runtime
// directory (MP_SOCKET_FNAME).
const PrimarySocket = "mp_socket"

// HandlerFunc handles a request or message named as registered. Handlers
// run one at a time, in the order the datagrams arrived. peer is the
// sender's socket path. For a request (m.Type == TypeReq) a non-nil reply is
// sent back as MP_REP under the request's name; a nil reply sends nothing
// (the requester times out, as in DPDK when an action fails). The handler
// owns m.Fds.
type HandlerFunc func(m *Message, peer string) (reply *Message, err error)

// Channel is a bound rte_mp socket: a secondary's
// <runtime dir>/mp_socket_<pid>_<hex>. It is safe for concurrent use.
type Channel struct {
	conn    *net.UnixConn
	path    string
	primary string

	mu       sync.Mutex
	handlers map[string]HandlerFunc
	pending  map[pendingKey]chan *Message
	closed   bool

	done    chan struct{}
	work    chan func() // handler calls, run in order by one goroutine
	dropped atomic.Uint64
	onError func(error)
	tap     func([]byte, string)
}

type pendingKey struct{ peer, name string }

// Options tune a Channel.
type Options struct {
	// OnError receives errors the receive loop cannot return to anyone:
	// malformed frames, failing handlers, replies nobody waits for.
	OnError func(error)
	// Tap, when set, sees every received datagram before it is decoded,
	// with the sender's path (tests capture golden frames with it).
	Tap func(frame []byte, peer string)
}

var seq atomic.Uint64

// Open binds a secondary's socket in runDir as EAL's open_socket_fd does:
// AF_UNIX SOCK_DGRAM at <runDir>/mp_socket_<pid>_<hex unique>, and starts
// receiving. Close removes the socket file.
func Open(runDir string, opts Options) (*Channel, error) {
	primary := filepath.Join(runDir, PrimarySocket)
	if _, err := os.Stat(primary); err != nil {
		return nil, fmt.Errorf("ctrlproto: %s: %w (%w)", primary, ErrNoPrimary, err)
	}
	// EAL uses rte_rdtsc(); a nanosecond clock plus a counter is as unique.
	uniq := uint64(time.Now().UnixNano()) + seq.Add(1)
	path := filepath.Join(runDir, PrimarySocket+"_"+strconv.Itoa(os.Getpid())+"_"+strconv.FormatUint(uniq, 16))
	return listen(path, primary, opts)
}

// Listen binds a channel at an explicit socket path; primary is where
// Request sends when no peer is given. Tests use it to play a primary.
func Listen(path, primary string, opts Options) (*Channel, error) {
	return listen(path, primary, opts)
}

func listen(path, primary string, opts Options) (*Channel, error) {
	_ = os.Remove(path) // may remain from a previous run, as in EAL
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("ctrlproto: bind %s: %w", path, err)
	}
	c := &Channel{
		conn:     conn,
		path:     path,
		primary:  primary,
		handlers: map[string]HandlerFunc{},
		pending:  map[pendingKey]chan *Message{},
		done:     make(chan struct{}),
		work:     make(chan func(), 256),
		onError:  opts.OnError,
		tap:      opts.Tap,
	}
	go c.readLoop()
	go c.worker()
	return c, nil
}

// Path returns the channel's own socket path.
func (c *Channel) Path() string { return c.path }

// PrimaryPath returns the primary's socket path.
func (c *Channel) PrimaryPath() string { return c.primary }

// Dropped returns how many received datagrams were malformed or unexpected.
func (c *Channel) Dropped() uint64 { return c.dropped.Load() }

// Handle registers fn for requests and messages named name, replacing any
// previous handler; a nil fn removes it.
func (c *Channel) Handle(name string, fn HandlerFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fn == nil {
		delete(c.handlers, name)
	} else {
		c.handlers[name] = fn
	}
}

// Close stops receiving, fails pending requests with ErrClosed and removes
// the socket file. Closing twice is a no-op.
func (c *Channel) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for k, ch := range c.pending {
		close(ch)
		delete(c.pending, k)
	}
	c.mu.Unlock()
	err := c.conn.Close()
	<-c.done
	if rerr := os.Remove(c.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// Send sends a one-way message (MP_MSG) to peer ("" = the primary).
func (c *Channel) Send(peer string, m *Message) error {
	mm := *m
	mm.Type = TypeMsg
	return c.send(peer, &mm)
}

// Reply answers a request received from peer (MP_REP under the request's
// name, given in m.Name).
func (c *Channel) Reply(peer string, m *Message) error {
	mm := *m
	mm.Type = TypeRep
	return c.send(peer, &mm)
}

// Request sends m as MP_REQ to peer ("" = the primary) and waits up to
// timeout for the reply, matched like DPDK does: same name, from the peer's
// socket. Only one request per (peer, name) may be pending (ErrBusy).
func (c *Channel) Request(peer string, m *Message, timeout time.Duration) (*Message, error) {
	if peer == "" {
		peer = c.primary
	}
	key := pendingKey{peer, m.Name}
	ch := make(chan *Message, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if _, busy := c.pending[key]; busy {
		c.mu.Unlock()
		return nil, fmt.Errorf("ctrlproto: request %s to %s: %w", m.Name, peer, ErrBusy)
	}
	c.pending[key] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.pending[key] == ch {
			delete(c.pending, key)
		}
		c.mu.Unlock()
	}()
	mm := *m
	mm.Type = TypeReq
	if err := c.send(peer, &mm); err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case rep, ok := <-ch:
		if !ok {
			return nil, ErrClosed
		}
		if rep.Type == TypeIgn {
			return nil, fmt.Errorf("ctrlproto: request %s to %s: %w", m.Name, peer, ErrIgnored)
		}
		return rep, nil
	case <-t.C:
		return nil, fmt.Errorf("ctrlproto: request %s to %s after %v: %w", m.Name, peer, timeout, ErrTimeout)
	}
}

func (c *Channel) send(peer string, m *Message) error {
	if peer == "" {
		peer = c.primary
	}
	var buf [FrameSize]byte
	b, err := AppendFrame(buf[:0], m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(m.Fds) > 0 {
		oob = unix.UnixRights(m.Fds...)
	}
	_, _, err = c.conn.WriteMsgUnix(b, oob, &net.UnixAddr{Name: peer, Net: "unixgram"})
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return ErrClosed
		}
		if peer == c.primary && (errors.Is(err, unix.ECONNREFUSED) || errors.Is(err, unix.ENOENT)) {
			return fmt.Errorf("ctrlproto: send %s to %s: %w (%w)", m.Name, peer, ErrNoPrimary, err)
		}
		return fmt.Errorf("ctrlproto: send %s to %s: %w", m.Name, peer, err)
	}
	return nil
}

func (c *Channel) report(err error) {
	c.dropped.Add(1)
	if c.onError != nil {
		c.onError(err)
	}
}

func closeFds(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// worker runs handlers one at a time in arrival order, as DPDK's mp_handle
// thread does, while readLoop keeps taking replies to our own requests.
func (c *Channel) worker() {
	for f := range c.work {
		f()
	}
}

func (c *Channel) readLoop() {
	defer close(c.work)
	defer close(c.done)
	buf := make([]byte, FrameSize+64) // larger, to see oversize frames
	oob := make([]byte, unix.CmsgSpace(4*MaxFds)+unix.CmsgSpace(4*MaxFds))
	for {
		n, oobn, flags, from, err := c.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, unix.EINTR) {
				continue
			}
			c.report(fmt.Errorf("ctrlproto: receive: %w", err))
			time.Sleep(time.Millisecond)
			continue
		}
		fds := parseRights(oob[:oobn])
		if c.tap != nil {
			peer := ""
			if from != nil {
				peer = from.Name
			}
			c.tap(append([]byte(nil), buf[:n]...), peer)
		}
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			closeFds(fds)
			c.report(fmt.Errorf("ctrlproto: truncated datagram (flags %#x): %w", flags, ErrFrame))
			continue
		}
		m, err := DecodeFrame(buf[:n], fds)
		if err != nil {
			closeFds(fds)
			c.report(err)
			continue
		}
		closeFds(fds[len(m.Fds):])
		peer := ""
		if from != nil {
			peer = from.Name
		}
		c.dispatch(m, peer)
	}
}

func parseRights(oob []byte) []int {
	if len(oob) == 0 {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		if f, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

func (c *Channel) dispatch(m *Message, peer string) {
	if m.Type == TypeRep || m.Type == TypeIgn {
		c.mu.Lock()
		ch, ok := c.pending[pendingKey{peer, m.Name}]
		if ok {
			delete(c.pending, pendingKey{peer, m.Name})
		}
		c.mu.Unlock()
		if !ok {
			closeFds(m.Fds)
			c.report(fmt.Errorf("ctrlproto: %s %s from %s: no pending request", m.Type, m.Name, peer))
			return
		}
		ch <- m
		return
	}
	c.mu.Lock()
	fn := c.handlers[m.Name]
	c.mu.Unlock()
	if fn == nil {
		closeFds(m.Fds)
		if m.Type == TypeReq && peer != "" {
			// Tell the requester not to wait for us (DPDK does this before
			// its init completes; unknown actions get the same answer here).
			_ = c.send(peer, &Message{Type: TypeIgn, Name: m.Name})
		}
		c.report(fmt.Errorf("ctrlproto: %s %s from %s: no handler", m.Type, m.Name, peer))
		return
	}
	f := func() {
		rep, err := fn(m, peer)
		if err != nil && c.onError != nil {
			c.onError(fmt.Errorf("ctrlproto: handler %s: %w", m.Name, err))
		}
		if m.Type == TypeReq && rep != nil && peer != "" {
			rep.Type = TypeRep
			rep.Name = m.Name
			if err := c.send(peer, rep); err != nil && c.onError != nil {
				c.onError(err)
			}
		}
	}
	select {
	case c.work <- f:
	default:
		// Never block the receive loop (replies to our own requests must
		// keep flowing, and Close waits for it).
		closeFds(m.Fds)
		if m.Type == TypeReq && peer != "" {
			_ = c.send(peer, &Message{Type: TypeIgn, Name: m.Name})
		}
		c.report(fmt.Errorf("ctrlproto: %s %s from %s: handler queue full, dropped", m.Type, m.Name, peer))
	}
}
