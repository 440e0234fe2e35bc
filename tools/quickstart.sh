#!/usr/bin/env bash
# From a fresh Debian 12 machine (as root) to Linux booting under landlord:
# install what is missing, build landlord, build the default Linux guest
# (cached outside the repo) and boot it.  Extra arguments go to
# `landlord run`, e.g. --cpus 2.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build
# It prints the paths of vmlinux, initramfs.cpio and the cmdline file.
mapfile -t guest < <(tools/build-linux-guest.sh)
[ ${#guest[@]} -eq 3 ] || { echo "quickstart: building the Linux guest failed" >&2; exit 1; }
echo "quickstart: booting ${guest[0]} with landlord (Ctrl-A x quits)"
exec build/landlord run --kernel "${guest[0]}" --initrd "${guest[1]}" \
	--memory 256M --cmdline "$(cat "${guest[2]}")" "$@"
