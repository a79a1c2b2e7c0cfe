package marsio

// TEMPORARY: the mempool-cache and mbuf reset/prefree steps the library
// needs, written against DPDK 22.11's layout until fastpath's mempool and
// mbuf API lands; then this file becomes a thin adapter over fastpath.

import (
	"errors"
	"fmt"

	"github.com/gomarsio/marsio/fastpath"
)

const (
	mempoolHeaderSize = 192 // sizeof(struct rte_mempool)
	mempoolPoolData   = 32
	cacheHeaderSize   = 64 // objs[] of struct rte_mempool_cache start here
	cacheMaxSize      = 512
	mbufPortInvalid   = 0xffff
	mbufFExternal     = 1 << 61
	mbufFIndirect     = 1 << 62
	mbufTxOffload     = 72
	mbufVlanTCI       = 42
	mbufVlanTCIOuter  = 52
	pktmbufHeadroom   = 128
)

type mempool struct{ ring fastpath.Ring }

type cache struct{ p uintptr }

func (c cache) size() *uint32   { return (*uint32)(ptrAt(c.p)) }
func (c cache) thresh() *uint32 { return (*uint32)(ptrAt(c.p + 4)) }
func (c cache) len() *uint32    { return (*uint32)(ptrAt(c.p + 8)) }
func (c cache) objs(n uint32) []uintptr {
	return unsafeWords(c.p+cacheHeaderSize, int(n))
}

func bindMempool(addr uintptr) (mempool, error) {
	rp := *(*uintptr)(ptrAt(addr + mempoolPoolData))
	r, err := fastpath.RingAt(rp)
	if err != nil {
		return mempool{}, err
	}
	if len(r.Name()) < 3 || r.Name()[:3] != "MP_" {
		return mempool{}, errors.New("pool_data is not an MP_ ring")
	}
	return mempool{r}, nil
}

func bindCache(addr uintptr, size uint32) (cache, error) {
	c := cache{addr}
	if *c.size() != size || *c.len() > 2*cacheMaxSize {
		return c, fmt.Errorf("cache at %#x: size %d len %d, want size %d", addr, *c.size(), *c.len(), size)
	}
	return c, nil
}

// get follows rte_mempool_do_generic_get (22.11).
func (m mempool) get(c cache, objs []uintptr) bool {
	n := uint32(len(objs))
	size := *c.size()
	if size == 0 || n >= cacheMaxSize {
		return m.ring.MCDequeueBulk(objs) == len(objs)
	}
	l := *c.len()
	if l < n {
		req := n + (size - l)
		if m.ring.MCDequeueBulk(c.objs(l + req)[l:]) == 0 {
			return m.ring.MCDequeueBulk(objs) == len(objs)
		}
		l += req
	}
	all := c.objs(l)
	for k := range objs {
		objs[k] = all[l-1-uint32(k)]
	}
	*c.len() = l - n
	return true
}

// put follows rte_mempool_do_generic_put (22.11) for one object.
func (m mempool) put(c cache, obj uintptr) {
	size := *c.size()
	if size == 0 {
		one := [1]uintptr{obj}
		for m.ring.MPEnqueueBulk(one[:]) == 0 {
		}
		return
	}
	l := *c.len()
	c.objs(l + 1)[l] = obj
	l++
	if l >= *c.thresh() {
		for m.ring.MPEnqueueBulk(c.objs(l)[size:]) == 0 {
		}
		l = size
	}
	*c.len() = l
}

// flush empties the cache into the ring.
func (m mempool) flush(c cache) {
	l := *c.len()
	if l > 0 {
		for m.ring.MPEnqueueBulk(c.objs(l)) == 0 {
		}
	}
	*c.len() = 0
}

// mbufReset is rte_pktmbuf_reset (22.11).
func mbufReset(m uintptr) {
	b := Buffer{m}
	*(*uintptr)(b.at(mbufNext)) = 0
	*(*uint32)(b.at(mbufPktLen)) = 0
	*(*uint64)(b.at(mbufTxOffload)) = 0
	*(*uint16)(b.at(mbufVlanTCI)) = 0
	*(*uint16)(b.at(mbufVlanTCIOuter)) = 0
	*(*uint16)(b.at(mbufNbSegs)) = 1
	*(*uint16)(b.at(mbufPort)) = mbufPortInvalid
	*(*uint64)(b.at(mbufOlFlags)) &= mbufFExternal
	*(*uint32)(b.at(mbufPacketType)) = 0
	*(*uint16)(b.at(mbufDataOff)) = min(pktmbufHeadroom, *(*uint16)(b.at(mbufBufLen)))
	*(*uint16)(b.at(mbufDataLen)) = 0
}

// mbufPrefree is rte_pktmbuf_prefree_seg for direct mbufs; it reports
// whether the mbuf goes back to its pool.
func mbufPrefree(m uintptr) bool {
	b := Buffer{m}
	ref := (*uint16)(b.at(mbufRefcnt))
	if *ref == 1 {
		if *(*uintptr)(b.at(mbufNext)) != 0 {
			*(*uintptr)(b.at(mbufNext)) = 0
			*(*uint16)(b.at(mbufNbSegs)) = 1
		}
		return true
	}
	if *ref == 0 {
		return false
	}
	*ref--
	return false
}
