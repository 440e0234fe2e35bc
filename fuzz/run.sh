#!/usr/bin/env bash
# Build every libFuzzer target in fuzz/ with clang (ASan + UBSan) and run
# each for SECONDS (default 60).  Corpora live in fuzz/corpus-NAME (ignored
# by git).  Exit status non-zero if any target finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=build-fuzz
mkdir -p "$out"

# The sources each target needs (besides itself).
declare -A deps=(
	[fuzz_boot]="src/arch/x86/boot.c src/arch/x86/boot_elf.c src/base/guest_mem.c"
	[fuzz_cpu_features]="src/arch/x86/cpuid.c"
	[fuzz_virtqueue]="src/virtio/virtqueue.c src/base/guest_mem.c"
	[fuzz_api_config]="src/api/api_config.c src/api/api_json.c src/vmm/config.c src/vmm/config_put.c src/vmm/config_virtio.c src/base/size.c src/base/log.c"
	[fuzz_devices]="src/devices/bus.c src/devices/uart.c src/devices/i8042.c src/devices/i8254.c src/devices/i8254_count.c src/devices/rtc.c src/devices/acpi_pm.c src/devices/pci.c src/virtio/virtio_pci.c src/virtio/virtio_pci_msix.c src/virtio/virtio.c src/virtio/virtqueue.c src/kvm/kvm_irq.c src/base/guest_mem.c src/base/event_loop.c src/base/log.c"
	[fuzz_virtio_net_vsock]="fuzz/fuzz_virtio_harness.c src/virtio/virtio_net.c src/virtio/virtio_vsock.c src/virtio/vsock_packet.c src/virtio/vsock_conn.c src/virtio/virtio_mmio.c src/virtio/virtio.c src/virtio/virtqueue.c src/devices/bus.c src/kvm/kvm_irq.c src/base/guest_mem.c src/base/event_loop.c src/base/log.c"
)

status=0
for t in "${!deps[@]}"; do
	[ -f "fuzz/$t.c" ] || continue
	# shellcheck disable=SC2086
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Iinclude -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined "fuzz/$t.c" ${deps[$t]} -lpthread -ljansson -o "$out/$t"
	mkdir -p "fuzz/corpus-$t"
	echo "fuzz: $t for ${secs}s"
	if ! "$out/$t" -max_total_time="$secs" -print_final_stats=0 "fuzz/corpus-$t" \
		> "$out/$t.log" 2>&1; then
		echo "fuzz: $t FAILED:" >&2
		tail -40 "$out/$t.log" >&2
		status=1
	fi
done
exit $status
