#!/usr/bin/env python3
"""landlord against QEMU on the same machine, in the same run (issue 6).

Run through bench/run.sh, which installs QEMU and gnuplot and builds
landlord (release) and the test guest first.  Every figure is measured
interleaved (landlord, peer, landlord, peer, ...) for --rounds rounds and
reported as median (min-max) plus the landlord/peer ratio of the medians.

Each monitor is started by bench/spawn.c (posix_spawn, no shell), which
timestamps the process start, the guest's first line on the monitor's stdout
pipe, and the process exit (wait4, which also gives the peak RSS of exactly
that process).  Every run must end
with the guest's "TEST PASS" line and exit status 0, or the bench stops.

The memory figure (peak RSS minus guest-touched memory) needs the process
alive at the end of the guest's work: the guest runs test=echo, which waits
idle for a line, and the bench reads /proc/PID/status and /proc/PID/smaps
then (see Bench.at_rest).
"""

import argparse
import datetime
import os
import platform
import re
import select
import socket
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

QEMU_BASE = ["-enable-kvm", "-cpu", "host,-arch-capabilities", "-nodefaults", "-no-user-config",
             "-nographic", "-serial", "stdio", "-no-reboot", "-smp", "1"]

# the test guest's virtio-blk-read pattern: first word of 4 KiB block b
BLK_MAGIC = 0x6C616E646C6F7264

MIB = 1 << 20
# what test=echo prints once it is set up and waits for a line
ECHO_WAITING = b"echo: waiting for a line"


class RunError(Exception):
    pass


class Bench:
    def __init__(self, args):
        self.a = args
        self.out = args.out
        os.makedirs(self.out, exist_ok=True)
        self.samples = {}   # key -> list of values

    # ------------------------------------------------------------ one run
    def run(self, cmd, marker="TEST ", timeout=300):
        """Run cmd under bench/spawn.c; return dict(first, marker, exit) in ms since the
        spawn, rss in KiB (wait4 of exactly that process) and out (its stdout)."""
        outpath = os.path.join(self.out, "run.out")
        r = subprocess.run([self.a.spawn, outpath, marker, str(timeout * 1000), *cmd],
                           stdout=subprocess.PIPE, text=True)
        fields = r.stdout.split()
        out = open(outpath, "rb").read().decode("latin-1")
        if r.returncode != 0 or len(fields) != 5:
            raise RunError(f"{' '.join(cmd)}\n  spawn helper failed ({r.returncode})")
        first, mark, exit_ms, status, rss = fields
        if int(status) != 0 or "TEST PASS" not in out or float(mark) < 0:
            errtext = open(outpath + ".err", "rb").read().decode("latin-1")
            raise RunError(f"{' '.join(cmd)}\n  exit status {status}\n"
                           f"  stdout: {out[-800:]!r}\n  stderr: {errtext[-800:]!r}")
        return dict(first=float(first), marker=float(mark), exit=float(exit_ms),
                    rss=int(rss), out=out)

    # ------------------------------------------------------- the monitors
    def landlord(self, test, mem="128M", extra=()):
        return [self.a.landlord, "run", "--kernel", self.a.elf, "--memory", mem, "--cpus", "1",
                *extra, "--cmdline", test]

    def qemu(self, machine, test, mem="128M", extra=()):
        return [self.a.qemu, "-M", machine, *QEMU_BASE, "-m", mem, "-kernel", self.a.elf,
                *extra, "-append", test]

    def add(self, key, value):
        self.samples.setdefault(key, []).append(value)

    def interleave(self, rounds, jobs, what):
        """jobs: list of (name, cmd, fn(result)). One round runs each job once, in order."""
        for r in range(rounds):
            for name, cmd, fn in jobs:
                fn(name, self.run(cmd))
            print(f"  {what}: round {r + 1}/{rounds}", end="\r", flush=True)
        print()

    # --------------------------------------------------------- the figures
    def startup(self):
        monitors = [("landlord", self.landlord("test=poweroff"))]
        monitors.append(("microvm", self.qemu("microvm", "test=poweroff")))
        if self.a.pc_rounds:
            monitors.append((self.a.pc, self.qemu(self.a.pc, "test=poweroff")))
        rounds = self.a.rounds

        def rec(name, r):
            self.add(("first", name), r["marker"])
            self.add(("exit", name), r["exit"])
            self.add(("rss128", name), r["rss"] / 1024.0)

        # the slow pc/q35 peer (SeaBIOS runs emulated here) gets its own count
        for i in range(max(rounds, self.a.pc_rounds)):
            jobs = [(n, c, rec) for n, c in monitors
                    if i < (self.a.pc_rounds if n == self.a.pc else rounds)]
            for name, cmd, fn in jobs:
                fn(name, self.run(cmd))
            print(f"  start-up: round {i + 1}", end="\r", flush=True)
        print()

    def memory(self):
        """Peak RSS, guest-touched memory and the difference, 128 MiB and 4 GiB."""
        for r in range(self.a.rounds):
            for mem, size, tag in (("128M", 128 * MIB, "128"), ("4G", 4096 * MIB, "4g")):
                for name, cmd in (("landlord", self.landlord("test=echo", mem)),
                                  ("microvm", self.qemu("microvm", "test=echo", mem))):
                    hwm, guest, files = self.at_rest(cmd, size)
                    self.add(("hwm" + tag, name), hwm / 1024.0)
                    self.add(("touched" + tag, name), guest / 1024.0)
                    self.add(("own" + tag, name), (hwm - guest) / 1024.0)
                    if tag == "128":
                        self.add(("files128", name), files / 1024.0)
            # landlord loads its HTTP library (libmicrohttpd and the TLS stack it links)
            # when the API socket gets its first client: measured too, after one request
            sock = os.path.join(self.out, "api.sock")
            hwm, guest, files = self.at_rest(self.landlord("test=echo", "128M",
                                                           ("--api-sock", sock)),
                                      128 * MIB, api_sock=sock)
            self.add(("hwm-api128", "landlord"), hwm / 1024.0)
            self.add(("own-api128", "landlord"), (hwm - guest) / 1024.0)
            self.add(("files-api128", "landlord"), files / 1024.0)
            print(f"  memory: round {r + 1}/{self.a.rounds}", end="\r", flush=True)
        print()

    def at_rest(self, cmd, mem_bytes, timeout=60, api_sock=None):
        """Run cmd, whose guest runs test=echo: it boots, prints ECHO_WAITING and idles
        until a line arrives on its serial input.  While it idles, read the monitor's peak
        RSS (VmHWM in /proc/PID/status; per address space, so nothing of the Python parent
        carries over across execve) and the Rss of its guest RAM mapping (guest_ram_rss);
        then send the line; the run must end with TEST PASS and status 0.  With api_sock,
        GET /landlord/info is sent to that API socket (and answered) before the reading.
        Returns (peak RSS, guest RAM Rss, RssFile: pages of the binary and its libraries,
        which processes mapping the same files share) in KiB."""
        errpath = os.path.join(self.out, "rest.err")
        with open(errpath, "wb") as err:
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        out = b""
        try:
            deadline = time.monotonic() + timeout
            while ECHO_WAITING not in out:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
                    raise RunError(f"{' '.join(cmd)}\n  no {ECHO_WAITING!r} within {timeout} s")
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
            if ECHO_WAITING not in out:
                raise RunError(f"{' '.join(cmd)}\n  ended before {ECHO_WAITING!r}: "
                               f"{out[-400:]!r}")
            if api_sock:
                api_get(api_sock, "/landlord/info")
            with open(f"/proc/{p.pid}/status") as f:
                status = f.read()
            hwm = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
            files = int(re.search(r"RssFile:\s+(\d+) kB", status).group(1))
            guest = guest_ram_rss(p.pid, mem_bytes)
            rest, _ = p.communicate(b"bench\n", timeout=timeout)
            out += rest
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        text = out.decode("latin-1")
        if p.returncode != 0 or "TEST PASS" not in text:
            errtext = open(errpath, "rb").read().decode("latin-1")
            raise RunError(f"{' '.join(cmd)}\n  exit status {p.returncode}\n"
                           f"  stdout: {text[-800:]!r}\n  stderr: {errtext[-800:]!r}")
        return hwm, guest, files

    def exits(self):
        n = self.a.exits
        for kind in ("io", "mmio"):
            for r in range(self.a.rounds):
                t = {}
                for name, mk in (("landlord", self.landlord),
                                 ("microvm", lambda test: self.qemu("microvm", test))):
                    for count in (0, n):
                        t[(name, count)] = self.run(mk(f"test=exit-{kind} count={count}"))["exit"]
                for name in ("landlord", "microvm"):
                    per_exit_us = (t[(name, n)] - t[(name, 0)]) * 1000.0 / n
                    self.add((f"exit-{kind}", name), per_exit_us)
                print(f"  exit-{kind}: round {r + 1}/{self.a.rounds}", end="\r", flush=True)
            print()

    def blk(self):
        """test=virtio-blk-read at each --blk-qd, landlord and QEMU (virtio-blk-pci), and
        host dd of the same cached file, interleaved."""
        mib = self.a.blk_mib
        img = os.path.join(self.out, "blk.img")
        size = mib << 20
        if not os.path.exists(img) or os.path.getsize(img) != size:
            with open(img, "wb") as f:
                f.truncate(size)
                for b in range(size // 4096):
                    f.seek(b * 4096)
                    f.write(struct.pack("<Q", BLK_MAGIC ^ b))
        subprocess.run(["cat", img], stdout=subprocess.DEVNULL, check=True)  # page cache
        jobs = []
        for qd in self.a.blk_qd:
            # verify=first: one tag checked per request.  Checking all 256
            # per MiB is what bounds the guest where its code is emulated
            # (PVM: ~1.5 MIPS); the I/O path is what is measured here.
            test = f"test=virtio-blk-read mib={mib} qd={qd} verify=first"
            jobs.append((f"blk{qd}", "landlord",
                         self.landlord(test, "256M", ["--disk", f"path={img},ro"])))
            jobs.append((f"blk{qd}", self.a.pc, self.qemu(self.a.pc, test, "256M", [
                "-device", "virtio-blk-pci,disable-legacy=on,drive=d0",
                "-drive", f"if=none,id=d0,file={img},format=raw,readonly=on"])))
        rounds = self.a.blk_rounds

        for i in range(rounds):
            for key, name, cmd in jobs:
                out = self.run(cmd)["out"]
                m = re.search(r"read_mib_per_s=(\d+)", out)
                if not m:
                    raise RunError(f"{name}: no read_mib_per_s in {out[-400:]!r}")
                self.add((key, name), float(m.group(1)))
            d = subprocess.run(["dd", f"if={img}", "of=/dev/null", "bs=1M"], capture_output=True,
                               text=True, check=True)
            m = re.search(r"(\d+) bytes .* s, ", d.stderr)
            secs = re.search(r"copied, ([0-9.e+-]+) s", d.stderr)
            if m and secs:
                self.add(("blk-dd", "dd"), int(m.group(1)) / (1 << 20) / float(secs.group(1)))
            print(f"  virtio-blk: round {i + 1}/{rounds}", end="\r", flush=True)
        print()

    def density(self):
        """Start idle 64 MiB VMs (test=echo waits for a line) for --density-s seconds."""
        deadline = time.perf_counter() + self.a.density_s
        procs = []
        try:
            while time.perf_counter() < deadline:
                p = subprocess.Popen(self.landlord("test=echo", "64M"), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                procs.append(p)
                line = b""
                while b"\n" not in line:       # up: first guest line printed
                    c = p.stdout.read1(4096)
                    if not c:
                        break
                    line += c
            up = sum(1 for p in procs if p.poll() is None)
            rss = []
            for p in procs:
                try:
                    with open(f"/proc/{p.pid}/status") as f:
                        rss.append(int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024.0)
                except (OSError, AttributeError):
                    pass
            self.density_result = (up, self.a.density_s, statistics.median(rss) if rss else 0,
                                   min(rss or [0]), max(rss or [0]))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    # -------------------------------------------------------------- report
    def cell(self, key, name, fmt="{:.1f}"):
        v = self.samples.get((key, name))
        if not v:
            return "–"
        return f"{fmt.format(statistics.median(v))} ({fmt.format(min(v))}–{fmt.format(max(v))})"

    def ratio(self, key, a, b, key_b=None):
        """median of (key, a) over median of (key_b or key, b)"""
        x, y = self.samples.get((key, a)), self.samples.get((key_b or key, b))
        if not x or not y or statistics.median(y) == 0:
            return "–"
        return f"{statistics.median(x) / statistics.median(y):.2f}x"

    def report(self, started):
        a = self.a
        pc = a.pc
        L = []
        L.append("# landlord benchmarks\n")
        L.append("Generated by `bench/run.sh`; do not edit by hand. Each cell: median (min–max) "
                 "over interleaved rounds; ratios are landlord's median over the peer's.\n")
        L.append("| | |\n|---|---|")
        for k, v in machine_info(a).items():
            L.append(f"| {k} | {v} |")
        L.append(f"| date | {started:%Y-%m-%d %H:%M:%S %Z} |")
        L.append(f"| rounds | {a.rounds} (QEMU {pc}: {a.pc_rounds}; virtio-blk: {a.blk_rounds}) |")
        L.append(f"| guest | `{os.path.relpath(a.elf, ROOT)}` (ELF, entered through PVH by both "
                 "monitors), 1 vCPU |")
        L.append("")
        L.append("## Start-up: `test=poweroff`, 128 MiB\n")
        L.append("Process start (spawn) to the guest's first serial line (`TEST PASS`; QEMU "
                 f"{pc}'s SeaBIOS prints earlier, so its raw first byte is not the guest's) "
                 "and to process exit (ACPI power-off, status 0).\n")
        L.append(f"| figure | landlord | QEMU microvm | QEMU {pc} | landlord/microvm | "
                 f"landlord/{pc} |")
        L.append("|---|---|---|---|---|---|")
        for key, label in (("first", "start → first guest byte, ms"),
                           ("exit", "start → exit, ms"),
                           ("rss128", "peak RSS, MiB")):
            L.append(f"| {label} | {self.cell(key, 'landlord')} | {self.cell(key, 'microvm')} | "
                     f"{self.cell(key, pc)} | {self.ratio(key, 'landlord', 'microvm')} | "
                     f"{self.ratio(key, 'landlord', pc)} |")
        L.append("")
        if ("own128", "landlord") in self.samples:
            L.append("## Memory: the monitor's own RSS (peak RSS minus guest-touched memory)\n")
            L.append("Each monitor boots the guest with `test=echo`, which then idles waiting "
                     "for a line on the serial port; the guest's work is done. While it idles "
                     "the bench reads the monitor's peak RSS (`VmHWM`, /proc/PID/status) and "
                     "the guest-touched memory: the `Rss` of the guest RAM mapping in "
                     "/proc/PID/smaps (the anonymous memory the size of the configured "
                     "memory: landlord's guest RAM mmap, which smaps shows in two pieces as "
                     "only the part above 2 MiB is advised for huge pages, and QEMU's RAM "
                     "block), i.e. every guest "
                     "page that the guest or the monitor (loading the ELF, boot tables, "
                     "firmware) wrote, in whole 2 MiB pages where transparent huge pages back "
                     "it. Neither monitor gives guest RAM back during a run, so that Rss is "
                     "also its largest, and peak RSS minus it lies between the monitor's own "
                     "resident memory at that point and its own peak. Then the line is sent "
                     "and the run must end with `TEST PASS`, status 0.\n")
            L.append("| configured guest memory | figure | landlord, MiB | QEMU microvm, MiB | "
                     "landlord/microvm |")
            L.append("|---|---|---|---|---|")
            for tag, label in (("128", "128 MiB"), ("4g", "4 GiB")):
                for key, what in (("hwm", "peak RSS"),
                                  ("touched", "guest-touched (guest RAM Rss)"),
                                  ("own", "**peak RSS − guest-touched**")):
                    L.append(f"| {label} | {what} | {self.cell(key + tag, 'landlord', '{:.2f}')} | "
                             f"{self.cell(key + tag, 'microvm', '{:.2f}')} | "
                             f"{self.ratio(key + tag, 'landlord', 'microvm')} |")
            if ("own-api128", "landlord") in self.samples:
                L.append("| 128 MiB | peak RSS, API in use | "
                         f"{self.cell('hwm-api128', 'landlord', '{:.2f}')} | | |")
                L.append("| 128 MiB | **peak RSS − guest-touched, API in use** | "
                         f"{self.cell('own-api128', 'landlord', '{:.2f}')} | | |")
                L.append("| 128 MiB | of the RSS: file pages (binary, libraries), API not in use | "
                         f"{self.cell('files128', 'landlord', '{:.2f}')} | "
                         f"{self.cell('files128', 'microvm', '{:.2f}')} | "
                         f"{self.ratio('files128', 'landlord', 'microvm')} |")
                L.append("| 128 MiB | of the RSS: file pages (binary, libraries), API in use | "
                         f"{self.cell('files-api128', 'landlord', '{:.2f}')} | | |")
                L.append("")
                L.append("landlord's API socket listens from the start, but the HTTP library "
                         "(Debian's libmicrohttpd, which links GnuTLS, p11-kit, nettle, gmp, "
                         "libidn2, libunistring, libtasn1) is loaded when the first client "
                         "connects (include/api/mhd_lib.h). The rows above are VMs nobody has "
                         "talked to; the \"API in use\" rows are the same VM after one "
                         "`GET /landlord/info` on its socket (same rounds, not interleaved "
                         "with QEMU, which has no such phase). File pages (`RssFile`) are "
                         "counted in every process's RSS but held once in memory for all "
                         "the processes that map the same library.")
            L.append("")
        if ("exit-io", "landlord") in self.samples:
            L.append(f"## Exit cost: µs per guest write handled in user space\n")
            L.append(f"(run with count={a.exits} minus run with count=0, divided by {a.exits}, "
                     "per round; includes the guest's own loop, which is emulated on a PVM host)\n")
            L.append("| exit | landlord, µs | QEMU microvm, µs | landlord/microvm |")
            L.append("|---|---|---|---|")
            for key, label in (("exit-io", "`outb` to the UART scratch register 0x3ff"),
                               ("exit-mmio", "32-bit MMIO write to unclaimed 0xf0000000")):
                L.append(f"| {label} | {self.cell(key, 'landlord', '{:.2f}')} | "
                         f"{self.cell(key, 'microvm', '{:.2f}')} | "
                         f"{self.ratio(key, 'landlord', 'microvm')} |")
            L.append("")
        if any((f"blk{qd}", "landlord") in self.samples for qd in a.blk_qd):
            L.append(f"## virtio-blk: `test=virtio-blk-read mib={a.blk_mib} qd=N verify=first`, 1 MiB "
                     "sequential reads, file in the page cache\n")
            L.append("(guest-measured MiB/s; the guest keeps N requests in flight, refilling "
                     "each as it completes and polling the used ring, and checks the tag of each "
                     "request's first 4 KiB block. Its request loop runs in user mode (CPL 3): "
                     "on a host whose /dev/kvm is KVM's PVM backend, guest kernel-mode code is "
                     "emulated at ~1.5 M instructions/s and would be measured instead of the "
                     "I/O path, while user mode runs natively (`test=cpl3-speed`); QEMU "
                     f"`-M {pc}` with `virtio-blk-pci,disable-legacy=on` on the same file and "
                     "guest; host `dd bs=1M` of the file as the ceiling, the same samples in "
                     "every row)\n")
            L.append(f"| queue depth | landlord | QEMU {pc} | host dd | landlord/QEMU | "
                     "landlord/dd |")
            L.append("|---|---|---|---|---|---|")
            for qd in a.blk_qd:
                key = f"blk{qd}"
                L.append(f"| {qd} | {self.cell(key, 'landlord', '{:.0f}')} | "
                         f"{self.cell(key, pc, '{:.0f}')} | "
                         f"{self.cell('blk-dd', 'dd', '{:.0f}')} | "
                         f"{self.ratio(key, 'landlord', pc)} | "
                         f"{self.ratio(key, 'landlord', 'dd', 'blk-dd')} |")
            L.append("")
        if getattr(self, "density_result", None):
            up, secs, med, lo, hi = self.density_result
            L.append(f"## Density: idle 64 MiB landlord VMs started one after another in "
                     f"{secs} s\n")
            L.append("| VMs running | RSS per VM, MiB |")
            L.append("|---|---|")
            L.append(f"| {up} | {med:.2f} ({lo:.2f}–{hi:.2f}) |")
            L.append("")
        L.append("![start-up time distributions](startup.png)\n")
        return "\n".join(L)

    def plot(self, png):
        gp = shutil.which("gnuplot")
        if not gp:
            print("bench: gnuplot not found, no plot", file=sys.stderr)
            return
        series = []
        names = ["landlord", "microvm", self.a.pc]
        for key, what in (("exit", "exit"), ("first", "first byte")):
            for name in names:
                v = sorted(self.samples.get((key, name), []))
                if not v:
                    continue
                path = os.path.join(self.out, f"startup-{key}-{name}.dat")
                with open(path, "w") as f:
                    for i, x in enumerate(v):
                        f.write(f"{x:.3f} {(i + 1) / len(v):.4f}\n")
                label = {"microvm": "QEMU microvm", self.a.pc: f"QEMU {self.a.pc}"}.get(name, name)
                dt = 1 if key == "exit" else 2
                series.append(f"'{path}' using 1:2 with steps dt {dt} lw 2 "
                              f"title '{label}: {what}'")
        script = "\n".join([
            "set terminal pngcairo size 1000,560 noenhanced" if has_pngcairo(gp)
            else "set terminal png size 1000,560 noenhanced",
            f"set output '{png}'",
            "set title 'landlord vs QEMU: process start to first guest byte / to exit "
            "(test=poweroff, 128 MiB), empirical CDF'",
            "set xlabel 'ms since spawn (log scale)'",
            "set ylabel 'fraction of runs'",
            "set logscale x", "set grid", "set key bottom right", "set yrange [0:1.05]",
            "plot " + ", ".join(series), ""])
        subprocess.run([gp], input=script, text=True, check=True)


def api_get(path, url, timeout=10):
    """GET url on the API's Unix socket; the response must be 200."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                c.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise RunError(f"API socket {path}: no VM answers")
                time.sleep(0.01)
        c.sendall(f"GET {url} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                  .encode())
        reply = b""
        while chunk := c.recv(65536):
            reply += chunk
    if not reply.startswith(b"HTTP/1.1 200"):
        raise RunError(f"GET {url} on {path}: {reply[:200]!r}")


def guest_ram_rss(pid, mem_bytes):
    """Rss in KiB of the guest RAM mapping in /proc/PID/smaps: the anonymous read-write
    memory whose size is the configured guest memory (up to 2 MiB more, for a monitor that
    rounds it up).  Both landlord (one mmap for all guest RAM) and QEMU (one RAM block)
    map it at once; the kernel may show it as adjacent pieces (landlord advises huge pages
    for all but its first 2 MiB), so adjacent anonymous pieces adding up to that size are
    taken together.  Anything but exactly one such stretch stops the bench rather than
    guess."""
    vmas = []    # (start, end, rss) of anonymous read-write mappings
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                cur = None
                if m.group(3).startswith("rw") and not m.group(4).strip():
                    cur = [int(m.group(1), 16), int(m.group(2), 16), 0]
                    vmas.append(cur)
                continue
            if cur and line.startswith("Rss:"):
                cur[2] = int(line.split()[1])
    found = []
    for i in range(len(vmas)):
        size, rss = 0, 0
        for j in range(i, len(vmas)):
            if j > i and vmas[j][0] != vmas[j - 1][1]:
                break
            size += vmas[j][1] - vmas[j][0]
            rss += vmas[j][2]
            if mem_bytes <= size <= mem_bytes + 2 * MIB:
                found.append(rss)
                break
            if size > mem_bytes + 2 * MIB:
                break
    if len(found) != 1:
        raise RunError(f"pid {pid}: {len(found)} anonymous stretches of {mem_bytes // MIB} MiB "
                       "in smaps, cannot tell which is guest RAM")
    return found[0]


def has_pngcairo(gp):
    r = subprocess.run([gp, "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (r.stdout + r.stderr)


def machine_info(a):
    info = {}
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1).strip() if m else "?"
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kib = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
            mem = f"{kib / (1 << 20):.1f} GiB"
    except (OSError, AttributeError):
        pass
    info["host"] = f"{cpu}, {os.cpu_count()} CPUs, {mem}, Linux {platform.release()}"
    kvm = "hardware KVM"
    if os.path.exists("/sys/module/kvm_pvm"):
        kvm = "kvm_pvm (software PVM backend: guest kernel code is emulated)"
    elif not os.path.exists("/sys/module/kvm_intel") and not os.path.exists("/sys/module/kvm_amd"):
        kvm = "unknown backend"
    info["/dev/kvm"] = kvm
    rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip() or "?"
    info["landlord"] = f"`{os.path.relpath(a.landlord, ROOT)}` (release build), git {rev}"
    q = subprocess.run([a.qemu, "--version"], capture_output=True, text=True).stdout
    info["QEMU"] = q.splitlines()[0] if q else "?"
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--landlord", required=True)
    ap.add_argument("--elf", required=True, help="the test guest ELF (landlord-test-guest.elf)")
    ap.add_argument("--spawn", required=True, help="bench/spawn.c, compiled")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--pc", default="pc", choices=["pc", "q35"], help="the second QEMU peer")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--pc-rounds", type=int, default=10,
                    help="rounds for the slow QEMU pc/q35 start-up (0: leave it out)")
    ap.add_argument("--exits", type=int, default=50000, help="count=N for the exit-cost runs")
    ap.add_argument("--blk-rounds", type=int, default=10, help="0: no virtio-blk figure")
    ap.add_argument("--blk-mib", type=int, default=256)
    ap.add_argument("--blk-qd", default="1,16",
                    help="queue depths for the virtio-blk reader (qd=, 1 to 16), comma-separated")
    ap.add_argument("--density-s", type=int, default=10, help="0: no density figure")
    ap.add_argument("--only", default="startup,memory,exits,blk,density")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="raw data, logs")
    ap.add_argument("--results", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--png", default=os.path.join(HERE, "startup.png"))
    a = ap.parse_args()
    a.landlord = os.path.abspath(a.landlord)
    a.elf = os.path.abspath(a.elf)
    a.spawn = os.path.abspath(a.spawn)
    a.qemu = shutil.which(a.qemu) or a.qemu
    only = set(a.only.split(","))
    a.blk_qd = [int(x) for x in a.blk_qd.split(",") if x]
    if not a.blk_qd or any(not 1 <= qd <= 16 for qd in a.blk_qd):
        ap.error("--blk-qd: queue depths from 1 to 16")
    b = Bench(a)
    started = datetime.datetime.now().astimezone()
    try:
        if "startup" in only:
            b.startup()
        if "memory" in only:
            b.memory()
        if "exits" in only:
            b.exits()
        if "blk" in only and a.blk_rounds:
            b.blk()
        if "density" in only and a.density_s:
            b.density()
    except RunError as e:
        print(f"\nbench: a run failed:\n{e}", file=sys.stderr)
        return 1
    with open(os.path.join(a.out, "samples.txt"), "w") as f:
        for (key, name), v in sorted(b.samples.items()):
            f.write(f"{key} {name} " + " ".join(f"{x:.3f}" for x in v) + "\n")
    text = b.report(started)
    with open(a.results, "w") as f:
        f.write(text)
    if "startup" in only:
        b.plot(a.png)
    print(text)
    print(f"\nwritten: {os.path.relpath(a.results)}, {os.path.relpath(a.png)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
