"""Integration cases for the VM's life cycle with virtio devices: restarts
with disks on both transports (images re-opened and re-locked each time),
SIGTERM with disk requests in flight, a disk named twice, and console input
that arrives before the guest's virtio-console driver has posted buffers."""

import os
import re
import signal
import struct

import cases_virtio

DISK_SIZE = 4 << 20
BENCH_SIZE = 256 << 20   # the reader's maximum: ~0.6 s of reading at ~400 MiB/s, SIGTERM comes first
REBOOTS = 20


def _kernel(cmdline, *extra):
    return ["--kernel", "{elf}", *extra, "--cmdline", cmdline]


CASES = {
    # 20 restarts with a PCI disk, an MMIO disk, the rng and the virtio
    # console: each restart re-opens the images (the flock of the last boot
    # must be gone) and re-registers ioeventfds and event-loop watches.
    "lifecycle-reboot-restart-virtio": dict(
        args=_kernel("test=reboot", "--on-reboot", "restart",
                     "--disk", "path={tmp}/disk0.img",
                     "--disk", "path={tmp}/disk1.img,transport=mmio",
                     "--rng=mmio", "--console-device", "virtio"),
        kill_after=(r"rebooting", REBOOTS), status=128 + signal.SIGTERM, timeout=90,
        err=[r"stopped by Terminated"]),
    # SIGTERM while 1 MiB reads are in flight: stops cleanly, no hang.
    "lifecycle-sigterm-disk-busy": dict(
        args=_kernel("test=virtio-blk-read", "--memory", "128M",
                     "--disk", "path={tmp}/bench.img,ro"),
        kill_after=(r"blk0: ", 1), status=128 + signal.SIGTERM, timeout=60,
        err=[r"stopped by Terminated"]),
    # The same image twice: the second open finds the first's lock.
    "lifecycle-disk-twice": dict(
        args=_kernel("test=hello", "--disk", "path={tmp}/disk0.img",
                     "--disk", "path={tmp}/disk0.img,transport=mmio"),
        status=1, err=[r"^landlord: .*disk0\.img.*in use"], timeout=30),
    # Input typed before the guest's driver has posted receive buffers (and
    # stdin kept open, no further input): the held-back bytes must still
    # reach the guest once it posts them.  kill_after's pattern never
    # appears; it only keeps stdin open while the guest runs.
    "lifecycle-vcon-early-input-pci": dict(
        args=_kernel("test=virtio-console rx_ms=5000", "--console-device", "virtio"),
        stdin=b"vcon-early-46\n", kill_after=(r"NO-SUCH-LINE", 1), timeout=30,
        out=[r"vcon_rx=vcon-early-46", r"TEST PASS virtio-console"]),
    "lifecycle-vcon-early-input-mmio": dict(
        args=_kernel("test=virtio-console rx_ms=5000", "--console-device", "virtio",
                     "--virtio-transport", "mmio"),
        stdin=b"vcon-early-47\n", kill_after=(r"NO-SUCH-LINE", 1), timeout=30,
        out=[r"vcon: mmio ", r"vcon_rx=vcon-early-47", r"TEST PASS virtio-console"]),
}


def prepare(name, ctx):
    tmp = ctx["tmp"]
    for fname in ("disk0.img", "disk1.img"):
        with open(os.path.join(tmp, fname), "wb") as f:
            f.truncate(DISK_SIZE)
    if name == "lifecycle-sigterm-disk-busy":
        # The reader's pattern (cases_virtio.py): with a blank image the
        # guest would stop at block 0, before the SIGTERM this case is about.
        with open(os.path.join(tmp, "bench.img"), "wb") as f:
            f.truncate(BENCH_SIZE)
            for b in range(BENCH_SIZE // 4096):
                f.seek(b * 4096)
                f.write(struct.pack("<Q", cases_virtio.MAGIC ^ b))
    return None


def check(name, ctx, out, err):
    problems = []
    lines = [l for l in err.splitlines() if l.strip()]
    if name == "lifecycle-reboot-restart-virtio":
        restarts = len(re.findall(r"restarting it", err))
        if restarts < REBOOTS - 1:
            problems.append(f"{restarts} restarts, want at least {REBOOTS - 1}")
        bad = [l for l in lines if not re.search(r"restarting it|stopped by Terminated", l)]
        if bad:
            problems.append(f"unexpected stderr: {bad[0]}")
    if name == "lifecycle-disk-twice":
        if len(lines) != 1:
            problems.append(f"want exactly one line on stderr, got {len(lines)}")
        if out:
            problems.append("the guest should not have run")
    if name == "lifecycle-sigterm-disk-busy":
        bad = [l for l in lines if not re.search(r"stopped by Terminated", l)]
        if bad:
            problems.append(f"unexpected stderr: {bad[0]}")
    return problems
