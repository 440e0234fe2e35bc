#!/usr/bin/env python3
"""Integration tests: run the real landlord binary on the project's test
guests (and bad inputs) and check exit status, console output and stderr.

usage: run_case.py --landlord BIN --elf ELF --bzimage BZ CASE
Each CASE is one meson test.  Exit 0 = pass, 1 = fail, 77 = skipped."""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from checks import one_error_line

GUEST = "{elf}"

# name: dict(args, status, out (regexes on stdout), err (regexes on stderr),
#            stdin (bytes), timeout, kill_after (regex seen N times -> SIGTERM),
#            during (regex, fn): once the regex is on stdout, call
#            fn(name, ctx, proc, read_out) -> list of problems, while the VM
#            runs; read_out() returns stdout so far)
CASES = {
    "hello-elf": dict(args=["--kernel", "{elf}", "--cmdline", "test=hello"],
                      out=[r"hello from landlord test guest", r"TEST PASS hello"]),
    "hello-bzimage": dict(args=["--kernel", "{bzimage}", "--cmdline", "test=hello"],
                          out=[r"TEST PASS hello"]),
    "cmdline": dict(args=["--kernel", "{elf}", "--cmdline", "test=cmdline foo=bar  baz=\"q x\""],
                    out=[r"cmdline=test=cmdline foo=bar  baz=\"q x\"\r?\n", r"TEST PASS cmdline"]),
    "e820": dict(args=["--kernel", "{elf}", "--memory", "64M", "--cmdline", "test=e820"],
                 out=[r"e820: 0x100000 0x3f00000 1", r"ram_total=6\d+", r"TEST PASS e820"]),
    "e820-above-4g": dict(args=["--kernel", "{bzimage}", "--memory", "4G", "--cmdline", "test=e820"],
                          out=[r"e820: 0x100000 0xbff00000 1", r"e820: 0x100000000 0x40000000 1",
                               r"TEST PASS e820"]),
    "acpi": dict(args=["--kernel", "{elf}", "--cpus", "3", "--cmdline", "test=acpi"],
                 out=[r"madt_cpus=3", r"TEST PASS acpi"]),
    "mptable": dict(args=["--kernel", "{elf}", "--cpus", "3", "--cmdline", "test=mptable"],
                    out=[r"mp_cpus=3", r"TEST PASS mptable"]),
    "smp-2": dict(args=["--kernel", "{elf}", "--cpus", "2", "--cmdline", "test=smp cpus=2"],
                  out=[r"cpus_online=2", r"TEST PASS smp"]),
    "smp-4": dict(args=["--kernel", "{elf}", "--cpus", "4", "--cmdline", "test=smp cpus=4"],
                  out=[r"cpus_online=4", r"TEST PASS smp"]),
    "timer": dict(args=["--kernel", "{elf}", "--cmdline", "test=timer"],
                  out=[r"ticks=\d+", r"TEST PASS timer"]),
    "pit-irq": dict(args=["--kernel", "{elf}", "--cmdline", "test=pit-irq"],
                    out=[r"pit_periodic_irqs=\d+", r"pit_oneshot_irqs=1", r"TEST PASS pit-irq"]),
    "pci": dict(args=["--kernel", "{elf}", "--cmdline", "test=pci"],
                out=[r"pci: 00:00\.0 [0-9a-f]{{4}}:[0-9a-f]{{4}} class=0600", r"TEST PASS pci"]),
    "rtc": dict(args=["--kernel", "{elf}", "--cmdline", "test=rtc"],
                out=[r"rtc={year}-\d\d-\d\d \d\d:\d\d:\d\d", r"TEST PASS rtc"]),
    "echo": dict(args=["--kernel", "{elf}", "--cmdline", "test=echo"], stdin=b"ping-42\r\n",
                 out=[r"echo=ping-42", r"TEST PASS echo"]),
    "poweroff": dict(args=["--kernel", "{elf}", "--cmdline", "test=poweroff"],
                     out=[r"TEST PASS poweroff"]),
    "reboot-exit": dict(args=["--kernel", "{elf}", "--cmdline", "test=reboot"],
                        out=[r"rebooting"], err=[r"guest rebooted"]),
    "reboot-restart": dict(args=["--kernel", "{elf}", "--on-reboot", "restart",
                                 "--cmdline", "test=reboot"],
                           kill_after=(r"rebooting", 2), status=128 + signal.SIGTERM,
                           err=[r"stopped by Terminated"]),
    "triplefault": dict(args=["--kernel", "{elf}", "--cmdline", "test=triplefault"],
                        status=2, out=[r"triple faulting"],
                        err=[r"triple fault", r"RIP [0-9a-f]{16}", r"CR0 "]),
    "sigterm": dict(args=["--kernel", "{elf}", "--cmdline", "test=echo"], stdin_open=True,
                    kill_after=(r"landlord test guest|echo", 1), status=128 + signal.SIGTERM,
                    err=[r"stopped by Terminated"]),
    "console-file": dict(args=["--kernel", "{elf}", "--console", "file:{tmp}/console.log",
                               "--cmdline", "test=hello"],
                         file_out=("console.log", [r"TEST PASS hello"]), no_out=True),
    "console-none": dict(args=["--kernel", "{elf}", "--console", "none", "--cmdline", "test=hello"],
                         no_out=True),
    "cpu-features": dict(args=["--kernel", "{elf}", "--cpu-features", "-xsave,-rdrand,-popcnt",
                               "--cmdline", "test=hello"], out=[r"TEST PASS hello"]),
}


def linux_guest_dir():
    root = os.environ.get("LANDLORD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "landlord")
    return os.environ.get("LANDLORD_LINUX_GUEST") or os.path.join(root, "linux-guest")


# The real Linux guest built by tools/build-linux-guest.sh: boots with one vCPU
# (see ../shared/MACHINE.md), prints its marker through /dev/kmsg and through
# the console tty (a line of its own, so the UART's interrupt-driven path
# works), and powers off through ACPI.
LINUX = dict(args=["--kernel", "{linux}/vmlinux", "--initrd", "{linux}/initramfs.cpio",
                   "--memory", "256M", "--cpus", "1", "--cmdline", "{linux_cmdline}"],
             out=[r"Linux version 6\.1", r"ACPI: .*FACP", r"ttyS0 at I/O 0x3f8 \(irq = 4",
                  r"(?m)^LANDLORD-LINUX-OK\r?$", r"reboot: Power down"],
             timeout=300)

# Bad input: one clear line on stderr, exit status 1, nothing run.
BAD = {
    "bad-no-kernel": (["--memory", "64M"], r"no kernel"),
    "bad-missing-kernel": (["--kernel", "/nonexistent/vmlinux"], r"No such file"),
    "bad-not-a-kernel": (["--kernel", "{tmp}/junk"], r"not a kernel"),
    "bad-truncated-elf": (["--kernel", "{tmp}/trunc.elf"], r"ELF"),
    "bad-truncated-bzimage": (["--kernel", "{tmp}/trunc.bz"], r"truncated|too small|not a kernel"),
    "bad-missing-initrd": (["--kernel", "{elf}", "--initrd", "/nonexistent"], r"initrd"),
    "bad-memory-small": (["--kernel", "{elf}", "--memory", "1M"], r"too small"),
    "bad-memory-huge": (["--kernel", "{elf}", "--memory", "64T"], r"more than this host has"),
    "bad-memory-syntax": (["--kernel", "{elf}", "--memory", "lots"], r"not a size"),
    "bad-cpus-zero": (["--kernel", "{elf}", "--cpus", "0"], r"--cpus"),
    "bad-cpus-many": (["--kernel", "{elf}", "--cpus", "100000"], r"--cpus"),
    "bad-feature": (["--kernel", "{elf}", "--cpu-features", "-frobnicate"], r"frobnicate"),
    "bad-console": (["--kernel", "{elf}", "--console", "tty"], r"--console"),
    "bad-on-reboot": (["--kernel", "{elf}", "--on-reboot", "later"], r"--on-reboot"),
    "bad-option": (["--kernel", "{elf}", "--frob"], r"frob"),
    "bad-cmdline-long": (["--kernel", "{elf}", "--cmdline", "x" * 5000], r"command line"),
}

TTY = ["tty-escape", "tty-sigterm"]

# More cases live in cases_*.py beside this file, each defining CASES (same
# form as above) and optionally prepare(ctx) to make files in ctx["tmp"]
# before a case runs and check(name, ctx, out, err) -> list of problems,
# for checks on files the guest wrote.  A case with custom=fn runs
# fn(name, ctx, landlord) -> (problems, out, err) instead of one landlord run.
EXTRA = {}
for _mod in sorted(f[:-3] for f in os.listdir(os.path.dirname(os.path.abspath(__file__)))
                   if f.startswith("cases_") and f.endswith(".py")):
    _m = __import__(_mod)
    for _name, _case in _m.CASES.items():
        EXTRA[_name] = (_case, _m)


def expand(arg, ctx):
    return arg.format(**ctx)


def make_bad_files(tmp, elf):
    with open(os.path.join(tmp, "junk"), "wb") as f:
        f.write(b"this is not a kernel\n" * 100)
    data = open(elf, "rb").read()
    with open(os.path.join(tmp, "trunc.elf"), "wb") as f:
        f.write(data[:200])
    bz = open(elf.replace(".elf", ".bzImage"), "rb").read() if os.path.exists(
        elf.replace(".elf", ".bzImage")) else b""
    with open(os.path.join(tmp, "trunc.bz"), "wb") as f:
        f.write(bz[:1100])


def run(cmd, case, timeout, name=None, ctx=None):
    stdin = subprocess.PIPE if ("stdin" in case or case.get("stdin_open")) else subprocess.DEVNULL
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if "stdin" in case:
        p.stdin.write(case["stdin"])
        p.stdin.flush()
    out = b""
    if "kill_after" in case:
        pattern, count = case["kill_after"]
        os.set_blocking(p.stdout.fileno(), False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and p.poll() is None:
            chunk = p.stdout.read() or b""
            out += chunk
            if len(re.findall(pattern, out.decode(errors="replace"))) >= count:
                p.send_signal(signal.SIGTERM)
                break
            time.sleep(0.05)
        os.set_blocking(p.stdout.fileno(), True)
    if "during" in case:
        pattern, fn = case["during"]
        os.set_blocking(p.stdout.fileno(), False)
        buf = [out]

        def read_out():
            buf[0] += p.stdout.read() or b""
            return buf[0].decode(errors="replace")

        deadline = time.monotonic() + timeout
        while not re.search(pattern, read_out()) and p.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            ctx["during_problems"] = fn(name, ctx, p, read_out)
        except Exception as e:  # a broken check must not hang the case
            ctx["during_problems"] = [f"during: {type(e).__name__}: {e}"]
            p.kill()
        out = buf[0]
        os.set_blocking(p.stdout.fileno(), True)
    try:
        rest, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, err = p.communicate()
        print(f"TIMEOUT after {timeout}s")
    return p.returncode, (out + rest).decode(errors="replace"), err.decode(errors="replace")


def check_case(name, case, ctx, landlord):
    cmd = [landlord, "run"] + [expand(a, ctx) for a in case["args"]]
    status, out, err = run(cmd, case, case.get("timeout", 60), name, ctx)
    want = case.get("status", 0)
    problems = list(ctx.pop("during_problems", []))
    if status != want:
        problems.append(f"exit status {status}, want {want}")
    for pat in case.get("out", []):
        if not re.search(expand(pat, ctx), out):
            problems.append(f"stdout lacks /{pat}/")
    for pat in case.get("err", []):
        if not re.search(pat, err):
            problems.append(f"stderr lacks /{pat}/")
    if case.get("no_out") and out:
        problems.append("stdout should be empty")
    if "file_out" in case:
        fname, pats = case["file_out"]
        text = open(os.path.join(ctx["tmp"], fname), errors="replace").read()
        for pat in pats:
            if not re.search(pat, text):
                problems.append(f"{fname} lacks /{pat}/")
    return problems, out, err


def check_tty(name, ctx, landlord):
    """On a terminal: raw mode while the VM runs, Ctrl-A x quits with status 0
    (or SIGTERM stops it), and the terminal settings come back unchanged."""
    import pty
    import termios
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    cmd = [landlord, "run", "--kernel", ctx["elf"], "--cmdline", "test=echo"]
    p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    out, problems = b"", []
    deadline = time.monotonic() + 30
    while b"echo" not in out and time.monotonic() < deadline:
        import select
        if select.select([master], [], [], 0.1)[0]:
            out += os.read(master, 4096)
    during = termios.tcgetattr(slave)
    if during[3] & termios.ICANON or during[3] & termios.ECHO:
        problems.append("terminal not in raw mode while the VM runs")
    if name == "tty-escape":
        os.write(master, b"\x01x")
        want = 0
    else:
        p.send_signal(signal.SIGTERM)
        want = 128 + signal.SIGTERM
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        problems.append("landlord did not exit")
    if p.returncode != want:
        problems.append(f"exit status {p.returncode}, want {want}")
    if termios.tcgetattr(slave) != before:
        problems.append("terminal settings not restored")
    os.close(master)
    os.close(slave)
    return problems, out.decode(errors="replace"), err.decode(errors="replace")


def check_bad(name, ctx, landlord):
    args, pat = BAD[name]
    cmd = [landlord, "run"] + [expand(a, ctx) for a in args]
    status, out, err = run(cmd, {}, 30)
    problems = []
    if status != 1:
        problems.append(f"exit status {status}, want 1")
    problems += one_error_line(err)
    if not re.search(pat, err):
        problems.append(f"stderr lacks /{pat}/")
    return problems, out, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--landlord", required=True)
    ap.add_argument("--elf", required=True)
    ap.add_argument("--bzimage", required=True)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    if a.list:
        print("\n".join(list(CASES) + list(BAD) + TTY + list(EXTRA) + ["linux-boot"]))
        return 0
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm is not usable here")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        ctx = dict(elf=a.elf, bzimage=a.bzimage, tmp=tmp, year=time.gmtime().tm_year,
                   landlord=a.landlord)
        make_bad_files(tmp, a.elf)
        if a.case == "linux-boot":
            ctx["linux"] = linux_guest_dir()
            files = [os.path.join(ctx["linux"], f) for f in ("vmlinux", "initramfs.cpio", "cmdline")]
            if not all(os.path.exists(f) for f in files):
                print("SKIP linux-boot: " + "*" * 60)
                print(f"SKIP linux-boot: the Linux test guest is not built ({ctx['linux']}):")
                print("SKIP linux-boot: run tools/build-linux-guest.sh (tools/test.sh does)")
                return 77
            ctx["linux_cmdline"] = open(files[2]).read().strip()
            problems, out, err = check_case(a.case, LINUX, ctx, a.landlord)
        elif a.case in EXTRA:
            case, mod = EXTRA[a.case]
            ctx["linux"] = linux_guest_dir()
            if hasattr(mod, "prepare"):
                skip = mod.prepare(a.case, ctx)
                if skip:
                    print(f"SKIP {a.case}: {skip}")
                    return 77
            if "custom" in case:
                # A case that runs its own script: custom(name, ctx, landlord)
                # -> (problems, out, err).
                problems, out, err = case["custom"](a.case, ctx, a.landlord)
            else:
                problems, out, err = check_case(a.case, case, ctx, a.landlord)
            if hasattr(mod, "check"):
                problems += mod.check(a.case, ctx, out, err)
        elif a.case in TTY:
            problems, out, err = check_tty(a.case, ctx, a.landlord)
        elif a.case in CASES:
            problems, out, err = check_case(a.case, CASES[a.case], ctx, a.landlord)
        elif a.case in BAD:
            problems, out, err = check_bad(a.case, ctx, a.landlord)
        else:
            print(f"unknown case {a.case}")
            return 1
    if problems:
        print(f"FAIL {a.case}: " + "; ".join(problems))
        print("--- stdout ---\n" + out[-4000:] + "\n--- stderr ---\n" + err[-4000:])
        return 1
    print(f"PASS {a.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
