"""Checks and helpers shared by the integration case modules."""

import re
import subprocess


def one_error_line(err):
    """A refused start: exactly one line on stderr, `landlord: ...`.
    -> list of problems."""
    problems = []
    lines = [l for l in err.splitlines() if l.strip()]
    if len(lines) != 1:
        problems.append(f"want exactly one line on stderr, got {len(lines)}")
    if not err.startswith("landlord"):
        problems.append("stderr line does not start with 'landlord'")
    return problems


def ip(*args):
    """Run ip(8) (tap devices for the network cases); RuntimeError if it fails."""
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")


def finish(proc, timeout, out_patterns):
    """Wait for landlord to exit (killed after timeout seconds): status 0 and
    every pattern on stdout.  -> (problems, out, err)."""
    problems = []
    try:
        o, e = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        o, e = proc.communicate()
        problems.append(f"landlord did not exit within {timeout:.0f}s")
    out, err = o.decode(errors="replace"), e.decode(errors="replace")
    if proc.returncode != 0:
        problems.append(f"exit status {proc.returncode}, want 0")
    for pat in out_patterns:
        if not re.search(pat, out):
            problems.append(f"stdout lacks /{pat}/")
    return problems, out, err
