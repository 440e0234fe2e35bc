"""Integration cases for Firecracker's way of starting a VM: `landlord run
--api-sock PATH` with no kernel waits for its configuration, which comes as
PUT requests (the getting-started sequence of Firecracker's documentation,
sent with curl exactly as the documentation sends it), or from a
`--config-file` in Firecracker's JSON format.  The guest is the test guest's
virtio-blk driver on the configured root drive; check() compares the disk
with what the guest must have written (cases_virtio.py's pattern)."""

import json
import os
import re
import socket
import subprocess
import time

import cases_virtio
from cases_api import Checker, call
from checks import ip, one_error_line

SOCK = "{tmp}/firecracker.socket"
BLK_ARGS = "console=ttyS0 reboot=k panic=1 test=virtio-blk transport=pci irq=msix"
BLK_OUT = [r"blk_capacity=8192\b", r"blk_id=rootfs\b", r"TEST PASS virtio-blk"]


def _during(fn):
    # An empty pattern: run as soon as landlord has started.
    return (r"", lambda name, ctx, proc, read_out: fn(ctx, proc, read_out))


def _wait_socket(path):
    """Until the VM accepts connections on its socket (the file appears at
    bind(), a moment before listen())."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return
        except OSError:
            time.sleep(0.02)
        finally:
            s.close()


def curl_put(sock, url, data):
    """One request as Firecracker's getting-started guide sends it:
    curl -X PUT --unix-socket SOCK --data JSON http://localhost/URL
    (so with curl's form Content-Type).  -> (status, body)."""
    r = subprocess.run(["curl", "-sS", "-X", "PUT", "--unix-socket", sock, "--data",
                        json.dumps(data), "-w", "\n%{http_code}", "http://localhost" + url],
                       capture_output=True, text=True, timeout=10)
    body, _, code = r.stdout.rpartition("\n")
    return int(code) if code.isdigit() else 0, body


def getting_started(ctx, proc, read_out):
    sock = SOCK.format(**ctx)
    log = os.path.join(ctx["tmp"], "firecracker.log")
    _wait_socket(sock)
    open(log, "w").close()                     # the guide: touch $LOGFILE
    steps = [
        ("/logger", {"log_path": log, "level": "Debug", "show_level": True,
                     "show_log_origin": True}),
        ("/boot-source", {"kernel_image_path": ctx["elf"], "boot_args": BLK_ARGS}),
        ("/drives/rootfs", {"drive_id": "rootfs",
                            "path_on_host": os.path.join(ctx["tmp"], "rootfs.img"),
                            "is_root_device": True, "is_read_only": False}),
        ("/network-interfaces/net1", {"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02",
                                      "host_dev_name": ctx["tap"]}),
    ]
    problems = []
    for url, data in steps:
        status, body = curl_put(sock, url, data)
        if status != 204:
            problems.append(f"PUT {url}: {status} {body}")
    time.sleep(0.015)                          # the guide: sleep 0.015s
    status, body = curl_put(sock, "/actions", {"action_type": "InstanceStart"})
    if status != 204:
        problems.append(f"PUT /actions InstanceStart: {status} {body}")
    return problems


def preboot_states(ctx, proc, read_out):
    sock = SOCK.format(**ctx)
    _wait_socket(sock)
    c = Checker(sock)
    st, _, b = call(sock, "GET", "/")
    if st != 200 or b.get("state") != "Not started":
        c.fail(f"GET / before start: {st} {b}")
    # Wrong state: nothing runs yet.
    c.expect("PATCH", "/vm", 400, {"state": "Paused"}, fault="not started")
    c.expect("PUT", "/landlord/stop", 400, {"mode": "graceful"}, fault="not started")
    c.expect("PUT", "/actions", 400, {"action_type": "SendCtrlAltDel"})
    c.expect("PUT", "/actions", 400, {"action_type": "InstanceStart"}, fault="no kernel")
    c.expect("PUT", "/boot-source", 400, {"kernel_image_path": "/nonexistent/vmlinux"},
             fault="/nonexistent/vmlinux")
    c.expect("PUT", "/machine-config", 400, {"vcpu_count": 2}, fault="mem_size_mib")
    # Then a good configuration, read back, and the start.
    c.expect("PUT", "/machine-config", 204, {"vcpu_count": 2, "mem_size_mib": 64})
    c.expect("PATCH", "/machine-config", 204, {"mem_size_mib": 80})
    c.expect("PUT", "/boot-source", 204, {"kernel_image_path": ctx["elf"],
                                          "boot_args": "test=echo"})
    c.expect("PUT", "/entropy", 204, {})
    c.expect("PUT", "/vsock", 400, {"guest_cid": 2, "uds_path": "/tmp/x.sock"}, fault="cid")
    c.expect("PUT", "/vsock", 204, {"guest_cid": 3,
                                    "uds_path": os.path.join(ctx["tmp"], "v.sock")})
    st, _, b = call(sock, "GET", "/vm/config")
    if st != 200 or b.get("machine-config", {}).get("mem_size_mib") != 80 \
            or b.get("boot-source", {}).get("boot_args") != "test=echo" \
            or b.get("entropy") != {} \
            or b.get("vsock", {}).get("guest_cid") != 3:
        c.fail(f"GET /vm/config before start: {st} {b}")
    c.expect("PUT", "/actions", 204, {"action_type": "InstanceStart"})
    st, _, b = call(sock, "GET", "/landlord/info")
    if st != 200 or b.get("state") not in ("running",) or b.get("vcpus") != 2 \
            or b.get("memory_mib") != 80 \
            or not {"virtio-rng", "virtio-vsock"} <= {d.get("kind") for d in b.get("devices", [])}:
        c.fail(f"landlord/info after start: {st} {b}")
    # Configuring after the start, or starting twice, is refused.
    c.expect("PUT", "/boot-source", 400, {"kernel_image_path": ctx["elf"]}, fault="InstanceStart")
    c.expect("PUT", "/machine-config", 400, {"vcpu_count": 1, "mem_size_mib": 64},
             fault="InstanceStart")
    c.expect("PUT", "/actions", 400, {"action_type": "InstanceStart"}, fault="already running")
    deadline = time.monotonic() + 30
    while "waiting for a line" not in read_out() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.stdin.write(b"fc-done\r\n")
    proc.stdin.flush()
    return c.problems


def stop_before_start(ctx, proc, read_out):
    sock = SOCK.format(**ctx)
    _wait_socket(sock)
    c = Checker(sock)
    c.expect("PUT", "/landlord/stop", 204, {"mode": "hard"})
    return c.problems


def _write_config(ctx, **override):
    cfg = {
        "boot-source": {"kernel_image_path": ctx["elf"], "boot_args": BLK_ARGS},
        "drives": [{"drive_id": "rootfs", "path_on_host": os.path.join(ctx["tmp"], "rootfs.img"),
                    "is_root_device": True, "is_read_only": False}],
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 128, "smt": False},
        "network-interfaces": [],
        "logger": None,
        "balloon": None,
    }
    cfg.update(override)
    with open(os.path.join(ctx["tmp"], "vm_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


CASES = {
    "fc-getting-started": dict(args=["--api-sock", SOCK], during=_during(getting_started),
                               out=BLK_OUT, err=[r"waiting for the VM's configuration"]),
    "fc-preboot-states": dict(args=["--api-sock", SOCK], stdin_open=True,
                              during=_during(preboot_states), timeout=60,
                              out=[r"echo=fc-done", r"TEST PASS echo"]),
    "fc-stop-before-start": dict(args=["--api-sock", SOCK], during=_during(stop_before_start),
                                 err=[r"stopped through the API"]),
    "fc-config-file": dict(args=["--api-sock", SOCK, "--config-file", "{tmp}/vm_config.json"],
                           out=BLK_OUT),
    "fc-config-file-bad": dict(args=["--api-sock", SOCK, "--config-file", "{tmp}/vm_config.json"],
                               status=1, err=[r"\"drives\"\[1\]: path_on_host /nonexistent\.img: "
                                              r"No such file"]),
}


def prepare(name, ctx):
    if name == "fc-getting-started":
        # The guide's network step needs a tap (it too creates one with ip).
        ctx["tap"] = f"llfc{os.getpid()}"
        ip("tuntap", "add", "dev", ctx["tap"], "mode", "tap")
        ip("link", "set", ctx["tap"], "up")
    cases_virtio.prepare(name, ctx)   # disk0.img etc.: zeroed disks of DISK_SIZE
    os.rename(os.path.join(ctx["tmp"], "disk0.img"), os.path.join(ctx["tmp"], "rootfs.img"))
    if name == "fc-config-file":
        _write_config(ctx, vsock={"guest_cid": 3, "uds_path": os.path.join(ctx["tmp"], "v.sock")},
                      entropy={})
    if name == "fc-config-file-bad":
        good = {"drive_id": "rootfs", "path_on_host": os.path.join(ctx["tmp"], "rootfs.img"),
                "is_root_device": True}
        _write_config(ctx, drives=[good, {"drive_id": "data", "path_on_host": "/nonexistent.img",
                                          "is_root_device": False}])
    return None


def check(name, ctx, out, err):
    problems = []
    if "tap" in ctx:
        ip("link", "del", ctx["tap"])
    if os.path.exists(SOCK.format(**ctx)):
        problems.append("the API socket is still there after the VM exited")
    if name in ("fc-getting-started", "fc-config-file") and "TEST PASS" in out:
        seeds = {m.group(2): int(m.group(1)) for m in re.finditer(r"blk(\d+)_id=(\S*)", out)}
        if "rootfs" not in seeds:
            problems.append("the guest never reported the rootfs drive")
        else:
            problems += cases_virtio._compare(
                os.path.join(ctx["tmp"], "rootfs.img"),
                cases_virtio.expected_disk(cases_virtio.DISK_SIZE, seeds["rootfs"]))
    if name == "fc-getting-started":
        log = open(os.path.join(ctx["tmp"], "firecracker.log"), errors="replace").read()
        if "started through the API" not in log:
            problems.append(f"the log file lacks the start message: {log[-300:]!r}")
    if os.path.exists(os.path.join(ctx["tmp"], "v.sock")):
        problems.append("the vsock socket is still there after the VM exited")
    if name == "fc-config-file-bad":
        problems += one_error_line(err)
    return problems
