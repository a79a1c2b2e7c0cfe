package marsio

// TEMPORARY: hand-written mirror of gen/abi/mrzcpd_abi.h (v1) until the
// generator's zz_generated/abi lands; then every type below becomes an alias
// of the generated one. Sizes checked by TestABILayout against gcc's offsetof.

const (
	abiMagic          = 0x4d525a43
	abiVersion        = 1
	abiRootMemzone    = "mrzcpd_root"
	abiSymbolMax      = 64
	abiPathMax        = 192
	abiStrerrMax      = 128
	abiMaxVdevs       = 32
	abiMaxApps        = 64
	abiMaxPools       = 8
	abiMaxStreams     = 64
	abiMaxThreads     = 64
	abiFdsPerMsg      = 8
	abiAppActive      = 1
	abiVdevOpen       = 1
	abiMsgRegister    = "instance_alive_register"
	abiMsgDeregister  = "instance_deregister"
	abiMsgVdevOpen    = "vdev_instance_request"
	abiMsgVdevFds     = "vdev_instance_fds"
	abiMsgVdevClose   = "vdev_instance_close"
	abiSizeofRoot     = 32000
	abiSizeofInstance = 28736
)

type abiCounters struct {
	Pkts, Bytes, Drops, Events uint64
	Spare                      [4]uint64
}

type abiPoolDesc struct {
	Name     [abiSymbolMax]byte
	Mempool  uint64
	Size     uint32
	DataRoom uint32
	PrivSize uint32
	SocketID uint32
	_        [40]byte
}

type abiVdevDesc struct {
	Devsym      [abiSymbolMax]byte
	PortID      uint16
	Mac         [6]byte
	Mtu         uint32
	MaxRxstream uint32
	MaxTxstream uint32
	RingSize    uint32
	PoolIndex   uint32
	State       uint32
	OwnerSlot   uint32
	Instance    uint64
	_           [16]byte
	PortRx      abiCounters
	PortTx      abiCounters
	NoApp       abiCounters
}

type abiAppSlot struct {
	State      uint32
	Pid        int32
	Generation uint64
	RegisterNs uint64
	Zone       uint64
	Appsym     [abiSymbolMax]byte
	MonitFile  [abiPathMax]byte
	NrThreads  uint32
	CacheSize  uint32
	_          [24]byte
}

type abiRoot struct {
	Magic               uint32
	AbiVersion          uint32
	DpdkVersion         uint32
	DaemonPid           int32
	StartNs             uint64
	Distmode            uint32
	Hashmode            uint32
	HashSeed            uint32
	OwnerDynfieldOffset int32
	NrPools             uint32
	NrVdevs             uint32
	HeartbeatNs         uint64
	GCfgfile            [abiPathMax]byte
	_                   [8]byte
	Pools               [abiMaxPools]abiPoolDesc
	Vdevs               [abiMaxVdevs]abiVdevDesc
	Apps                [abiMaxApps]abiAppSlot
}

type abiAppZone struct {
	Slot        uint32
	NrThreads   uint32
	NrPools     uint32
	CacheSize   uint32
	Caches      uint64
	CacheStride uint64
	_           [32]byte
}

type abiRxStream struct {
	Ring     uint64
	Spare0   [7]uint64
	Daemon   abiCounters
	Sleeping uint32
	Spare1   [15]uint32
	App      abiCounters
}

type abiTxStream struct {
	Ring   uint64
	Spare0 [7]uint64
	App    abiCounters
	Daemon abiCounters
}

type abiVdevInstance struct {
	Magic      uint32
	VdevIndex  uint32
	AppSlot    uint32
	NrRxstream uint32
	NrTxstream uint32
	RingSize   uint32
	Generation uint64
	_          [32]byte
	Rx         [abiMaxStreams]abiRxStream
	Tx         [abiMaxStreams]abiTxStream
}

type abiMsgRegisterReq struct {
	AbiVersion uint32
	Pid        int32
	NrThreads  uint32
	CacheSize  uint32
	Appsym     [abiSymbolMax]byte
	MonitFile  [abiPathMax - 16]byte
}

type abiMsgRegisterRep struct {
	Errcode    int32
	Slot       uint32
	Generation uint64
	Root       uint64
	Zone       uint64
	Strerr     [abiStrerrMax]byte
}

type abiMsgDeregisterReq struct {
	Slot       uint32
	Pid        int32
	Generation uint64
}

type abiMsgVdevOpenReq struct {
	Slot       uint32
	Pid        int32
	Generation uint64
	NrRxstream uint32
	NrTxstream uint32
	Devsym     [abiSymbolMax]byte
	Appsym     [abiSymbolMax]byte
}

type abiMsgVdevOpenRep struct {
	Errcode    int32
	VdevIndex  uint32
	NrRxstream uint32
	NrTxstream uint32
	Instance   uint64
	Devsym     [abiSymbolMax]byte
	Strerr     [abiStrerrMax]byte
}

type abiMsgVdevFdsReq struct {
	Slot      uint32
	VdevIndex uint32
	First     uint32
	Spare     uint32
}

type abiMsgVdevFdsRep struct {
	Errcode int32
	First   uint32
	Count   uint32
	Spare   uint32
}

type abiMsgVdevCloseReq struct {
	Slot       uint32
	VdevIndex  uint32
	Generation uint64
}

type abiMsgStatusRep struct {
	Errcode int32
	Spare   uint32
	Strerr  [abiStrerrMax]byte
}
