"""Integration cases for virtio-vsock: the real landlord binary with
--vsock cid=3,uds={tmp}/v.sock and the test guest's virtio-vsock test,
the host side played here with Unix sockets, Firecracker's way:

- guest-initiated: this script listens on {tmp}/v.sock_1234 before the VM
  starts, accepts the guest's connection, reads "hello from the guest" and
  answers "hello from the host";
- host-initiated: it connects to {tmp}/v.sock, sends "CONNECT 52\\n",
  expects "OK <port>\\n", sends a ping line and expects the pong.

Then landlord must exit 0 with the guest's PASS line, and the socket file
it created must be gone.  Over PCI and MMIO.  Plus bad --vsock options."""

import os
import re
import select
import socket
import subprocess
import time

from checks import finish, one_error_line

TIMEOUT = 80            # seconds for a whole case (the guest is emulated)
HELLO = b"hello from the guest"
REPLY = b"hello from the host"
PING = b"ping from the host\n"
PONG = b"pong from the host\n"


def _wait_readable(sock, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if select.select([sock], [], [], 0.2)[0]:
            return True
    return False


def _read_until(sock, proc, deadline, done):
    """Bytes from sock until done(data) holds, EOF, landlord exits or the
    deadline passes."""
    data = b""
    while not done(data):
        if not _wait_readable(sock, proc, deadline):
            break
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _guest_initiated(listener, proc, deadline):
    """Problems, and the accepted connection (or None)."""
    if not _wait_readable(listener, proc, deadline):
        return ["the guest never connected to v.sock_1234"], None
    conn, _ = listener.accept()
    got = _read_until(conn, proc, deadline, lambda d: HELLO in d)
    if got != HELLO:
        conn.close()
        return [f"from the guest on port 1234: {got!r}, want {HELLO!r}"], None
    conn.sendall(REPLY)
    return [], conn


def _guest_closes(conn, proc, deadline):
    """The guest shuts its connection down once it is done: EOF here."""
    with conn:
        rest = _read_until(conn, proc, deadline, lambda d: False)
    return [f"more bytes from the guest on port 1234: {rest!r}"] if rest else []


def _host_initiated(path, proc, deadline):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(b"CONNECT 52\n")
        line = _read_until(s, proc, deadline, lambda d: b"\n" in d)
        if not re.fullmatch(rb"OK \d+\n", line):
            return [f"answer to CONNECT 52: {line!r}, want 'OK <port>\\n'"]
        s.sendall(PING)
        echo = _read_until(s, proc, deadline, lambda d: len(d) >= len(PONG))
        if echo != PONG:
            return [f"echo on port 52: {echo!r}, want {PONG!r}"]
    return []


def _run(name, ctx, landlord):
    case = CASES[name]
    tmp = ctx["tmp"]
    path = os.path.join(tmp, "v.sock")
    cmd = [landlord, "run", "--kernel", ctx["elf"], "--cmdline", case["cmdline"],
           "--vsock", f"cid=3,uds={path}{case['opts']}"]
    problems, out, err = [], "", ""
    deadline = time.monotonic() + TIMEOUT
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path + "_1234")
        listener.listen(4)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            p, conn = _guest_initiated(listener, proc, deadline)
            problems += p
            if conn:
                problems += _host_initiated(path, proc, deadline)
                problems += _guest_closes(conn, proc, deadline)
        except OSError as ex:
            proc.kill()
            problems.append(f"{type(ex).__name__}: {ex}")
        more, out, err = finish(proc, max(1, deadline - time.monotonic()), case["out"])
        problems += more
    if os.path.exists(path):
        problems.append(f"{path} is still there after landlord exited")
    return problems, out, err


def _case(cmdline, opts, out):
    return dict(custom=_run, cmdline="test=virtio-vsock " + cmdline, opts=opts,
                out=[r"vsock_cid=3\b", r"vsock: connected to host port 1234",
                     r"vsock_host_reply=hello from the host", r"vsock: request from host port \d+",
                     rf"vsock_echo={len(PING)} bytes", r"vsock_done=1", *out,
                     r"TEST PASS virtio-vsock"])


CASES = {
    "vsock-pci": _case("transport=pci", ",transport=pci",
                       [r"vsock: pci 00:[0-9a-f]{2}\.0 irq=msix"]),
    "vsock-mmio": _case("transport=mmio", ",transport=mmio",
                        [r"vsock: mmio 0xd0000000 irq=line"]),
}

# Bad --vsock input: exit status 1, one line on stderr naming the problem.
BAD = {
    "vsock-bad-cid": (["--vsock", "cid=2,uds={tmp}/v.sock"], r"cid 2"),
    "vsock-bad-no-uds": (["--vsock", "cid=3"], r"uds"),
    "vsock-bad-path-long": (["--vsock", "cid=3,uds=/tmp/" + "x" * 100], r"uds path"),
    "vsock-bad-key": (["--vsock", "cid=3,uds={tmp}/v.sock,port=9"], r"port"),
}
for _name, (_args, _pat) in BAD.items():
    CASES[_name] = dict(args=["--kernel", "{elf}", "--cmdline", "test=poweroff", *_args],
                        status=1, err=[_pat], bad=True, timeout=30)


def check(name, ctx, out, err):
    case = CASES[name]
    if not case.get("bad"):
        return []
    return one_error_line(err)
