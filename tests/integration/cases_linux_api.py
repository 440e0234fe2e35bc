"""The real Linux guest (tools/build-linux-guest.sh) driven through the API:
`PUT /actions {"action_type": "SendCtrlAltDel"}` presses Ctrl+Alt+Del on
the i8042 keyboard; Linux's atkbd and VT keyboard handler turn it into
ctrl_alt_del(), which reboots at once, and landlord (--on-reboot=exit)
ends with status 0 and "guest rebooted". /init waits in
`landlord.test=ctrl-alt-del` mode after printing LANDLORD-WAITING-FOR-CAD."""

import os

from cases_api import Checker

SOCK = "{tmp}/linux.sock"


def _press(name, ctx, proc, read_out):
    c = Checker(SOCK.format(**ctx))
    c.expect("PUT", "/actions", 204, {"action_type": "SendCtrlAltDel"})
    return c.problems


CASES = {
    "linux-ctrl-alt-del": dict(
        args=["--kernel", "{linux}/vmlinux", "--initrd", "{linux}/initramfs.cpio",
              "--memory", "256M", "--api-sock", SOCK,
              "--cmdline", "{linux_cmdline} landlord.test=ctrl-alt-del"],
        during=(r"LANDLORD-WAITING-FOR-CAD", _press),
        out=[r"LANDLORD-WAITING-FOR-CAD", r"reboot: Restarting system"],
        err=[r"guest rebooted"], timeout=300),
}


def prepare(name, ctx):
    files = [os.path.join(ctx["linux"], f) for f in ("vmlinux", "initramfs.cpio", "cmdline")]
    if not all(os.path.exists(f) for f in files):
        return ("*" * 40 + f" the Linux test guest is not built ({ctx['linux']}): "
                "run tools/build-linux-guest.sh (tools/test.sh does) " + "*" * 40)
    ctx["linux_cmdline"] = open(files[2]).read().strip()
    return None


def check(name, ctx, out, err):
    if "ctrl-alt-del never came" in out:
        return ["the guest waited 120 s and saw no Ctrl+Alt+Del"]
    return []
