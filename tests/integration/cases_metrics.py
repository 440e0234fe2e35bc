"""Integration cases for the metrics (docs/API.md, "Metrics"): PUT /metrics,
the FlushMetrics action and GET /landlord/metrics, through the real socket
while a `test=echo` guest runs (it printed and did port I/O, so the uart and
vcpu counters are above 0); the case ends by sending the guest its line.
The metrics file lives in the case's tmp dir."""

import json
import os
import time

from cases_api import Checker, UnixHTTPConnection, call  # noqa: F401

SOCK = "{tmp}/api.sock"
DURING_AFTER = r"waiting for a line"
GROUPS = ["utc_timestamp_ms", "api_server", "block", "get_api_requests", "logger",
          "patch_api_requests", "put_api_requests", "uart", "vcpu", "entropy", "interrupts"]


def _case(**kw):
    base = dict(args=["--kernel", "{elf}", "--api-sock", SOCK, "--disk", "path={tmp}/d.img,id=rootfs",
                      "--cmdline", "test=echo"],
                stdin_open=True, during=(DURING_AFTER, lambda *a: during(*a)), timeout=60,
                out=[r"echo=metrics-done", r"TEST PASS echo"])
    base.update(kw)
    return base


CASES = {
    "metrics-flush": _case(),
    "metrics-errors": _case(),
    "metrics-fifo": _case(),
}


def lines_of(path):
    with open(path) as f:
        return [json.loads(l) for l in f.read().splitlines() if l]


def get(c, group, name):
    js = c.expect("GET", "/landlord/metrics", 200) or {}
    return js.get(group, {}).get(name)


def check_line(c, line, what):
    for g in GROUPS:
        if g not in line:
            c.fail(f"{what}: no {g!r} in {sorted(line)}")
    if "block_rootfs" not in line:
        c.fail(f"{what}: no block_rootfs")


def check_flush(c, ctx):
    path = os.path.join(ctx["tmp"], "metrics.json")
    c.expect("PUT", "/metrics", 204, {"metrics_path": path, "emit_id": True,
                                      "properties": {"team": "landlord"}})
    cfg = c.expect("GET", "/vm/config", 200) or {}
    if cfg.get("metrics") != {"metrics_path": path}:
        c.fail(f"GET /vm/config: metrics {cfg.get('metrics')}")
    c.expect("PUT", "/actions", 204, {"action_type": "FlushMetrics"})
    lines = lines_of(path)
    if len(lines) != 1:
        c.fail(f"{len(lines)} lines after one FlushMetrics")
        return
    line = lines[0]
    check_line(c, line, "line 1")
    if abs(line.get("utc_timestamp_ms", 0) / 1000 - time.time()) > 60:
        c.fail(f"utc_timestamp_ms {line.get('utc_timestamp_ms')}")
    if line.get("properties") != {"team": "landlord"} or not line.get("id"):
        c.fail(f"id / properties: {line.get('id')!r} {line.get('properties')!r}")
    if not line.get("uart", {}).get("write_count", 0) > 0:
        c.fail(f"uart.write_count not > 0: {line.get('uart')}")
    if not line.get("vcpu", {}).get("exit_io_out", 0) > 0:
        c.fail(f"vcpu.exit_io_out not > 0: {line.get('vcpu')}")
    if line.get("put_api_requests", {}).get("metrics_count") != 1:
        c.fail(f"put_api_requests.metrics_count: {line.get('put_api_requests')} "
               "(does api_route call api_metrics_count?)")
    # The second line holds what changed since the first (Firecracker's
    # deltas): the guest is idle, so no new uart bytes; one more action.
    c.expect("PUT", "/actions", 204, {"action_type": "FlushMetrics"})
    lines = lines_of(path)
    if len(lines) != 2:
        c.fail(f"{len(lines)} lines after two FlushMetrics")
    else:
        if lines[1].get("uart", {}).get("write_count") != 0:
            c.fail(f"line 2: uart.write_count {lines[1].get('uart')} (not a delta)")
        if lines[1].get("put_api_requests", {}).get("actions_count") != 1:
            c.fail(f"line 2: put_api_requests {lines[1].get('put_api_requests')}")
    # Configured once: a second PUT is refused, the file stays.
    c.expect("PUT", "/metrics", 400, {"metrics_path": path}, fault="Reinitialization")
    # GET /landlord/metrics: cumulative, and growing.
    a = get(c, "api_server", "request_count") or 0
    b = get(c, "api_server", "request_count") or 0
    if not b > a:
        c.fail(f"GET /landlord/metrics: api_server.request_count {a} then {b}")
    out = get(c, "vcpu", "exit_io_out") or 0
    if out < line["vcpu"]["exit_io_out"]:
        c.fail(f"GET /landlord/metrics: vcpu.exit_io_out {out} below the first line's")


def check_errors(c, ctx):
    # Nothing configured: FlushMetrics writes nothing and succeeds, as in
    # Firecracker (its METRICS.write() returns Ok(false)).
    c.expect("PUT", "/actions", 204, {"action_type": "FlushMetrics"})
    good = os.path.join(ctx["tmp"], "m.json")
    bad = [
        ({"metrics_path": good, "extra": 1}, 'unknown field "extra"'),
        ({}, 'missing field "metrics_path"'),
        ({"metrics_path": 42}, "must be a string"),
        ({"metrics_path": good, "emit_id": "yes"}, "must be a boolean"),
        ({"metrics_path": good, "properties": {"a": 1}}, "must be a string"),
        ({"metrics_path": good, "properties": ["a"]}, "must be an object"),
        ({"metrics_path": ""}, "empty"),
        ({"metrics_path": os.path.join(ctx["tmp"], "no", "such")}, "No such file"),
        ({"metrics_path": ctx["tmp"]}, "Is a directory"),
    ]
    for body, fault in bad:
        c.expect("PUT", "/metrics", 400, body, fault=fault)
    c.expect("PUT", "/metrics", 400, raw="{not json", fault="invalid JSON")
    c.expect("GET", "/metrics", 405)
    if os.path.exists(good):
        c.fail("a refused PUT /metrics created the file")
    if (get(c, "put_api_requests", "metrics_fails") or 0) < len(bad) + 1:
        c.fail("put_api_requests.metrics_fails does not count the refusals")
    # Refusals do not use up the one configuration.
    c.expect("PUT", "/metrics", 204, {"metrics_path": good})


def check_fifo(c, ctx):
    path = os.path.join(ctx["tmp"], "metrics.fifo")
    os.mkfifo(path)
    c.expect("PUT", "/metrics", 204, {"metrics_path": path})
    # Nobody reads: the pipe fills (64 KiB) and further lines are dropped,
    # each answer at once.
    refused = 0
    for _ in range(80):
        t = time.monotonic()
        st, _, js = call(c.path, "PUT", "/actions", {"action_type": "FlushMetrics"})
        if time.monotonic() - t > 2:
            c.fail("FlushMetrics took over 2 s on a full FIFO")
            return
        if st == 400 and "Failed to write metrics" in (js or {}).get("fault_message", ""):
            refused += 1
        elif st != 204:
            c.fail(f"FlushMetrics on a FIFO: {st} {js}")
    if not refused:
        c.fail("no FlushMetrics was refused although nobody reads the FIFO")
    missed = get(c, "logger", "missed_metrics_count") or 0
    if missed != refused:
        c.fail(f"logger.missed_metrics_count {missed}, want {refused}")
    c.expect("GET", "/", 200)   # the API still answers
    # A reader now gets whole lines, and the next flush goes through.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    c.expect("PUT", "/actions", 204, {"action_type": "FlushMetrics"})
    try:
        data += os.read(fd, 65536)
    except BlockingIOError:
        pass
    os.close(fd)
    lines = data.decode().split("\n")
    if lines[-1] != "":
        c.fail("the FIFO's data does not end in a newline")
    for l in lines[:-1]:
        check_line(c, json.loads(l), "FIFO line")
    last = json.loads(lines[-2])
    if last.get("logger", {}).get("missed_metrics_count") != refused:
        c.fail(f"the line after the drops: logger {last.get('logger')}, want {refused} missed")


def during(name, ctx, proc, read_out):
    path = SOCK.format(**ctx)
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    c = Checker(path)
    {"metrics-flush": check_flush, "metrics-errors": check_errors,
     "metrics-fifo": check_fifo}[name](c, ctx)
    if proc.poll() is None:
        proc.stdin.write(b"metrics-done\r\n")
        proc.stdin.flush()
    return c.problems


def prepare(name, ctx):
    with open(os.path.join(ctx["tmp"], "d.img"), "wb") as f:
        f.truncate(1 << 20)
    return None


def check(name, ctx, out, err):
    """After the VM ended: it wrote a last line with what the previous
    lines had not reported (the guest read its input line since)."""
    if name != "metrics-flush":
        return []
    lines = lines_of(os.path.join(ctx["tmp"], "metrics.json"))
    if len(lines) < 3:
        return [f"{len(lines)} lines in the metrics file after exit, want a last line "
                "(does vm.c call vm_metrics_close?)"]
    last = lines[-1]
    if not last.get("uart", {}).get("read_count", 0) > 0:
        return [f"last line: uart.read_count not > 0: {last.get('uart')}"]
    return []
