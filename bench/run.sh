#!/usr/bin/env bash
# landlord against QEMU (microvm and pc/q35) on this machine, in one run.
#
#   bench/run.sh [bench.py options]      e.g. --rounds 30, --pc q35, --only startup,memory
#
# Installs what is missing (qemu-system-x86, gnuplot-nox; as root, apt-get),
# builds landlord and the test guest as a release build in build-bench/, runs
# bench/bench.py, and writes bench/results.md and bench/startup.png (raw
# samples and logs in bench/out/). Prints the table at the end.
# Not part of tools/test.sh: nothing ever gates on these timings.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# the peers and the plot, and what building landlord and its test guest takes
packages=(qemu-system-x86 gnuplot-nox gcc meson ninja-build pkg-config python3 liburing-dev
          libcmocka-dev binutils coreutils)
need=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "bench: missing packages: ${need[*]}; run as root (apt-get) or install them" >&2
        exit 1
    fi
    echo "bench: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
    echo "bench: /dev/kvm is missing or not accessible" >&2
    exit 1
fi

if [ ! -f build-bench/build.ninja ]; then
    meson setup build-bench --buildtype=release -Db_ndebug=if-release >/dev/null
fi
ninja -C build-bench >/dev/null
# the spawn-and-time helper: static, so that its own RSS (which Linux carries
# into the child's peak RSS across execve) stays far below any monitor's
gcc -O2 -Wall -Wextra -static -o build-bench/bench-spawn bench/spawn.c 2>/dev/null ||
    gcc -O2 -Wall -Wextra -o build-bench/bench-spawn bench/spawn.c

exec python3 bench/bench.py \
    --landlord build-bench/landlord \
    --spawn build-bench/bench-spawn \
    --elf build-bench/tests/guest/landlord-test-guest.elf \
    "$@"
