"""Integration cases for landlord's virtio devices, driven by the test guest's
own virtio drivers (tests/guest/virtio*.c): virtio-blk, -rng and -console
over PCI (MSI-X, INTx, polling) and MMIO, a hostile driver, and bad CLI input.

prepare() makes the disk images in ctx["tmp"]; check() compares them with
what the guest must have written, byte for byte (the pattern is the one in
tests/guest/virtio_blk.c)."""

import os
import re
import struct
import subprocess

from checks import one_error_line

MAGIC = 0x6C616E646C6F7264
MASK = (1 << 64) - 1
SECTOR = 512
RO_SEED = 0x52
DISK_SIZE = 4 << 20          # 8192 sectors
RO_SIZE = 1 << 20
BENCH_SIZE = 64 << 20


def sector_pattern(seed, sector):
    """Sector `sector` of a disk written with seed `seed` (virtio_blk.c)."""
    base = MAGIC ^ (seed << 56) ^ (sector << 8)
    return struct.pack("<64Q", *[(base ^ i) & MASK for i in range(64)])


def blk_regions(capacity):
    """(first sector, sectors) the virtio-blk test writes, in its order."""
    return [(0, 1), (8, 136), (1000, 16), (capacity - 1, 1)]


def expected_disk(size, seed):
    data = bytearray(size)
    for first, count in blk_regions(size // SECTOR):
        for s in range(first, first + count):
            data[s * SECTOR:(s + 1) * SECTOR] = sector_pattern(seed, s)
    return bytes(data)


def _kernel(cmdline, *extra):
    return ["--kernel", "{elf}", *extra, "--cmdline", cmdline]


def _blk_case(cmdline, disk_opts, extra=(), out=()):
    return dict(args=_kernel(cmdline, "--disk", "path={tmp}/disk0.img,id=vd-test" + disk_opts,
                             *extra),
                out=[r"blk_capacity=8192\b", r"blk_id=vd-test\b", *out, r"TEST PASS virtio-blk"],
                disks={"disk0.img": ("vd-test", DISK_SIZE)})


CASES = {
    # virtio-blk: pattern, flush, read back, refusals, GET_ID
    "virtio-blk-pci-msix": _blk_case("test=virtio-blk transport=pci irq=msix", "",
                                     out=[r"blk0: pci 00:[0-9a-f]{{2}}\.0 irq=msix"]),
    "virtio-blk-pci-intx": _blk_case("test=virtio-blk transport=pci irq=intx", "",
                                     out=[r"irq=intx"]),
    "virtio-blk-pci-poll": _blk_case("test=virtio-blk transport=pci irq=poll event_idx=0", "",
                                     out=[r"irq=poll"]),
    "virtio-blk-mmio": _blk_case("test=virtio-blk transport=mmio", ",transport=mmio",
                                 out=[r"blk0: mmio 0xd0000000 irq=line"]),
    "virtio-blk-mmio-poll": _blk_case("test=virtio-blk transport=mmio irq=poll",
                                      ",transport=mmio", out=[r"irq=poll"]),
    "virtio-blk-mmio-default": _blk_case("test=virtio-blk", "", ["--virtio-transport", "mmio"],
                                         out=[r"blk0: mmio "]),
    "virtio-blk-two-disks": dict(
        args=_kernel("test=virtio-blk disks=2",
                     "--disk", "path={tmp}/disk0.img,id=disk-a",
                     "--disk", "path={tmp}/disk1.img,id=disk-b,transport=mmio"),
        out=[r"blk0_id=disk-a\b", r"blk1_id=disk-b\b", r"TEST PASS virtio-blk"],
        disks={"disk0.img": ("disk-a", DISK_SIZE), "disk1.img": ("disk-b", DISK_SIZE)}),
    # slots 1 and 3 share INTx GSI 11: one device served per interrupt, the
    # other must keep the line up (the monitor ORs devices on a line)
    "virtio-blk-pci-intx-shared": dict(
        args=_kernel("test=virtio-blk disks=3 irq=intx transport=pci",
                     "--disk", "path={tmp}/disk0.img,id=disk-a",
                     "--disk", "path={tmp}/disk1.img,id=disk-b",
                     "--disk", "path={tmp}/disk2.img,id=disk-c"),
        out=[r"blk0_id=disk-a\b", r"blk1_id=disk-b\b", r"blk2_id=disk-c\b", r"blk_concurrent=3",
             r"TEST PASS virtio-blk"],
        disks={"disk0.img": ("disk-a", DISK_SIZE), "disk1.img": ("disk-b", DISK_SIZE),
               "disk2.img": ("disk-c", DISK_SIZE)}),
    "virtio-blk-with-all": dict(
        args=_kernel("test=virtio-blk", "--disk", "path={tmp}/disk0.img,id=vd-test", "--rng",
                     "--console-device", "virtio"),
        out=[r"blk_id=vd-test\b", r"TEST PASS virtio-blk"],
        disks={"disk0.img": ("vd-test", DISK_SIZE)}),
    # read-only disks refuse writes
    "virtio-blk-ro-pci": dict(
        args=_kernel("test=virtio-blk-ro", "--disk", "path={tmp}/ro.img,ro"),
        out=[r"ro_feature=1", r"ro_read_ok=1", r"ro_write_status=1", r"ro_unchanged=1",
             r"TEST PASS virtio-blk-ro"]),
    "virtio-blk-ro-mmio": dict(
        args=_kernel("test=virtio-blk-ro", "--disk", "path={tmp}/ro.img,ro,transport=mmio"),
        out=[r"blk0: mmio ", r"ro_write_status=1", r"TEST PASS virtio-blk-ro"]),
    # throughput of 1 MiB reads (the number goes into the note)
    "virtio-blk-read": dict(
        args=_kernel("test=virtio-blk-read", "--memory", "128M", "--disk",
                     "path={tmp}/bench.img,ro"),
        out=[r"read_mib=64\b", r"read_mib_per_s=\d+", r"TEST PASS virtio-blk-read"],
        timeout=120),
    # the same with 16 requests in flight (refilled as they complete, out of
    # order if the device likes); the guest checks every 4 KiB block's tag
    "virtio-blk-read-qd16": dict(
        args=_kernel("test=virtio-blk-read mib=32 qd=16", "--memory", "128M", "--disk",
                     "path={tmp}/bench.img,ro"),
        out=[r"read_qd=16 ", r"read_mib=32\b", r"read_mib_per_s=\d+",
             r"TEST PASS virtio-blk-read"],
        timeout=120),
    # the bench's form: one tag per request, over MMIO, 4 in flight
    "virtio-blk-read-first-mmio": dict(
        args=_kernel("test=virtio-blk-read mib=32 qd=4 verify=first transport=mmio",
                     "--memory", "128M", "--disk", "path={tmp}/bench.img,ro,transport=mmio"),
        out=[r"read_qd=4 ", r"read_mib=32\b", r"TEST PASS virtio-blk-read"],
        timeout=120),
    # virtio-rng
    "virtio-rng-pci": dict(args=_kernel("test=virtio-rng", "--rng"),
                           out=[r"rng: pci ", r"rng_bytes=64",
                                r"msix_masked: pending=1 delivered_while_masked=0",
                                r"msix_unmasked: delivered=1 pending=0", r"TEST PASS virtio-rng"]),
    "virtio-rng-pci-intx": dict(args=_kernel("test=virtio-rng irq=intx event_idx=1", "--rng=pci"),
                                out=[r"irq=intx", r"rng_bytes=64", r"TEST PASS virtio-rng"]),
    "virtio-rng-mmio": dict(args=_kernel("test=virtio-rng", "--rng=mmio"),
                            out=[r"rng: mmio ", r"rng_bytes=64", r"TEST PASS virtio-rng"]),
    # virtio-console: a line each way
    "virtio-console-pci": dict(
        args=_kernel("test=virtio-console", "--console-device", "virtio"),
        stdin=b"vcon-ping-42\n",
        out=[r"hvc: hello from the landlord test guest", r"vcon_rx=vcon-ping-42",
             r"hvc_echo=vcon-ping-42", r"TEST PASS virtio-console"]),
    "virtio-console-mmio": dict(
        args=_kernel("test=virtio-console event_idx=1", "--console-device", "virtio",
                     "--virtio-transport", "mmio"),
        stdin=b"vcon-ping-43\n",
        out=[r"vcon: mmio ", r"hvc: hello from the landlord test guest",
             r"vcon_rx=vcon-ping-43", r"hvc_echo=vcon-ping-43", r"TEST PASS virtio-console"]),
    # a hostile driver: every breakage -> NEEDS_RESET, one log line, recovery
    "virtio-hostile-pci": dict(
        args=_kernel("test=virtio-hostile", "--disk", "path={tmp}/disk0.img"),
        out=[r"hostile_breakages=12", r"hostile_recovered=12", r"TEST PASS virtio-hostile"],
        err=[r"needs reset"]),
    "virtio-hostile-pci-intx": dict(
        args=_kernel("test=virtio-hostile irq=intx", "--disk", "path={tmp}/disk0.img"),
        out=[r"irq=intx", r"hostile_breakages=12", r"TEST PASS virtio-hostile"],
        err=[r"needs reset"]),
    "virtio-hostile-pci-poll": dict(
        args=_kernel("test=virtio-hostile irq=poll", "--disk", "path={tmp}/disk0.img"),
        out=[r"irq=poll", r"hostile_breakages=12", r"TEST PASS virtio-hostile"],
        err=[r"needs reset"]),
    "virtio-hostile-mmio": dict(
        args=_kernel("test=virtio-hostile", "--disk", "path={tmp}/disk0.img,transport=mmio"),
        out=[r"hostile: blk mmio ", r"hostile_breakages=12", r"TEST PASS virtio-hostile"],
        err=[r"needs reset"]),
    "virtio-hostile-rng-mmio": dict(
        args=_kernel("test=virtio-hostile dev=rng irq=poll", "--rng=mmio"),
        out=[r"hostile: rng mmio ", r"hostile_breakages=12", r"TEST PASS virtio-hostile"],
        err=[r"needs reset"]),
}

# Bad CLI input: exit status 1, one line on stderr naming the problem.
BAD = {
    "bad-disk-missing-file": (["--disk", "path={tmp}/nonexistent.img"], r"nonexistent\.img"),
    "bad-disk-no-path": (["--disk", "ro"], r"path"),
    "bad-disk-key": (["--disk", "path={tmp}/disk0.img,frobnicate=1"], r"frobnicate"),
    "bad-disk-duplicate-id": (["--disk", "path={tmp}/disk0.img,id=same",
                               "--disk", "path={tmp}/disk1.img,id=same"], r"same"),
    "bad-disk-transport": (["--disk", "path={tmp}/disk0.img,transport=isa"], r"isa|transport"),
    "bad-rng-transport": (["--rng=usb"], r"usb|--rng"),
    "bad-console-device": (["--console-device", "parallel"], r"parallel|--console-device"),
    "bad-virtio-transport": (["--virtio-transport", "ccw"], r"ccw|--virtio-transport"),
}
for _name, (_args, _pat) in BAD.items():
    CASES["virtio-" + _name] = dict(args=["--kernel", "{elf}", *_args], status=1, err=[_pat],
                                    bad=True, timeout=30)


def _zero_file(path, size):
    with open(path, "wb") as f:
        f.truncate(size)


def prepare(name, ctx):
    tmp = ctx["tmp"]
    for fname in ("disk0.img", "disk1.img", "disk2.img"):
        _zero_file(os.path.join(tmp, fname), DISK_SIZE)
    ro = bytearray(RO_SIZE)
    for s in range(16):
        ro[s * SECTOR:(s + 1) * SECTOR] = sector_pattern(RO_SEED, s)
    with open(os.path.join(tmp, "ro.img"), "wb") as f:
        f.write(ro)
    ctx["ro_content"] = bytes(ro)
    if name.startswith("virtio-blk-read"):
        # the first 8 bytes of each 4 KiB block: MAGIC ^ block number
        with open(os.path.join(tmp, "bench.img"), "wb") as f:
            f.truncate(BENCH_SIZE)
            for b in range(BENCH_SIZE // 4096):
                f.seek(b * 4096)
                f.write(struct.pack("<Q", MAGIC ^ b))
    return None


def _compare(path, want):
    got = open(path, "rb").read()
    if len(got) != len(want):
        return [f"{os.path.basename(path)} is {len(got)} bytes, want {len(want)}"]
    if got == want:
        return []
    off = next(i for i in range(len(got)) if got[i] != want[i])
    return [f"{os.path.basename(path)} differs first at byte {off} (sector {off // SECTOR}): "
            f"{got[off:off + 8].hex()} != {want[off:off + 8].hex()}"]


def check(name, ctx, out, err):
    case = CASES[name]
    tmp = ctx["tmp"]
    problems = []
    if case.get("bad"):
        return one_error_line(err)
    if "disks" in case and "TEST PASS" in out:
        # seed = the disk's index in the guest's discovery order (blkK_id=NAME)
        seeds = {m.group(2): int(m.group(1)) for m in re.finditer(r"blk(\d+)_id=(\S*)", out)}
        for fname, (disk_id, size) in case["disks"].items():
            if disk_id not in seeds:
                problems.append(f"the guest never reported disk id {disk_id}")
                continue
            problems += _compare(os.path.join(tmp, fname), expected_disk(size, seeds[disk_id]))
    if name.startswith("virtio-blk-ro"):
        problems += _compare(os.path.join(tmp, "ro.img"), ctx["ro_content"])
    if name.startswith("virtio-hostile"):
        want = len(re.findall(r"hostile_case=", out))
        got = len(re.findall(r"needs reset", err))
        if got != want:
            problems.append(f"{got} 'needs reset' lines on stderr for {want} breakages")
        if name != "virtio-hostile-rng-mmio":
            problems += _compare(os.path.join(tmp, "disk0.img"), bytes(DISK_SIZE))
    if name.startswith("virtio-blk-read"):
        m = re.search(r"read_mib_per_s=(\d+)", out)
        if m:
            print(f"{name}: guest {m.group(1)} MiB/s (1 MiB requests, file in the page "
                  f"cache); host: {_dd_rate(os.path.join(tmp, 'bench.img'))}")
    return problems


def _dd_rate(path):
    """dd's own summary line for reading the same (cached) file, 1 MiB blocks."""
    try:
        r = subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=1M"], capture_output=True,
                           text=True, timeout=60)
        return "dd " + (r.stderr.strip().splitlines() or ["?"])[-1]
    except (OSError, subprocess.SubprocessError) as e:
        return f"dd failed: {e}"
