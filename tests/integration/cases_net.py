"""Integration cases for virtio-net: the real landlord binary on a real tap
interface, talked to from the host through an AF_PACKET socket bound to it.

Each echo case creates its own tap (`ip tuntap add dev llnetN mode tap`,
`ip link set llnetN up`; always deleted again), runs the test guest's
virtio-net-echo test with --net tap=llnetN, receives the guest's broadcast
"hello" frame on the host and checks it byte for byte, sends a "ping" frame
(large enough to need several of the guest's 256-byte receive buffers),
and checks the guest's echo ("ping" changed to "pong") byte for byte.

These need root (CAP_NET_ADMIN) and /dev/net/tun; without them the cases
fail with a message saying so, rather than pass without testing."""

import os
import re
import select
import socket
import struct
import subprocess
import time

from checks import finish, ip, one_error_line

ETHERTYPE = 0x88B5
GUEST_MAC = bytes.fromhex("525400123456")
HOST_MAC = bytes.fromhex("020000aabbcc")   # the ping's source; the echo goes back to it
HELLO = b"landlord-net-hello" + bytes((i * 7 + 1) & 0xFF for i in range(100))
PING = b"landlord-ping" + bytes((i * 13 + 5) & 0xFF for i in range(700))
PONG = b"landlord-pong" + PING[len(b"landlord-ping"):]
PACKET_OUTGOING = 4
TIMEOUT = 90            # seconds for a whole case (the guest is emulated)


def _missing_privileges():
    if os.geteuid() != 0:
        return "needs root (CAP_NET_ADMIN) to create a tap interface; run the net cases as root"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun (modprobe tun)"
    return None


def _frame(dst, src, payload):
    return dst + src + struct.pack(">H", ETHERTYPE) + payload


def _recv_frame(sock, proc, deadline, want):
    """The next incoming frame for which want(frame) holds, or None when the
    deadline passes or landlord exits."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        if not select.select([sock], [], [], 0.2)[0]:
            continue
        data, addr = sock.recvfrom(65536)
        if addr[2] == PACKET_OUTGOING:       # our own ping, looped back
            continue
        if want(data):
            return data
    return None


def _check_info(landlord, name, ifname):
    """`landlord info NAME` lists the interface (kind virtio-net, the tap)."""
    r = subprocess.run([landlord, "info", name], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return [f"landlord info {name}: status {r.returncode}: {r.stderr.strip()}"]
    if not re.search(r"virtio-net.*" + re.escape(ifname), r.stdout):
        return [f"landlord info does not list virtio-net on {ifname}:\n{r.stdout}"]
    return []


def _exchange(sock, proc, case, ctx, landlord, name, ifname):
    """Host side of the echo: hello in, ping out, pong in.  Problems."""
    deadline = time.monotonic() + TIMEOUT
    hello = _recv_frame(sock, proc, deadline,
                        lambda f: f[6:12] == GUEST_MAC and f[14:14 + 18] == HELLO[:18])
    if hello is None:
        return ["no hello frame from the guest on the tap"]
    problems = []
    if hello != _frame(b"\xff" * 6, GUEST_MAC, HELLO):
        problems.append(f"hello frame differs: {hello.hex()}")
    if case.get("info"):
        problems += _check_info(landlord, name, ifname)
    sock.send(_frame(GUEST_MAC, HOST_MAC, PING))
    pong = _recv_frame(sock, proc, deadline,
                       lambda f: f[6:12] == GUEST_MAC and f[14:14 + 13] == b"landlord-pong")
    if pong is None:
        return problems + ["no echo from the guest"]
    if pong != _frame(HOST_MAC, GUEST_MAC, PONG):
        problems.append(f"echo differs: got {len(pong)} bytes {pong[:40].hex()}..., "
                        f"want {len(PONG) + 14}")
    return problems


def _run_echo(name, ctx, landlord):
    case = CASES[name]
    why = _missing_privileges()
    if why:
        return [f"{name}: {why}"], "", ""
    ifname = f"llnet{os.getpid() % 100000}"
    vm_name = f"net-{os.getpid()}"
    cmd = [landlord, "run", "--name", vm_name, "--kernel", ctx["elf"],
           "--cmdline", case["cmdline"],
           "--net", f"tap={ifname},mac=52:54:00:12:34:56{case['net_opts']}", *case.get("extra", [])]
    problems, out, err = [], "", ""
    proc = None
    try:
        ip("tuntap", "add", "dev", ifname, "mode", "tap")
        ip("link", "set", ifname, "up")
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE)) as sock:
            sock.bind((ifname, ETHERTYPE))
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            problems += _exchange(sock, proc, case, ctx, landlord, vm_name, ifname)
        more, out, err = finish(proc, TIMEOUT, case["out"])
        problems += more
    except (OSError, RuntimeError, subprocess.SubprocessError) as ex:
        problems.append(f"{type(ex).__name__}: {ex}")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            o, e = proc.communicate()
            out, err = out + o.decode(errors="replace"), err + e.decode(errors="replace")
        try:
            ip("link", "del", ifname)
        except (OSError, RuntimeError, subprocess.SubprocessError) as ex:
            problems.append(f"cleanup: {ex}")
    return problems, out, err


def _echo(cmdline, net_opts, out=(), **kw):
    return dict(custom=_run_echo, cmdline="test=virtio-net-echo " + cmdline, net_opts=net_opts,
                out=[r"net_mac=52:54:00:12:34:56", r"net_tx_hello=ok",
                     rf"net_echo=sent len={len(PING) + 14}\b", *out,
                     r"TEST PASS virtio-net-echo"], **kw)


CASES = {
    # merged receive buffers: the 727-byte ping (+ 12-byte header) in three
    # 256-byte buffers, published together
    "net-echo-pci": _echo("transport=pci", ",transport=pci", info=True,
                          out=[r"net: pci 00:[0-9a-f]{2}\.0 irq=msix", r"link=1",
                               r"net_rx: len=727 bufs=3\b"]),
    "net-echo-mmio": _echo("transport=mmio", ",transport=mmio",
                           out=[r"net: mmio 0xd0000000 irq=line", r"net_rx: len=727 bufs=3\b"]),
    # one big buffer per frame, no interrupts, no event index
    "net-echo-pci-nomrg-poll": _echo("transport=pci mrg=0 irq=poll event_idx=0", "",
                                     out=[r"irq=poll", r"mrg=0", r"net_rx: len=727 bufs=1\b"]),
    "net-echo-mmio-default": _echo("", "", extra=["--virtio-transport", "mmio"],
                                        out=[r"net: mmio "]),
}

# Bad --net input: exit status 1, one line on stderr naming the problem.
BAD = {
    "net-bad-multicast-mac": (["--net", "tap=llnet0,mac=01:00:5e:00:00:01"], r"multicast"),
    "net-bad-mac-syntax": (["--net", "tap=llnet0,mac=52:54:00:12:34"], r"mac"),
    "net-bad-tap-long": (["--net", "tap=llnet0123456789ab"], r"llnet0123456789ab"),
    "net-bad-no-tap": (["--net", "mac=52:54:00:12:34:56"], r"tap"),
    "net-bad-key": (["--net", "tap=llnet0,speed=10G"], r"speed"),
    "net-bad-same-tap": (["--net", "tap=llnet0", "--net", "tap=llnet0"], r"twice"),
    "net-bad-transport": (["--net", "tap=llnet0,transport=usb"], r"usb|transport"),
}
for _name, (_args, _pat) in BAD.items():
    CASES[_name] = dict(args=["--kernel", "{elf}", "--cmdline", "test=poweroff", *_args],
                        status=1, err=[_pat], bad=True, timeout=30)
# An interface that exists but is no tap: TUNSETIFF refuses it (as root), or
# it is not permitted at all (not root); either way a line naming it, and
# the VM is not started.
CASES["net-bad-not-a-tap"] = dict(
    args=["--kernel", "{elf}", "--cmdline", "test=poweroff", "--net", "tap=lo"], status=1,
    err=[r"^landlord: tap lo: (Invalid argument \(not a tap interface\?\)|"
         r"Operation not permitted \(needs CAP_NET_ADMIN\))"], timeout=30)


def check(name, ctx, out, err):
    case = CASES[name]
    if not case.get("bad"):
        return []
    return one_error_line(err)
