#!/usr/bin/env python3
"""Fail if the test guest contains instructions that KVM's instruction
emulator (software backends such as PVM) cannot run, or any SSE/AVX/x87.

usage: check-insns.py OBJDUMP GUEST.elf
"""
import re
import subprocess
import sys

FORBIDDEN = re.compile(
    r"^\s*(int3|int\s|into|icebp|popcnt|lzcnt|tzcnt|rdrand|rdseed|xsave\w*|xrstor\w*|"
    r"fwait|wait|clac|stac|cmpxchg16b|cmpxchg8b|f\w+|"
    r"\w*xmm|\w*ymm|movdq\w*|movap\w*|movup\w*|pxor|emms|vzero\w*)\b")


def main():
    objdump, elf = sys.argv[1], sys.argv[2]
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", "-M", "att", elf],
                         check=True, capture_output=True, text=True).stdout
    bad = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not re.match(r"^\s*[0-9a-f]+:$", parts[0]):
            continue
        insn = parts[1].strip()
        if FORBIDDEN.match(insn) or "%xmm" in insn or "%ymm" in insn or "%st" in insn:
            bad.append(line.strip())
    if bad:
        sys.stderr.write("forbidden instructions in %s:\n  %s\n" % (elf, "\n  ".join(bad)))
        return 1
    print("%s: no forbidden instructions" % elf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
