package shm

import (
	"os"
	"path/filepath"
)

// DefaultFilePrefix is EAL's default --file-prefix (HUGEFILE_PREFIX_DEFAULT).
const DefaultFilePrefix = "rte"

// RuntimeDir returns the runtime directory a DPDK process started with
// --file-prefix prefix uses, following EAL's rules
// (lib/eal/unix/eal_filesystem.c, eal_create_runtime_dir): $RUNTIME_DIRECTORY
// when set, else /var/run for root, else $XDG_RUNTIME_DIR (or /tmp); then
// "dpdk/<prefix>" below it. An empty prefix means DefaultFilePrefix.
func RuntimeDir(prefix string) string {
	if prefix == "" {
		prefix = DefaultFilePrefix
	}
	dir := os.Getenv("RUNTIME_DIRECTORY")
	if dir == "" {
		if os.Getuid() == 0 {
			dir = "/var/run"
		} else if dir = os.Getenv("XDG_RUNTIME_DIR"); dir == "" {
			dir = "/tmp"
		}
	}
	return filepath.Join(dir, "dpdk", prefix)
}

// Files EAL keeps in the runtime directory (lib/eal/common/eal_filesystem.h).
const (
	configFile       = "config"        // struct rte_mem_config
	hugepageInfoFile = "hugepage_info" // struct hugepage_info[MAX_HUGEPAGE_SIZES]
	hugepageDataFile = "hugepage_data" // struct hugepage_file[] (--legacy-mem)
	fbarrayPrefix    = "fbarray_"      // FBARRAY_NAME_FMT "%s/fbarray_%s"
)

// Internal EAL layouts that are not part of any -dev header (22.11,
// eal_internal_cfg.h and eal_hugepages.h, x86_64; measured with offsetof).
const (
	hugepageInfoSize    = 4240 // sizeof(struct hugepage_info)
	hugepageInfoDirOff  = 8    // hugedir[PATH_MAX]
	hugepageInfoPageSz  = 0    // hugepage_sz
	hugepageFileSize    = 4136 // sizeof(struct hugepage_file)
	hugepageFileFinalVA = 8
	hugepageFileSz      = 24
	hugepageFilePath    = 40
	pathMax             = 4096

	mpStatusDisabled = 1 // enum mp_status in eal_common_proc.c
	mpStatusEnabled  = 2
)
