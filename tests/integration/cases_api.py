"""Integration cases for the VM's HTTP API (docs/API.md), through the real
Unix socket while the guest runs.  The guest is `test=echo`: it waits for a
line on the serial input, so the VM runs for as long as a case talks to it;
each case ends by sending that line (the guest echoes it and powers off:
exit 0, so the VM kept running through the case) or by a hard stop over the
API.  The talking is done by during(), which run_case.py calls once the
guest has printed DURING_AFTER.  api-graceful-stop runs `test=powerbutton`
instead: it presses the ACPI power button over the API, and the guest
powers off by itself; api-ctrl-alt-del likewise runs `test=ctrlaltdel` and
sends SendCtrlAltDel."""

import http.client
import json
import os
import socket
import stat
import subprocess
import threading
import time

SOCK = "{tmp}/api.sock"
DURING_AFTER = r"waiting for a line"


def _args(*extra):
    return ["--kernel", "{elf}", "--api-sock", SOCK, *extra, "--cmdline", "test=echo"]


def _case(**kw):
    base = dict(args=_args(), stdin_open=True, during=(DURING_AFTER, lambda *a: during(*a)), timeout=60,
                out=[r"echo=api-done", r"TEST PASS echo"])
    base.update(kw)
    return base


CASES = {
    "api-endpoints": _case(),
    "api-pause-resume": _case(),
    "api-errors": _case(),
    "api-slow-client": _case(),
    "api-concurrent": _case(),
    "api-socket": _case(),
    "api-stop": _case(out=[]),
    # Graceful stop: the ACPI power button; the guest (test=powerbutton)
    # handles the SCI, clears PWRBTN_STS and powers off by itself.
    "api-graceful-stop": _case(
        args=["--kernel", "{elf}", "--api-sock", SOCK, "--cmdline", "test=powerbutton"],
        stdin_open=False, during=(r"waiting for power button", lambda *a: during(*a)),
        out=[r"power button pressed", r"TEST PASS powerbutton"]),
    # Ctrl+Alt+Del on the i8042 keyboard: the guest (test=ctrlaltdel) takes
    # IRQ 1, checks the scancodes and powers off by itself.
    "api-ctrl-alt-del": _case(
        args=["--kernel", "{elf}", "--api-sock", SOCK, "--cmdline", "test=ctrlaltdel"],
        stdin_open=False, during=(r"waiting for ctrl-alt-del", lambda *a: during(*a)),
        out=[r"scancodes=1d 38 e0 53 e0 d3 b8 9d", r"ctrl-alt-del received",
             r"TEST PASS ctrlaltdel"]),
}


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def call(path, method, url, body=None, raw=None, conn=None):
    """-> (status, headers, parsed JSON body or None)."""
    c = conn or UnixHTTPConnection(path)
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    headers = {"Content-Type": "application/json"} if data is not None else {}
    c.request(method, url, body=data, headers=headers)
    r = c.getresponse()
    text = r.read()
    if conn is None:
        c.close()
    return r.status, dict(r.getheaders()), (json.loads(text) if text else None)


class Checker:
    def __init__(self, path):
        self.path = path
        self.problems = []

    def fail(self, msg):
        self.problems.append(msg)

    def expect(self, method, url, status, body=None, raw=None, fault=None, conn=None):
        try:
            st, hdr, js = call(self.path, method, url, body=body, raw=raw, conn=conn)
        except Exception as e:  # noqa: BLE001 - any failure is a finding
            self.fail(f"{method} {url}: {type(e).__name__}: {e}")
            return None
        what = f"{method} {url} {raw if raw is not None else body}"[:120]
        if st != status:
            self.fail(f"{what}: status {st}, want {status} ({js})")
        if js is not None and hdr.get("Content-Type") != "application/json":
            self.fail(f"{what}: Content-Type {hdr.get('Content-Type')}")
        if status >= 400:
            if not js or not isinstance(js.get("fault_message"), str):
                self.fail(f"{what}: no fault_message in {js}")
            elif fault and fault not in js["fault_message"]:
                self.fail(f"{what}: fault_message {js['fault_message']!r} lacks {fault!r}")
        elif status == 204 and js is not None:
            self.fail(f"{what}: 204 with a body")
        return js


def raw_exchange(path, data, timeout=10):
    """Send bytes (the peer may stop reading), return what comes back."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got:
                head, _, rest = got.partition(b"\r\n\r\n")
                m = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if m and len(rest) >= int(m[0].split(b":")[1]):
                    break
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return got


def status_of(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


# ------------------------------------------------------------------ checks

def check_endpoints(c, name=None):
    info = c.expect("GET", "/", 200)
    if info is not None:
        want = {"state": "Running", "vmm_version": "0.1.0", "app_name": "landlord"}
        for k, v in want.items():
            if info.get(k) != v:
                c.fail(f"GET /: {k}={info.get(k)!r}, want {v!r}")
        if name and info.get("id") != name:
            c.fail(f"GET /: id={info.get('id')!r}, want {name!r}")
    mc = c.expect("GET", "/machine-config", 200)
    if mc is not None and mc != {"vcpu_count": 2, "mem_size_mib": 64, "smt": False,
                                 "track_dirty_pages": False, "huge_pages": "None"}:
        c.fail(f"GET /machine-config: {mc}")
    cfg = c.expect("GET", "/vm/config", 200)
    if cfg is not None:
        if cfg.get("machine-config") != mc:
            c.fail(f"GET /vm/config: machine-config {cfg.get('machine-config')} != {mc}")
        bs = cfg.get("boot-source", {})
        if not str(bs.get("kernel_image_path", "")).endswith(".elf"):
            c.fail(f"GET /vm/config: boot-source {bs}")
        if bs.get("boot_args") != "test=echo":
            c.fail(f"GET /vm/config: boot_args {bs.get('boot_args')!r}")
        drives = cfg.get("drives")
        if not isinstance(drives, list) or len(drives) != 2:
            c.fail(f"GET /vm/config: drives {drives}")
        else:
            # Disks from the command line are not root devices (that is
            # PUT /drives' is_root_device, which adds root= to the cmdline).
            want = [("rootfs", False, False), ("data", False, True)]
            for d, (did, root, ro) in zip(drives, want):
                if (d.get("drive_id"), d.get("is_root_device"), d.get("is_read_only")) != \
                        (did, root, ro) or not d.get("path_on_host", "").endswith(".img"):
                    c.fail(f"GET /vm/config: drive {d}")
    li = c.expect("GET", "/landlord/info", 200)
    if li is not None:
        for k, v in {"state": "running", "vcpus": 2, "memory_mib": 64}.items():
            if li.get(k) != v:
                c.fail(f"GET /landlord/info: {k}={li.get(k)!r}, want {v!r}")
        if name and li.get("name") != name:
            c.fail(f"GET /landlord/info: name={li.get('name')!r}")
        if not isinstance(li.get("pid"), int) or not isinstance(li.get("uptime_s"), (int, float)):
            c.fail(f"GET /landlord/info: pid/uptime_s {li}")
        devs = li.get("devices") or []
        blk = [d for d in devs if d.get("kind") == "virtio-blk"]
        if [d.get("id") for d in blk] != ["rootfs", "data"] or \
                [d.get("read_only") for d in blk] != [False, True]:
            c.fail(f"GET /landlord/info: devices {devs}")
        for d in devs:
            if set(d) != {"kind", "id", "transport", "path", "read_only"}:
                c.fail(f"GET /landlord/info: device fields {sorted(d)}")
    c.expect("PUT", "/actions", 400, {"action_type": "InstanceStart"}, fault="already running")
    c.expect("PUT", "/actions", 204, {"action_type": "SendCtrlAltDel"})
    c.expect("PUT", "/actions", 400, {"action_type": "Frobnicate"}, fault="Frobnicate")
    # Keep-alive: several requests on one connection.
    conn = UnixHTTPConnection(c.path)
    for _ in range(3):
        c.expect("GET", "/", 200, conn=conn)
    conn.close()


def check_pause_resume(c, proc, read_out):
    c.expect("PATCH", "/vm", 204, {"state": "Paused"})
    js = c.expect("GET", "/", 200)
    if js and js.get("state") != "Paused":
        c.fail(f"GET / after pause: state {js.get('state')!r}")
    js = c.expect("GET", "/landlord/info", 200)
    if js and js.get("state") != "paused":
        c.fail(f"GET /landlord/info after pause: state {js.get('state')!r}")
    c.expect("PATCH", "/vm", 400, {"state": "Paused"})          # pause twice
    if proc is not None:
        # Paused: the guest must not see (echo) its line until resumed.
        proc.stdin.write(b"api-done\r\n")
        proc.stdin.flush()
        time.sleep(1.5)
        if "echo=api-done" in read_out():
            c.fail("the guest echoed while paused")
    c.expect("PATCH", "/vm", 204, {"state": "Resumed"})
    c.expect("PATCH", "/vm", 400, {"state": "Resumed"})         # resume twice
    js = c.expect("GET", "/", 200)
    if js and js.get("state") != "Running":
        c.fail(f"GET / after resume: state {js.get('state')!r}")
    if proc is not None:
        deadline = time.monotonic() + 10
        while "echo=api-done" not in read_out() and time.monotonic() < deadline:
            time.sleep(0.1)
        if "echo=api-done" not in read_out():
            c.fail("the guest did not echo after resume")


def check_errors(c):
    p = c.path
    c.expect("PATCH", "/vm", 400, raw='{"state": ', fault="invalid JSON")
    c.expect("PATCH", "/vm", 400, raw="not json at all", fault="invalid JSON")
    c.expect("PATCH", "/vm", 400, raw="", fault="needs a JSON body")
    c.expect("PATCH", "/vm", 400, raw='["Paused"]', fault="object")
    c.expect("PATCH", "/vm", 400, {"state": 1}, fault='"state" must be a string')
    c.expect("PATCH", "/vm", 400, {"state": None}, fault='"state"')
    c.expect("PATCH", "/vm", 400, {"state": "Paused", "extra": 1}, fault='unknown field "extra"')
    c.expect("PATCH", "/vm", 400, {}, fault='missing field "state"')
    c.expect("PATCH", "/vm", 400, {"state": "Sleeping"}, fault="Sleeping")
    c.expect("PATCH", "/vm", 400, raw='{"state": "Paused", "state": "Resumed"}', fault="duplicate")
    c.expect("PUT", "/actions", 400, {"action_type": True}, fault='"action_type"')
    c.expect("PUT", "/landlord/stop", 400, {"mode": 3}, fault='"mode"')
    c.expect("PUT", "/landlord/stop", 400, {"mode": "hard", "now": True}, fault='"now"')
    c.expect("GET", "/nope", 404, fault="/nope")
    c.expect("GET", "/landlord", 404)
    c.expect("PUT", "/", 405)
    c.expect("GET", "/vm", 405)
    c.expect("DELETE", "/landlord/info", 405)
    try:
        st, hdr, _ = call(p, "POST", "/actions", raw="{}")
        if st != 405 or hdr.get("Allow") != "PUT":
            c.fail(f"POST /actions: {st}, Allow {hdr.get('Allow')!r}, want 405 and PUT")
    except Exception as e:  # noqa: BLE001
        c.fail(f"POST /actions: {e}")
    # 1 MiB bodies, announced (Content-Length) and chunked: 413, no crash.
    big = b'{"state": "' + b"a" * (1 << 20) + b'"}'
    r = raw_exchange(p, b"PATCH /vm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(big) + big)
    if status_of(r) != 413 or b"fault_message" not in r:
        c.fail(f"1 MiB body: {r[:200]!r}")
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 8192]), big[i:i + 8192])
                       for i in range(0, len(big), 8192)) + b"0\r\n\r\n"
    r = raw_exchange(p, b"PATCH /vm HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + chunked)
    if status_of(r) != 413 or b"fault_message" not in r:
        c.fail(f"1 MiB chunked body: {r[:200]!r}")
    # Garbage instead of HTTP, and huge headers: an error status or a
    # closed connection, and the server still answers afterwards.
    # (MHD closes at once on a bad request line; one with NUL bytes it
    # holds until the connection times out, like a slow client.)
    raw_exchange(p, b"HELLO\r\n\r\n", timeout=5)
    raw_exchange(p, b"\x00\x01\x02 garbage HTTP/1.1\r\n\r\n", timeout=1)
    raw_exchange(p, b"GET / HTTP/1.1\r\nX-Big: " + b"h" * 100000 + b"\r\n\r\n", timeout=5)
    c.expect("GET", "/", 200)


def check_slow_client(c):
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(c.path)
    slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")      # and no more
    t0 = time.monotonic()
    for _ in range(3):
        c.expect("GET", "/landlord/info", 200)
    if time.monotonic() - t0 > 2:
        c.fail("requests beside a slow client took more than 2 s")
    slow.settimeout(20)
    try:
        got = slow.recv(4096)
        # Dropped (perhaps with a 408 first), not answered 200.
        if got and status_of(got) == 200:
            c.fail(f"slow client answered: {got[:80]!r}")
    except socket.timeout:
        c.fail("slow client not dropped within 20 s")
    except ConnectionResetError:
        pass
    waited = time.monotonic() - t0
    if waited < 5:
        c.fail(f"slow client dropped after {waited:.1f} s, before the timeout")
    slow.close()
    c.expect("GET", "/", 200)


def check_concurrent(c, n=20):
    barrier = threading.Barrier(n)
    results = []
    lock = threading.Lock()

    def client(i):
        got = []
        try:
            conn = UnixHTTPConnection(c.path)
            conn.connect()
            barrier.wait(timeout=10)
            for url in ("/", "/landlord/info", "/machine-config", "/vm/config"):
                st, _, js = call(c.path, "GET", url, conn=conn)
                got.append((url, st, js is not None))
            conn.close()
        except Exception as e:  # noqa: BLE001
            got.append(("error", repr(e), False))
        with lock:
            results.extend(got)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    bad = [r for r in results if r[1] != 200 or not r[2]]
    if len(results) != 4 * n or bad:
        c.fail(f"{n} concurrent clients: {len(results)} answers, bad: {bad[:3]}")


def mapped_http_library(pid):
    """Whether libmicrohttpd is mapped into process pid."""
    with open(f"/proc/{pid}/maps") as f:
        return "libmicrohttpd" in f.read()


def check_socket(c, ctx, proc):
    # The HTTP library is loaded on the first client (include/api/mhd_lib.h):
    # not before, and the first request is answered all the same.
    if proc is not None and mapped_http_library(proc.pid):
        c.fail("libmicrohttpd is loaded before any client connected")
    c.expect("GET", "/", 200)
    if proc is not None and not mapped_http_library(proc.pid):
        c.fail("libmicrohttpd is not loaded after a request was answered")
    st = os.stat(c.path)
    if not stat.S_ISSOCK(st.st_mode) or stat.S_IMODE(st.st_mode) != 0o600:
        c.fail(f"socket mode {oct(st.st_mode)}, want a socket with 0600")
    # A second VM on the same socket: refused, one clear line, status 1;
    # the first one keeps its socket.
    if ctx.get("landlord"):
        cmd = [ctx["landlord"], "run"] + [a.format(**ctx) for a in _args()]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        err = p.stderr.decode(errors="replace")
        if p.returncode != 1 or "already running" not in err:
            c.fail(f"second VM on the same socket: status {p.returncode}, stderr {err!r}")
    c.expect("GET", "/", 200)


def check_stop(c, proc):
    c.expect("PUT", "/landlord/stop", 400, {"mode": "soft"}, fault="soft")
    c.expect("PUT", "/landlord/stop", 204, {"mode": "hard"})
    if proc is not None:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            c.fail("landlord still running 10 s after a hard stop")
            proc.kill()


def check_graceful_stop(c, proc, read_out):
    c.expect("PUT", "/landlord/stop", 204, {"mode": "graceful"})
    if proc is None:
        return
    # 204 at once; the VM exits only when the guest powers off.
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        c.fail("landlord still running 30 s after a graceful stop "
               f"(guest said: {read_out()[-300:]!r})")
        proc.kill()


def check_ctrl_alt_del(c, proc, read_out):
    # Not while paused: the keys would wait unseen.
    c.expect("PATCH", "/vm", 204, {"state": "Paused"})
    c.expect("PUT", "/actions", 400, {"action_type": "SendCtrlAltDel"}, fault="paused")
    c.expect("PATCH", "/vm", 204, {"state": "Resumed"})
    c.expect("PUT", "/actions", 204, {"action_type": "SendCtrlAltDel"})
    if proc is None:
        return
    # 204 at once; the VM exits when the guest has checked the keys.
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        c.fail("landlord still running 30 s after SendCtrlAltDel "
               f"(guest said: {read_out()[-300:]!r})")
        proc.kill()


# ---------------------------------------------------------------- harness

def during(name, ctx, proc, read_out):
    path = SOCK.format(**ctx)
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    c = Checker(path)
    run_checks(name, c, ctx, proc, read_out)
    if proc is not None and name not in ("api-stop", "api-graceful-stop", "api-pause-resume",
                                         "api-ctrl-alt-del") \
            and proc.poll() is None:
        proc.stdin.write(b"api-done\r\n")
        proc.stdin.flush()
    return c.problems


def run_checks(name, c, ctx, proc=None, read_out=None):
    if name == "api-endpoints":
        check_endpoints(c, ctx.get("vm_name"))
    elif name == "api-pause-resume":
        check_pause_resume(c, proc, read_out)
    elif name == "api-errors":
        check_errors(c)
    elif name == "api-slow-client":
        check_slow_client(c)
    elif name == "api-concurrent":
        check_concurrent(c)
    elif name == "api-socket":
        check_socket(c, ctx, proc)
    elif name == "api-stop":
        check_stop(c, proc)
    elif name == "api-graceful-stop":
        check_graceful_stop(c, proc, read_out)
    elif name == "api-ctrl-alt-del":
        check_ctrl_alt_del(c, proc, read_out)


def prepare(name, ctx):
    tmp = ctx["tmp"]
    if name == "api-endpoints":
        for f in ("root.img", "data.img"):
            with open(os.path.join(tmp, f), "wb") as fh:
                fh.truncate(1 << 20)
        CASES[name]["args"] = _args("--cpus", "2", "--memory", "64M",
                                    "--disk", "path={tmp}/root.img,id=rootfs",
                                    "--disk", "path={tmp}/data.img,id=data,ro")
    if name == "api-socket":
        # A stale socket (its VM died without removing it) is replaced.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(SOCK.format(**ctx))
        s.close()
    return None


def check(name, ctx, out, err):
    problems = []
    if os.path.exists(SOCK.format(**ctx)):
        problems.append("the API socket is still there after the VM exited")
    return problems
