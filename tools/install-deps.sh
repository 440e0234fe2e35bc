#!/usr/bin/env bash
# Install the Debian 12 packages landlord needs to build, test and build its
# Linux test guest.  Installs only what is missing; needs root for that.
set -euo pipefail

packages=(
	# build
	gcc meson ninja-build pkg-config python3
	# unit tests and fuzzing (libFuzzer ships in libclang-rt-14-dev)
	libcmocka-dev clang libclang-rt-14-dev
	# virtio-blk: io_uring; disk images for the Linux guest tests
	liburing-dev e2fsprogs
	# the control API: HTTP server and JSON
	libmicrohttpd-dev libjansson-dev
	# objdump, for the test guest's forbidden-instruction check
	binutils
	# tests: curl (Firecracker's getting-started requests), ip (tap devices)
	curl iproute2
	# the Linux test guest (tools/build-linux-guest.sh)
	linux-source-6.1 busybox-static make bc bison flex libelf-dev libssl-dev cpio xz-utils
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
