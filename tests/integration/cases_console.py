"""Integration cases for `landlord console` and GET /landlord/console: attach
to a detached VM through its API socket, see the earlier output replayed,
type to the guest, detach with Ctrl-] on a terminal, one client at a time,
a client that never reads, and requests that are not a proper Upgrade.
Each case starts its VMs with `run --detach` in a fresh runtime folder."""

import json
import os
import pty
import re
import select
import socket
import subprocess
import termios
import time

from cases_cli import Env

UPGRADE = (b"GET /landlord/console HTTP/1.1\r\nHost: localhost\r\n"
           b"Connection: Upgrade\r\nUpgrade: landlord-console\r\n\r\n")


class ConsoleEnv(Env):
    """Env whose VMs run detached (not children of the test)."""

    def detach(self, name, test="echo", *extra):
        log = os.path.join(self.tmp, f"{name}.log")
        rc, out, err = self.cli("run", "--detach", "--name", name, "--console", f"file:{log}",
                                "--kernel", self.elf, *extra, "--cmdline", f"test={test}")
        return self.expect(rc == 0, f"run --detach {name}: exit {rc}, {err!r}")

    def log_text(self, name):
        try:
            with open(os.path.join(self.tmp, f"{name}.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, name, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.log_text(name)):
                return True
            time.sleep(0.05)
        self.problems.append(f"{name}'s console never showed /{pattern}/")
        return False

    def wait_gone(self, name, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and os.path.exists(self.sock(name)):
            time.sleep(0.05)
        return self.expect(not os.path.exists(self.sock(name)), f"VM {name} still running")

    def finish(self):
        if os.path.isdir(self.rt):
            for f in os.listdir(self.rt):
                if f.endswith(".sock"):
                    self.cli("kill", f[:-5])
        return self.problems, "\n".join(self.log), ""


def console_case(fn):
    def run(name, ctx, landlord):
        e = ConsoleEnv(ctx, landlord)
        try:
            fn(e)
        except Exception as ex:  # noqa: BLE001 - report, then clean up
            e.problems.append(f"{type(ex).__name__}: {ex}")
        return e.finish()
    return run


def connect(path, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def read_head(s):
    """The answer's head (status line + headers) and what came after it."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode(errors="replace"), rest


def read_until(s, pattern, timeout=20, have=b""):
    """Read until pattern (bytes regex) shows up, the stream ends or time runs out."""
    buf = have
    deadline = time.monotonic() + timeout
    while not re.search(pattern, buf) and time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def request(path, raw):
    """One raw request; (status, headers text, JSON body or None)."""
    s = connect(path)
    s.sendall(raw)
    head, rest = read_head(s)
    m = re.search(r"(?i)content-length:\s*(\d+)", head)
    want = int(m.group(1)) if m else 0
    while len(rest) < want:
        chunk = s.recv(4096)
        if not chunk:
            break
        rest += chunk
    s.close()
    status = int(head.split()[1]) if head.startswith("HTTP/") else 0
    try:
        body = json.loads(rest[:want]) if want else None
    except ValueError:
        body = None
    return status, head, body


def fault(body):
    return body.get("fault_message", "") if isinstance(body, dict) else ""


def cli_console(e, name, *extra):
    return subprocess.Popen([e.landlord, "console", name, *extra], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e.env)


def read_proc(p, pattern, timeout=20):
    """Read p's stdout until pattern (bytes regex); what was read."""
    buf = b""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, buf) and time.monotonic() < deadline:
        if select.select([p.stdout], [], [], 0.1)[0]:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
    return buf


@console_case
def replay_echo(e):
    """Earlier output replayed from the ring; a line typed reaches the guest,
    whose echo comes back; the VM powers off and the CLI says so."""
    if not (e.detach("v") and e.wait_log("v", r"echo: waiting")):
        return
    p = cli_console(e, "v")
    got = read_proc(p, rb"echo: waiting")
    e.expect(b"uart_gsi=" in got and b"echo: waiting" in got, f"no replay: {got!r}")
    p.stdin.write(b"ping-con\r\n")
    p.stdin.flush()
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        e.problems.append("landlord console did not exit when the VM stopped")
    out = got + out
    e.expect(p.returncode == 0, f"console exit {p.returncode}, want 0")
    e.expect(b"echo=ping-con" in out and b"TEST PASS echo" in out, f"no echo: {out[-300:]!r}")
    e.expect(err == b"v has stopped\n", f"stderr {err!r}")
    e.wait_gone("v")


@console_case
def detach_tty(e):
    """On a terminal: raw mode, Ctrl-] detaches (exit 0, VM keeps running,
    terminal restored); a second attach then works, input sent along with
    the Upgrade request included."""
    if not (e.detach("v") and e.wait_log("v", r"echo: waiting")):
        return
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([e.landlord, "console", "v"], stdin=slave, stdout=slave,
                         stderr=subprocess.PIPE, env=e.env)
    out, deadline = b"", time.monotonic() + 20
    while b"echo: waiting" not in out and time.monotonic() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            out += os.read(master, 4096)
    e.expect(b"echo: waiting" in out, f"no replay on the terminal: {out!r}")
    during = termios.tcgetattr(slave)
    e.expect(not (during[3] & (termios.ICANON | termios.ECHO)), "terminal not in raw mode")
    os.write(master, b"\x1d")
    try:
        _, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        e.problems.append("Ctrl-] did not detach")
    e.expect(p.returncode == 0, f"exit {p.returncode} after Ctrl-], want 0")
    e.expect(err.endswith(b"\ndetached from v\n"), f"stderr {err!r}")
    e.expect(termios.tcgetattr(slave) == before, "terminal settings not restored")
    os.close(master)
    os.close(slave)
    rc, out, _ = e.cli("info", "v")
    e.expect(rc == 0 and re.search(r"(?m)^state:\s+running$", out), "VM not running after detach")
    e.expect(os.path.exists(e.sock("v")), "socket gone after detach")
    # Again, with raw HTTP; the line travels in the same write as the request.
    s = connect(e.sock("v"))
    s.sendall(UPGRADE + b"second\r\n")
    head, rest = read_head(s)
    e.expect(head.startswith("HTTP/1.1 101") and re.search(r"(?i)upgrade: landlord-console", head),
             f"second attach: {head!r}")
    got = read_until(s, rb"TEST PASS echo\r?\n", have=rest)
    e.expect(b"echo=second" in got, f"second attach: no echo {got[-300:]!r}")
    tail = read_until(s, rb"(?!)", timeout=10)
    e.expect(tail == b"", f"stream open after the VM stopped: {tail[-200:]!r}")
    s.close()
    e.wait_gone("v")


@console_case
def busy(e):
    """One client at a time: a second attach gets 409 and the CLI one line;
    once the first leaves (stdin at its end), attaching works again."""
    if not (e.detach("v") and e.wait_log("v", r"echo: waiting")):
        return
    a = cli_console(e, "v")
    e.expect(b"echo: waiting" in read_proc(a, rb"echo: waiting"), "first client: no replay")
    rc, out, err = e.cli("console", "v")
    e.expect(rc == 1 and err == "landlord: v: console already attached (one client at a time)\n"
             and not out, f"second client: exit {rc}, {err!r}")
    status, head, body = request(e.sock("v"), UPGRADE)
    e.expect(status == 409 and "already attached" in fault(body), f"raw second: {status} {body}")
    rc, out, _ = e.cli("info", "v")
    e.expect(rc == 0, "the API stopped answering with a console attached")
    a.stdin.close()
    try:
        a.wait(timeout=10)
    except subprocess.TimeoutExpired:
        a.kill()
        e.problems.append("the console did not end after its stdin ended")
    e.expect(a.returncode == 0 and a.stderr.read() == b"", f"first client exit {a.returncode}")
    for _ in range(50):
        s = connect(e.sock("v"))
        s.sendall(UPGRADE)
        head, rest = read_head(s)
        if head.startswith("HTTP/1.1 101"):
            break
        s.close()
        time.sleep(0.05)
    e.expect(head.startswith("HTTP/1.1 101"), f"attach after the first left: {head!r}")
    s.sendall(b"third\r\n")
    got = read_until(s, rb"TEST PASS echo\r?\n", have=rest)
    e.expect(b"echo=third" in got, f"no echo for the third client: {got[-200:]!r}")
    s.close()
    e.wait_gone("v")


LINE = re.compile(rb"chatter (\d{8}) ")


@console_case
def slow_reader(e):
    """A client that does not read stalls nothing: the guest prints on, the
    API answers; when it reads at last it gets old bytes, a gap (dropped)
    and then the latest output."""
    lines = 7000
    if not e.detach("v", f"chatter lines={lines}", "--memory", "64M"):
        return
    s = connect(e.sock("v"))
    s.sendall(UPGRADE)
    head, rest = read_head(s)
    if not e.expect(head.startswith("HTTP/1.1 101"), f"attach: {head!r}"):
        return
    t = time.monotonic()
    while time.monotonic() - t < 60 and not re.search(rb"chatter 0000550\d", e.log_text("v").encode()):
        t0 = time.monotonic()
        rc, _, _ = e.cli("info", "v")
        e.expect(rc == 0 and time.monotonic() - t0 < 3, "info slow or failing while the client stalls")
        status, _, body = request(e.sock("v"), UPGRADE)
        e.expect(status == 409, f"concurrent attach: {status} {body}")
        time.sleep(0.2)
    got = read_until(s, rb"TEST PASS chatter", timeout=60, have=rest)
    s.close()
    e.wait_gone("v", timeout=30)
    log = e.log_text("v")
    e.expect(f"chatter {lines - 1:08d}" in log and "TEST PASS chatter" in log,
             "the guest did not finish its output")
    nums = [int(m.group(1)) for m in LINE.finditer(got)]
    gaps = [(a, b) for a, b in zip(nums, nums[1:]) if b != a + 1]
    e.expect(b"TEST PASS chatter" in got, f"the client missed the latest output: {got[-200:]!r}")
    e.expect(len(got) < len(log), f"nothing dropped: got {len(got)} of {len(log)} bytes")
    # One gap where bytes were dropped (two if the cut happened to join two
    # half lines into something that looks like a line), then the end.
    e.expect(1 <= len(gaps) <= 2 and nums and nums[-1] == lines - 1,
             f"want a gap (dropped bytes), then the end: gaps {gaps[:5]}, last {nums[-1:]}")


@console_case
def bad_requests(e):
    """Not an Upgrade: 400 naming the headers; another method: 405; HTTP/1.0:
    400; the CLI's errors are one line, exit 1; stdin at its end: the
    history, then exit 0."""
    if not (e.detach("v") and e.wait_log("v", r"echo: waiting")):
        return
    path = e.sock("v")
    status, _, body = request(path, b"GET /landlord/console HTTP/1.1\r\nHost: x\r\n\r\n")
    e.expect(status == 400 and "Upgrade: landlord-console" in fault(body), f"no upgrade: {body}")
    status, _, body = request(path, b"GET /landlord/console HTTP/1.1\r\nHost: x\r\n"
                              b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
    e.expect(status == 400, f"websocket: {status} {body}")
    status, head, body = request(path, b"PUT /landlord/console HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Length: 0\r\n\r\n")
    e.expect(status == 405 and re.search(r"(?i)allow: GET", head), f"PUT: {status} {head!r}")
    status, _, body = request(path, UPGRADE.replace(b"HTTP/1.1", b"HTTP/1.0"))
    e.expect(status == 400 and "HTTP/1.1" in fault(body), f"HTTP/1.0: {status} {body}")
    rc, out, err = e.cli("console", "nosuch")
    e.expect(rc == 1 and err == "landlord: no VM named nosuch\n", f"nosuch: {rc} {err!r}")
    for args in (["console"], ["console", "../x"], ["console", "v", "--frob"],
                 ["console", "v", "w"]):
        rc, out, err = e.cli(*args)
        e.expect(rc == 1 and len(err.splitlines()) == 1 and err.startswith("landlord: "),
                 f"{' '.join(args)}: exit {rc}, {err!r}")
    p = subprocess.run([e.landlord, "console", "--api-sock", path], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e.env, timeout=20)
    e.expect(p.returncode == 0 and b"echo: waiting" in p.stdout and not p.stderr,
             f"stdin at its end: exit {p.returncode}, {p.stderr!r}")
    rc, out, _ = e.cli("info", "v")
    e.expect(rc == 0 and "running" in out, "VM not running after the bad requests")
    e.expect(e.cli("stop", "v")[0] == 0, "stop v")


CASES = {
    "console-replay-echo": dict(custom=replay_echo),
    "console-detach-tty": dict(custom=detach_tty),
    "console-busy": dict(custom=busy),
    "console-slow-reader": dict(custom=slow_reader),
    "console-bad-requests": dict(custom=bad_requests),
}
