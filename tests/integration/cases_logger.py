"""Integration cases for PUT /logger (docs/API.md): the VM waits on its API
socket, the logger is pointed at a file with a level and Firecracker's
show_level/show_log_origin, and the test guest's hostile virtio driver then
breaks a virtio-blk ring twelve times, so the VM logs warnings (NEEDS_RESET),
an info line (the start) and debug lines (each API request).  At Debug the
file must hold all three, each tagged [LEVEL:FILE:LINE]; at Error none of
them."""

import os
import re

from cases_api import Checker
from cases_firecracker import SOCK, _during, _wait_socket
from cases_virtio import DISK_SIZE, _zero_file

LOG = "landlord.log"
HOSTILE_OUT = [r"hostile_breakages=12", r"TEST PASS virtio-hostile"]
# landlord: [LEVEL:src/dir/file.c:LINE] message
TAGGED = re.compile(r"landlord: \[(ERROR|WARN|INFO|DEBUG|TRACE):(src/[\w/]+\.c):(\d+)\] (.*)")


def _configure(level):
    def run(ctx, proc, read_out):
        sock = SOCK.format(**ctx)
        tmp = ctx["tmp"]
        _wait_socket(sock)
        c = Checker(sock)
        c.expect("PUT", "/logger", 204, {"log_path": os.path.join(tmp, LOG), "level": level,
                                         "show_level": True, "show_log_origin": True})
        c.expect("PUT", "/boot-source", 204, {"kernel_image_path": ctx["elf"],
                                              "boot_args": "test=virtio-hostile"})
        c.expect("PUT", "/drives/d0", 204, {"drive_id": "d0",
                                            "path_on_host": os.path.join(tmp, "disk0.img"),
                                            "is_root_device": False})
        c.expect("PUT", "/actions", 204, {"action_type": "InstanceStart"})
        return c.problems
    return run


CASES = {
    "logger-debug-tagged": dict(args=["--api-sock", SOCK], during=_during(_configure("Debug")),
                                out=HOSTILE_OUT),
    "logger-error-only": dict(args=["--api-sock", SOCK], during=_during(_configure("Error")),
                              out=HOSTILE_OUT),
}


def prepare(name, ctx):
    _zero_file(os.path.join(ctx["tmp"], "disk0.img"), DISK_SIZE)


def _find(lines, level, origin, text):
    """The first line of this level whose origin starts with origin and
    whose message contains text, or None."""
    for m in lines:
        if m.group(1) == level and m.group(2).startswith(origin) and text in m.group(4):
            return m
    return None


def _check_debug(log):
    problems = []
    lines = log.splitlines()
    tagged = [TAGGED.fullmatch(l) for l in lines]
    untagged = [l for l, m in zip(lines, tagged) if not m]
    if untagged:
        problems.append(f"lines without [LEVEL:FILE:LINE]: {untagged[:3]!r}")
    tagged = [m for m in tagged if m]
    want = [("WARN", "src/virtio/", "needs reset"),
            ("INFO", "src/vmm/vm_control.c", "started through the API"),
            ("DEBUG", "src/api/api.c", "API PUT /logger: 204"),
            ("DEBUG", "src/api/api.c", "API PUT /actions: 204")]
    for level, origin, text in want:
        if not _find(tagged, level, origin, text):
            problems.append(f"no {level} line from {origin} with {text!r} in {log[-600:]!r}")
    return problems


def check(name, ctx, out, err):
    path = os.path.join(ctx["tmp"], LOG)
    if not os.path.exists(path):
        return ["the log file was not created"]
    log = open(path, errors="replace").read()
    if name == "logger-debug-tagged":
        return _check_debug(log)
    # At Error: the warnings, the start (info) and the requests (debug)
    # happened, but none of them is in the file.
    if "needs reset" in log or "started through" in log or "API " in log:
        return [f"level Error let lower levels through: {log[-600:]!r}"]
    return []
