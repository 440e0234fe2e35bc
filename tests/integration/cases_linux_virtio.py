"""The real Linux guest (tools/build-linux-guest.sh) on landlord's virtio
devices (four disks, a network interface on a tap, the entropy device),
through Linux's own drivers, once over virtio-pci and once over virtio-mmio.

With `landlord.test=virtio` on its command line the guest's /init (see
tools/linux-guest/init) finds four disks by their serial (the --disk id=) and:
checksums the raw disk `data`, fails to write the read-only disk `ro`, copies
the first 256 KiB of `data` to `rw` at offset 4 KiB and syncs, mounts the ext4 disk `ext4` (reads the host's
file, writes one back, unmounts), reads 16 bytes from virtio-rng, and powers
off. It reports on /dev/kmsg (lines like `data_md5=...`); check() compares
with the image files here after the VM has ended.

The images are small on purpose: the guest kernel's code is emulated on the
development host (MACHINE.md), and this whole run takes ~30-40 s there."""

import hashlib
import os
import random
import re
import shutil
import subprocess

from checks import ip

KIB = 1024
MIB = 1024 * KIB

# role: (file, size); the order is the --disk order, so `data` must be vda.
DISKS = [("data", "data.img", 1 * MIB), ("ro", "ro.img", 512 * KIB),
         ("rw", "rw.img", 1 * MIB), ("ext4", "ext4.img", 4 * MIB)]
# The guest copies the first RW_LEN bytes of `data` to `rw` at RW_OFFSET.
RW_OFFSET = 4 * KIB
RW_LEN = 256 * KIB
EXT4_HELLO = "landlord-ext4-hello"
EXT4_GUEST = "landlord-guest-wrote-ext4"


def _disk_args(transport):
    suffix = "" if transport == "pci" else ",transport=" + transport
    args = []
    for role, fname, _ in DISKS:
        ro = ",ro" if role == "ro" else ""
        args += ["--disk", f"path={{tmp}}/{fname}{ro},id={role}{suffix}"]
    return args


MAC = {"pci": "52:54:00:12:34:56", "mmio": "52:54:00:12:34:57"}


def _case(transport):
    # pci is the default transport: the pci case leaves it unsaid on purpose.
    rng = ["--rng"] if transport == "pci" else ["--rng=" + transport]
    net = ["--net", f"tap={{tap}},mac={MAC[transport]}" +
           ("" if transport == "pci" else ",transport=" + transport)]
    return dict(
        args=["--kernel", "{linux}/vmlinux", "--initrd", "{linux}/initramfs.cpio",
              "--memory", "256M", "--cpus", "1"] + _disk_args(transport) + rng + net +
             ["--cmdline", "{linux_cmdline} landlord.test=virtio"],
        out=[r"VIRTIO-BEGIN", r"data_md5={data_md5} dev=vda\b",
             r"ro_write=failed dev=vdb\b", r"rw_written=262144 dev=vdc\b",
             r"ext4_read=" + EXT4_HELLO + r" dev=vdd\b", r"ext4_umount=ok",
             r"rng_current=virtio_rng\.\d+", r"rng_transport=" + transport,
             r"rng_bytes=[0-9a-f]{{32}}\b",
             r"net eth0 mac=" + MAC[transport] + r" transport=" + transport, r"VIRTIO-END",
             r"LANDLORD-LINUX-OK", r"reboot: Power down"],
        timeout=600)


CASES = {
    "linux-virtio-pci": _case("pci"),
    "linux-virtio-mmio": _case("mmio"),
}


def _md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def _pattern(seed, size):
    # Seeded pseudo-random bytes: every sector differs, so a misplaced or
    # stale sector changes the checksum.
    return random.Random(seed).randbytes(size)


def prepare(name, ctx):
    linux = ctx["linux"]
    files = [os.path.join(linux, f) for f in ("vmlinux", "initramfs.cpio", "cmdline")]
    if not all(os.path.exists(f) for f in files):
        return ("*" * 40 + f" the Linux test guest is not built ({linux}): "
                "run tools/build-linux-guest.sh (tools/test.sh does) " + "*" * 40)
    mkfs = shutil.which("mkfs.ext4") or next(
        (p for p in ("/sbin/mkfs.ext4", "/usr/sbin/mkfs.ext4") if os.path.exists(p)), None)
    if not mkfs:
        return ("*" * 40 + " mkfs.ext4 not found: install e2fsprogs "
                "(tools/install-deps.sh) " + "*" * 40)
    ctx["linux_cmdline"] = open(files[2]).read().strip()
    tmp = ctx["tmp"]
    # A tap for the virtio-net device (Linux binds its driver and reads the
    # MAC; no traffic: that is cases_net.py's, with the test guest).
    ctx["tap"] = f"lllv{os.getpid()}"
    ip("tuntap", "add", "dev", ctx["tap"], "mode", "tap")
    ip("link", "set", ctx["tap"], "up")
    sizes = {role: size for role, _, size in DISKS}
    with open(os.path.join(tmp, "data.img"), "wb") as f:
        f.write(_pattern("landlord-data", sizes["data"]))
    with open(os.path.join(tmp, "ro.img"), "wb") as f:
        f.write(_pattern("landlord-ro", sizes["ro"]))
    with open(os.path.join(tmp, "rw.img"), "wb") as f:
        f.truncate(sizes["rw"])
    ctx["data_md5"] = _md5(os.path.join(tmp, "data.img"))
    ctx["ro_md5"] = _md5(os.path.join(tmp, "ro.img"))
    # The ext4 image, populated from a directory without mounting (-d). Inode
    # tables and journal are zeroed here (lazy_*_init=0) so that the guest's
    # kernel does not spend emulated time doing it in the background.
    root = os.path.join(tmp, "ext4-root")
    os.mkdir(root)
    with open(os.path.join(root, "hello.txt"), "w") as f:
        f.write(EXT4_HELLO + "\n")
    img = os.path.join(tmp, "ext4.img")
    r = subprocess.run([mkfs, "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                        "-d", root, img, str(sizes["ext4"] // KIB) + "K"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"mkfs.ext4 failed: {r.stdout.strip()}")
    return None


# disk NAME sectors=N ro=0|1 serial=S transport=T, as /init prints them.
DISK_LINE = re.compile(r"disk (vd[a-z]+) sectors=(\d+) ro=(\d) serial=(\S*) transport=(\w+)")


def _check_inventory(transport, out):
    problems = []
    seen = {m.group(1): m.groups()[1:] for m in DISK_LINE.finditer(out)}
    for i, (role, _, size) in enumerate(DISKS):
        dev = "vd" + chr(ord("a") + i)
        want = (str(size // 512), "1" if role == "ro" else "0", role, transport)
        if dev not in seen:
            problems.append(f"guest has no {dev} (--disk #{i + 1}, id={role})")
        elif seen[dev] != want:
            problems.append(f"{dev}: guest saw sectors/ro/serial/transport {seen[dev]}, "
                            f"want {want}")
    if len(seen) > len(DISKS):
        problems.append(f"guest sees {len(seen)} disks, want {len(DISKS)}")
    return problems


def _check_ext4(img):
    problems = []
    fsck = shutil.which("e2fsck") or "/sbin/e2fsck"
    debugfs = shutil.which("debugfs") or "/sbin/debugfs"
    if os.path.exists(fsck):
        r = subprocess.run([fsck, "-fn", img], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            problems.append(f"e2fsck -fn on the ext4 image after the run: status "
                            f"{r.returncode}: {r.stdout.strip()[-500:]}")
    if os.path.exists(debugfs):
        r = subprocess.run([debugfs, "-R", "cat /guest.txt", img], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        if r.stdout.strip() != EXT4_GUEST:
            problems.append(f"ext4 image: /guest.txt holds {r.stdout.strip()[:80]!r}, "
                            f"want {EXT4_GUEST!r}")
    return problems


def check(name, ctx, out, err):
    ip("link", "del", ctx["tap"])
    transport = name.rsplit("-", 1)[1]
    tmp = ctx["tmp"]
    problems = _check_inventory(transport, out)
    if _md5(os.path.join(tmp, "ro.img")) != ctx["ro_md5"]:
        problems.append("the read-only disk's file changed")
    rw = open(os.path.join(tmp, "rw.img"), "rb").read()
    want = open(os.path.join(tmp, "data.img"), "rb").read(RW_LEN)
    if len(rw) != 1 * MIB:
        problems.append(f"rw.img is {len(rw)} bytes now, want {1 * MIB}")
    got = rw[RW_OFFSET:RW_OFFSET + RW_LEN]
    if got != want:
        bad = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), len(got))
        problems.append(f"rw.img: the guest's pattern differs from byte {RW_OFFSET + bad} "
                        f"(there {got[bad:bad + 16].hex()}, want {want[bad:bad + 16].hex()})")
    if rw[:RW_OFFSET].strip(b"\0") or rw[RW_OFFSET + RW_LEN:].strip(b"\0"):
        problems.append("rw.img: bytes outside the written range are no longer zero")
    m = re.search(r"rng_bytes=([0-9a-f]{32})", out)
    if m and int(m.group(1), 16) == 0:
        problems.append("virtio-rng returned 16 zero bytes")
    problems += _check_ext4(os.path.join(tmp, "ext4.img"))
    return problems
