package doctor

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// pageSize is one hugepage size's pool (/sys/kernel/mm/hugepages/hugepages-<n>kB).
type pageSize struct {
	kB         uint64
	total, fre uint64
}

// mount is one hugetlbfs mount from /proc/mounts.
type mount struct {
	dir  string
	opts string
}

const fixReserve = "reserve 2 MiB hugepages as root: 'make deps' (or: echo 1024 > /proc/sys/vm/nr_hugepages)"

// hugepages: reserved, mounted, free.
func (r *runner) hugepages() {
	sizes, serr := r.pageSizes()
	mi, merr := readMeminfo(r.opts.path("/proc/meminfo"))
	var total, free uint64
	var parts []string
	for _, s := range sizes {
		total += s.total
		free += s.fre
		if s.total > 0 {
			parts = append(parts, fmt.Sprintf("%d × %s (%d free)", s.total, kBString(s.kB), s.fre))
		}
	}
	switch {
	case serr != nil && merr != nil:
		r.add("hugepages-reserved", Fail, fmt.Sprintf("cannot read hugepage counts: %v; %v", serr, merr),
			"run on Linux with hugetlbfs support (CONFIG_HUGETLBFS)")
	case len(sizes) == 0:
		// No sysfs: fall back to /proc/meminfo's default-size counters.
		total, free = mi["HugePages_Total"], mi["HugePages_Free"]
		if total == 0 {
			r.add("hugepages-reserved", Fail, "no hugepages reserved (HugePages_Total is 0 in /proc/meminfo)", fixReserve)
		} else {
			r.add("hugepages-reserved", OK, fmt.Sprintf("%d × %s reserved (/proc/meminfo)", total, kBString(mi["Hugepagesize"])), "")
		}
	case total == 0:
		r.add("hugepages-reserved", Fail, "no hugepages reserved (nr_hugepages is 0 for every size in /sys/kernel/mm/hugepages)", fixReserve)
	default:
		r.add("hugepages-reserved", OK, strings.Join(parts, ", ")+" reserved", "")
	}

	mounts, err := r.hugeMounts()
	switch {
	case err != nil:
		r.add("hugetlbfs-mounted", Fail, fmt.Sprintf("cannot read mounts: %v", err), "check that /proc is mounted")
	case r.opts.HugeDir != "":
		found := false
		for _, m := range mounts {
			if filepath.Clean(m.dir) == filepath.Clean(r.opts.HugeDir) {
				found = true
				r.add("hugetlbfs-mounted", OK, fmt.Sprintf("%s is hugetlbfs (%s)", m.dir, m.opts), "")
			}
		}
		if !found {
			r.add("hugetlbfs-mounted", Fail, fmt.Sprintf("-hugedir %s is not a hugetlbfs mount", r.opts.HugeDir),
				fmt.Sprintf("mount it as root: mount -t hugetlbfs nodev %s (or 'make deps' for /dev/hugepages)", r.opts.HugeDir))
		}
		r.hugeDirs = []string{r.opts.HugeDir}
	case len(mounts) == 0:
		r.add("hugetlbfs-mounted", Fail, "no hugetlbfs mounted (none in /proc/mounts): DPDK cannot create hugepage files",
			"mount it as root: 'make deps' (or: mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages)")
	default:
		var ds []string
		for _, m := range mounts {
			ds = append(ds, m.dir)
			r.hugeDirs = append(r.hugeDirs, m.dir)
		}
		r.add("hugetlbfs-mounted", OK, "hugetlbfs at "+strings.Join(ds, ", "), "")
	}

	switch {
	case total == 0:
		r.add("hugepages-free", Fail, "no hugepages to be free", fixReserve)
	case free == 0:
		// Applications attach to the daemon's pages and need none of
		// their own; only a new primary (mrzcpd) would fail to start.
		r.add("hugepages-free", Warn, fmt.Sprintf("all %d hugepages are in use: a new DPDK primary (mrzcpd) cannot start; attaching applications need no free pages", total),
			"stop primaries you do not need, remove stale hugepage files (mrdoctor -clean), or reserve more ('make deps HUGEPAGES=N')")
	case free*8 < total:
		r.add("hugepages-free", Warn, fmt.Sprintf("only %d of %d hugepages free", free, total),
			"a new primary may not get the memory it asks for (-m): free some (mrdoctor -clean) or reserve more ('make deps HUGEPAGES=N')")
	default:
		r.add("hugepages-free", OK, fmt.Sprintf("%d of %d hugepages free", free, total), "")
	}
}

// pageSizes reads /sys/kernel/mm/hugepages/hugepages-<n>kB.
func (r *runner) pageSizes() ([]pageSize, error) {
	dir := r.opts.path("/sys/kernel/mm/hugepages")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []pageSize
	for _, e := range ents {
		num, ok := strings.CutPrefix(e.Name(), "hugepages-")
		if !ok {
			continue
		}
		kB, err := strconv.ParseUint(strings.TrimSuffix(num, "kB"), 10, 64)
		if err != nil {
			continue
		}
		ps := pageSize{kB: kB}
		ps.total, _ = readUint(filepath.Join(dir, e.Name(), "nr_hugepages"))
		ps.fre, _ = readUint(filepath.Join(dir, e.Name(), "free_hugepages"))
		out = append(out, ps)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].kB < out[j].kB })
	return out, nil
}

// hugeMounts lists hugetlbfs mounts from <Root>/proc/mounts.
func (r *runner) hugeMounts() ([]mount, error) {
	data, err := os.ReadFile(r.opts.path("/proc/mounts"))
	if err != nil {
		return nil, err
	}
	var out []mount
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[2] == "hugetlbfs" {
			out = append(out, mount{dir: unescapeMount(f[1]), opts: f[3]})
		}
	}
	return out, nil
}

// unescapeMount undoes /proc/mounts' octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readMeminfo parses /proc/meminfo into numbers (kB values without unit).
func readMeminfo(path string) (map[string]uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		if n, err := strconv.ParseUint(f[0], 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}

func readUint(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
}

func kBString(kB uint64) string {
	switch {
	case kB >= 1<<20 && kB%(1<<20) == 0:
		return fmt.Sprintf("%d GiB", kB>>20)
	case kB >= 1<<10 && kB%(1<<10) == 0:
		return fmt.Sprintf("%d MiB", kB>>10)
	}
	return fmt.Sprintf("%d kB", kB)
}
