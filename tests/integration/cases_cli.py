"""Integration cases for the CLI that manages running VMs through their API
sockets: ls, info, pause, resume, stop, kill, stale sockets, bad names.
Each case starts its own VMs (the test guest's echo test, which waits for a
line on the serial input) with LANDLORD_RUNTIME_DIR set to a fresh folder."""

import json
import os
import re
import signal
import stat
import subprocess
import time


class Env:
    """VMs started by a case, and a log of the CLI commands it ran."""

    def __init__(self, ctx, landlord):
        self.landlord = landlord
        self.tmp = ctx["tmp"]
        self.elf = ctx["elf"]
        self.rt = os.path.join(self.tmp, "rt")
        self.env = dict(os.environ, LANDLORD_RUNTIME_DIR=self.rt)
        self.vms = {}
        self.log = []
        self.problems = []

    def start(self, name, *extra, test="echo"):
        out = open(os.path.join(self.tmp, f"{name}.out"), "wb")
        err = open(os.path.join(self.tmp, f"{name}.err"), "wb")
        p = subprocess.Popen([self.landlord, "run", "--name", name, "--kernel", self.elf, *extra,
                              "--cmdline", f"test={test}"], stdin=subprocess.PIPE, stdout=out,
                             stderr=err, env=self.env)
        self.vms[name] = p
        return p

    def output(self, name):
        with open(os.path.join(self.tmp, f"{name}.out"), errors="replace") as f:
            return f.read()

    def cli(self, *args, timeout=30):
        p = subprocess.run([self.landlord, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.env, timeout=timeout)
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        self.log.append(f"$ landlord {' '.join(args)}  -> {p.returncode}\n{out}{err}")
        return p.returncode, out, err

    def sock(self, name):
        return os.path.join(self.rt, f"{name}.sock")

    def wait_ready(self, name, timeout=20):
        """Until the VM answers `info` and its guest waits for input."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.vms[name].poll() is not None:
                self.problems.append(f"VM {name} exited early with {self.vms[name].returncode}")
                return False
            if (os.path.exists(self.sock(name)) and "echo: waiting" in self.output(name)
                    and self.cli("info", name)[0] == 0):
                return True
            time.sleep(0.05)
        self.problems.append(f"VM {name} not ready within {timeout}s")
        return False

    def expect(self, cond, what):
        if not cond:
            self.problems.append(what)
        return cond

    def ls_table(self):
        """ls parsed: {name: (state, vcpus, memory, uptime, pid)}."""
        rc, out, err = self.cli("ls")
        self.expect(rc == 0 and not err, f"ls: exit {rc}, stderr {err!r}")
        lines = out.splitlines()
        if not self.expect(lines and lines[0].split() == ["NAME", "STATE", "VCPUS", "MEMORY",
                                                          "UPTIME", "PID"], "ls: no header"):
            return {}
        return {l.split()[0]: tuple(l.split()[1:]) for l in lines[1:] if l.strip()}

    def finish(self):
        for name, p in self.vms.items():
            if p.poll() is None:
                p.kill()
            p.wait()
        text = "\n".join(self.log)
        errs = ""
        for name in self.vms:
            with open(os.path.join(self.tmp, f"{name}.err"), errors="replace") as f:
                errs += f"[{name}] " + f.read()
        return self.problems, text, errs


def vm_case(fn):
    """fn(e) checks with e.expect; any exception is a problem too."""
    def run(name, ctx, landlord):
        e = Env(ctx, landlord)
        try:
            fn(e)
        except Exception as ex:  # noqa: BLE001 - report, then clean up
            e.problems.append(f"{type(ex).__name__}: {ex}")
        return e.finish()
    return run


def wait_exit(p, timeout=15):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


@vm_case
def two_vms(e):
    e.start("a", "--cpus", "2", "--memory", "96M")
    b = e.start("b")
    if not (e.wait_ready("a") and e.wait_ready("b")):
        return
    t = e.ls_table()
    e.expect(set(t) == {"a", "b"}, f"ls lists {sorted(t)}, want a and b")
    e.expect(all(v[0] == "running" for v in t.values()), f"ls states {t}")
    if "a" in t:
        e.expect(t["a"][1:3] == ("2", "96M") and t["a"][4] == str(e.vms["a"].pid),
                 f"ls row of a: {t['a']}")
        e.expect(re.fullmatch(r"\d+s|\d+m\d\ds", t["a"][3]), f"ls uptime {t['a'][3]}")
    rc, out, _ = e.cli("ls", "--json")
    try:
        arr = json.loads(out)
        e.expect(sorted(v["name"] for v in arr) == ["a", "b"], f"ls --json: {arr}")
        e.expect(all(v["state"] == "running" for v in arr), "ls --json states")
    except (ValueError, KeyError, TypeError) as ex:
        e.expect(False, f"ls --json does not parse: {ex}")
    rc, out, _ = e.cli("info", "a")
    e.expect(rc == 0 and re.search(r"(?m)^vcpus:\s+2$", out)
             and re.search(r"(?m)^memory:\s+96M$", out)
             and re.search(r"(?m)^state:\s+running$", out)
             and re.search(rf"(?m)^pid:\s+{e.vms['a'].pid}$", out), "info a")
    rc, out, _ = e.cli("info", "a", "--json")
    try:
        o = json.loads(out)
        e.expect(o["vcpus"] == 2 and o["memory_mib"] == 96 and o["name"] == "a",
                 f"info a --json: {o}")
    except (ValueError, KeyError, TypeError) as ex:
        e.expect(False, f"info --json does not parse: {ex}")
    rc, out, err = e.cli("pause", "a")
    e.expect(rc == 0 and not out and not err, "pause a")
    e.expect(e.ls_table().get("a", ("?",))[0] == "paused", "ls after pause: a not paused")
    e.expect(e.ls_table().get("b", ("?",))[0] == "running", "ls after pause: b not running")
    rc, out, err = e.cli("resume", "a")
    e.expect(rc == 0 and not out and not err, "resume a")
    e.expect(e.ls_table().get("a", ("?",))[0] == "running", "ls after resume: a not running")
    rc, out, err = e.cli("stop", "b")
    e.expect(rc == 0 and not err, "stop b")
    e.expect(wait_exit(b) == 0, f"b exited with {b.poll()}, want 0")
    e.expect(not os.path.exists(e.sock("b")), "b's socket left behind")
    e.expect(list(e.ls_table()) == ["a"], "ls after stop b")
    rc, out, err = e.cli("kill", "a")
    e.expect(rc == 0 and not err, "kill a")
    st = wait_exit(e.vms["a"])
    e.expect(st == -signal.SIGKILL, f"a exited with {st}, want SIGKILL")
    e.expect(not os.path.exists(e.sock("a")), "a's socket left behind")
    e.expect(e.ls_table() == {}, "ls after kill a not empty")
    rc, out, err = e.cli("info", "a")
    e.expect(rc == 1 and err == "landlord: no VM named a\n", "info a after kill")


@vm_case
def stale(e):
    p = e.start("dead")
    e.start("alive")
    if not (e.wait_ready("dead") and e.wait_ready("alive")):
        return
    p.kill()
    wait_exit(p)
    e.expect(stat.S_ISSOCK(os.lstat(e.sock("dead")).st_mode), "no stale socket to clean")
    # Not a socket: never removed, never listed.
    open(os.path.join(e.rt, "junk.sock"), "w").close()
    e.expect(list(e.ls_table()) == ["alive"], "ls lists the dead VM")
    e.expect(not os.path.exists(e.sock("dead")), "ls left the stale socket")
    e.expect(os.path.exists(os.path.join(e.rt, "junk.sock")), "ls removed a regular file")
    p = e.start("dead2")
    if e.wait_ready("dead2"):
        p.kill()
        wait_exit(p)
        rc, out, err = e.cli("info", "dead2")
        e.expect(rc == 1 and err == "landlord: no VM named dead2\n", "info on a stale socket")
        e.expect(not os.path.exists(e.sock("dead2")), "info left the stale socket")


@vm_case
def pause_progress(e):
    """A paused guest makes no progress: a line typed while it is paused is
    echoed only after resume."""
    p = e.start("c")
    if not e.wait_ready("c"):
        return
    e.expect(e.cli("pause", "c")[0] == 0, "pause c")
    p.stdin.write(b"ping-77\r\n")
    p.stdin.flush()
    time.sleep(1.0)
    e.expect("echo=ping-77" not in e.output("c"), "the paused guest echoed its input")
    e.expect(e.cli("resume", "c")[0] == 0, "resume c")
    e.expect(wait_exit(p) == 0, f"c exited with {p.poll()} after resume, want 0")
    e.expect("TEST PASS echo" in e.output("c") and "echo=ping-77" in e.output("c"),
             "no echo after resume")


@vm_case
def empty_and_bad(e):
    rc, out, err = e.cli("ls")  # the folder does not exist yet
    e.expect(rc == 0 and out.split() == ["NAME", "STATE", "VCPUS", "MEMORY", "UPTIME", "PID"]
             and not err, "ls without a runtime folder")
    os.mkdir(e.rt)
    rc, out, err = e.cli("ls", "--json")
    e.expect(rc == 0 and json.loads(out or "null") == [] and not err, "ls --json, empty")
    rc, out, err = e.cli("info", "nosuch")
    e.expect(rc == 1 and err == "landlord: no VM named nosuch\n" and not out, "info nosuch")
    for args in (["info", "../x"], ["pause", "../x"], ["resume", "a/b"], ["stop", ".x"],
                 ["kill", "-x"], ["info"], ["info", "a", "b"], ["ls", "--frob"],
                 ["info", "x" * 65], ["stop", ""]):
        rc, out, err = e.cli(*args)
        lines = [l for l in err.splitlines() if l.strip()]
        e.expect(rc == 1 and len(lines) == 1 and err.startswith("landlord: ") and not out,
                 f"{' '.join(args)}: exit {rc}, stderr {err!r}")
    for cmd in ("pause", "resume", "stop", "kill"):
        rc, out, err = e.cli(cmd, "nosuch")
        e.expect(rc == 1 and err == "landlord: no VM named nosuch\n", f"{cmd} nosuch")


@vm_case
def detach(e):
    """run --detach returns once the VM serves its API; the VM runs on."""
    log = os.path.join(e.tmp, "d.log")
    base = ["run", "--detach", "--kernel", e.elf, "--cmdline", "test=echo"]
    t = time.monotonic()
    rc, out, err = e.cli(*base, "--name", "d", "--console", f"file:{log}", timeout=20)
    e.expect(rc == 0 and out == "d\n" and not err, f"run --detach: exit {rc}, {out!r} {err!r}")
    e.expect(time.monotonic() - t < 10, "run --detach took too long")
    table = e.ls_table()
    e.expect(table.get("d", ("",))[0] == "running", f"ls after detach: {table}")
    rc, out, err = e.cli(*base, "--name", "d", "--console", "none")
    e.expect(rc == 1 and "already running" in err, f"second d: exit {rc}, {err!r}")
    rc, out, err = e.cli(*base, "--name", "e")
    e.expect(rc == 1 and "--console" in err, f"detach with stdio console: exit {rc}")
    junk = os.path.join(e.tmp, "junk.bin")
    with open(junk, "wb") as f:
        f.write(b"not a kernel at all\n" * 8)
    rc, out, err = e.cli("run", "--detach", "--name", "f", "--console", "none",
                         "--kernel", junk)
    e.expect(rc == 1 and "not a kernel" in err and "exited while starting" in err,
             f"detach, bad kernel: exit {rc}, {err!r}")
    rc, out, err = e.cli("stop", "d")
    e.expect(rc == 0, f"stop d: exit {rc}, {err!r}")
    e.expect(not os.path.exists(e.sock("d")), "d's socket left behind")
    with open(log, errors="replace") as f:
        e.expect("echo: waiting" in f.read(), "the detached VM's console file lacks its output")


CASES = {
    "cli-detach": dict(custom=detach),
    "cli-two-vms": dict(custom=two_vms),
    "cli-stale-socket": dict(custom=stale),
    "cli-pause-progress": dict(custom=pause_progress),
    "cli-empty-and-bad": dict(custom=empty_and_bad),
}
