#!/usr/bin/env bash
# make deps: install what gomarsio needs on Debian 12, reserve and mount hugepages.
# Idempotent: every step first checks whether it is already done and says so.
set -euo pipefail

HUGEPAGES=${HUGEPAGES:-1024}
PKGS=(dpdk dpdk-dev libdpdk-dev pkg-config gcc make libpcap-dev libxxhash-dev prometheus)

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	die "must run as root (it installs Debian packages and reserves hugepages); run 'sudo make deps'"
fi

missing=()
for p in "${PKGS[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		:
	else
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	say "packages present: ${PKGS[*]}"
else
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed: are Debian's package mirrors reachable?"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
	say "installed: ${missing[*]}"
fi

ver=$(pkg-config --modversion libdpdk 2>/dev/null) || die "pkg-config cannot find libdpdk after install"
say "DPDK $ver (pkg-config libdpdk)"

# Hugepages: 2 MiB pages, reserve at least $HUGEPAGES.
nr=/proc/sys/vm/nr_hugepages
cur=$(cat "$nr")
if [ "$cur" -ge "$HUGEPAGES" ]; then
	say "hugepages: $cur x 2 MiB reserved (wanted >= $HUGEPAGES)"
else
	echo "$HUGEPAGES" >"$nr" || die "cannot write $nr"
	got=$(cat "$nr")
	[ "$got" -ge "$HUGEPAGES" ] || die "asked the kernel for $HUGEPAGES hugepages, got $got (memory fragmented? try a smaller HUGEPAGES=N)"
	say "hugepages: reserved $got x 2 MiB (was $cur)"
fi

if mount | grep -q ' /dev/hugepages type hugetlbfs'; then
	say "hugetlbfs mounted at /dev/hugepages"
else
	mkdir -p /dev/hugepages
	mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages || die "mount hugetlbfs at /dev/hugepages failed"
	say "mounted hugetlbfs at /dev/hugepages"
fi
