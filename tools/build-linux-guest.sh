#!/usr/bin/env bash
# Build landlord's default Linux test guest from Debian 12 packages only:
#   vmlinux         uncompressed ELF kernel with a PVH entry note (linux-source-6.1)
#   initramfs.cpio  uncompressed newc archive: static busybox + tools/linux-guest/init
#   cmdline         the kernel command line a test should pass
# Output is cached outside the repository and rebuilt only when an input changes.
# See tools/linux-guest/README.md.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
GUEST_DIR=$(dirname "$SCRIPT_PATH")/linux-guest
FRAGMENT=$GUEST_DIR/config.fragment
PATCH_FILE=$GUEST_DIR/pvm-workarounds.patch
INIT_FILE=$GUEST_DIR/init

KSRC_PKG=linux-source-6.1
KSRC_TARBALL=/usr/src/linux-source-6.1.tar.xz
KSRC_DIRNAME=linux-source-6.1
BUSYBOX_PKG=busybox-static
BUSYBOX_BIN=/bin/busybox
# patch is pulled in by build-essential (via dpkg-dev) but is named because we call it.
BUILD_PKGS=(build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils patch)

# Options that make the kernel boot faster when its code runs in an instruction
# emulator (see /work/shared/MACHINE.md) and harm nothing on hardware KVM:
#   panic=-1        reboot at once on panic, so a broken guest ends instead of hanging
#   rodata=off      skips re-mapping kernel text/rodata read-only (page-table work)
#   percpu_alloc=page  cheaper first per-cpu chunk set-up than the embed allocator
#   noreplace-smp   skips re-patching SMP alternatives
#   printk.devkmsg=on  no rate limit on /dev/kmsg, where /init writes its results
#                   (the default drops all but 10 lines per 5 s)
# Power-off goes through ACPI (FADT PM1a control / \_S5), so no reboot=/acpi= options.
BASE_CMDLINE="console=ttyS0 panic=-1 rodata=off percpu_alloc=page noreplace-smp printk.devkmsg=on"
# Only for the PVM backend: CPUID masks set by the monitor do not reach the guest there,
# so the guest hides what the emulator cannot run: XSAVE family (noxsave) and POPCNT(151),
# ERMS(297), FSRM(580), RDRAND(158), RDSEED(306), CX16(141), SMAP(308). These must be on
# the boot-loader command line (CONFIG_CMDLINE is parsed too late for clearcpuid).
PVM_CMDLINE="noxsave clearcpuid=151,297,580,158,306,141,308"

# Options that must survive merge_config.sh; failing to get any of them is fatal.
REQUIRED_CONFIG=(CONFIG_64BIT=y CONFIG_PVH=y CONFIG_SERIAL_8250_CONSOLE=y
	CONFIG_BLK_DEV_INITRD=y CONFIG_ACPI=y CONFIG_VIRTIO_PCI=y CONFIG_SMP=y
	CONFIG_VIRTIO_MMIO=y CONFIG_BINFMT_SCRIPT=y CONFIG_DEVTMPFS=y
	CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y CONFIG_VIRTIO_BLK=y CONFIG_HW_RANDOM_VIRTIO=y
	CONFIG_EXT4_FS=y)
FORBIDDEN_CONFIG=(CONFIG_MODULES=y CONFIG_RANDOMIZE_BASE=y)

die() { echo "build-linux-guest: error: $*" >&2; exit 1; }
log() { echo "build-linux-guest: $*" >&2; }

usage() {
	cat <<EOF
Usage: $0 [options]

Builds (or finds cached) the Linux test guest for landlord and prints the paths of
vmlinux, initramfs.cpio and cmdline, one per line, on stdout.

Options:
  --pvm-workarounds=auto|on|off
                  Apply the guest-side workarounds for KVM's PVM backend (kernel patch
                  plus extra cmdline options). auto (default): on only when the host's
                  KVM is the PVM backend, i.e. /sys/module/kvm_pvm exists or kvm_pvm
                  is listed in /proc/modules.
  --cache DIR     Cache root (default: \$LANDLORD_CACHE, else
                  \${XDG_CACHE_HOME:-\$HOME/.cache}/landlord); output goes to DIR/linux-guest.
  --force         Rebuild even if the cached output matches the inputs.
  --help          This text.

Missing Debian packages are installed with apt-get when run as root.
EOF
}

workarounds=auto
cache_root=${LANDLORD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/landlord}
force=0
while (($#)); do
	case $1 in
	--pvm-workarounds=*) workarounds=${1#*=} ;;
	--pvm-workarounds) (($# >= 2)) || die "--pvm-workarounds needs a value"; workarounds=$2; shift ;;
	--cache=*) cache_root=${1#*=} ;;
	--cache) (($# >= 2)) || die "--cache needs a directory"; cache_root=$2; shift ;;
	--force) force=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown option: $1" ;;
	esac
	shift
done

case $workarounds in
auto)
	# /proc/modules is absent in some containers; /sys/module/<name> is there for
	# loaded modules (and for built-in ones with parameters) either way.
	if [[ -d /sys/module/kvm_pvm ]] || grep -qw '^kvm_pvm' /proc/modules 2>/dev/null; then
		workarounds=on
	else
		workarounds=off
	fi ;;
on | off) ;;
*) die "--pvm-workarounds must be auto, on or off (got '$workarounds')" ;;
esac

for f in "$FRAGMENT" "$PATCH_FILE" "$INIT_FILE"; do
	[[ -f $f ]] || die "missing input file $f"
done

# ---- Debian packages --------------------------------------------------------------
pkg_installed() {
	[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]
}

ensure_packages() {
	local missing=() p
	for p in "$KSRC_PKG" "$BUSYBOX_PKG" "${BUILD_PKGS[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	if ((EUID != 0)); then
		die "missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install --no-install-recommends ${missing[*]}"
	fi
	log "installing: ${missing[*]}"
	# Another apt/dpkg run (e.g. unattended-upgrades) may hold the locks: wait for it.
	local lock=(-o DPkg::Lock::Timeout=600)
	DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" update -q ||
		die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed"
	for p in "${missing[@]}"; do
		pkg_installed "$p" || die "package $p still not installed"
	done
}

ensure_packages
[[ -f $KSRC_TARBALL ]] || die "$KSRC_TARBALL not found although $KSRC_PKG is installed"
[[ -x $BUSYBOX_BIN ]] || die "$BUSYBOX_BIN not found although $BUSYBOX_PKG is installed"

ksrc_version=$(dpkg-query -W -f='${Version}' "$KSRC_PKG")
busybox_version=$(dpkg-query -W -f='${Version}' "$BUSYBOX_PKG")

# ---- cache check --------------------------------------------------------------------
OUT=$cache_root/linux-guest
mkdir -p "$OUT" || die "cannot create cache directory $OUT"
OUT=$(readlink -f "$OUT")
VMLINUX=$OUT/vmlinux
INITRAMFS=$OUT/initramfs.cpio
CMDLINE=$OUT/cmdline
STAMP=$OUT/stamp

# Serialise concurrent runs (e.g. parallel tests) on the same cache.
exec 9>"$OUT/.lock"
flock 9 || die "cannot lock $OUT/.lock"

# Everything that determines the output. The compiler is included because a new gcc
# gives a different vmlinux.
input_hash=$({
	echo "format 1"
	sha256sum <"$SCRIPT_PATH"
	sha256sum <"$FRAGMENT"
	sha256sum <"$PATCH_FILE"
	sha256sum <"$INIT_FILE"
	echo "$KSRC_PKG $ksrc_version"
	echo "$BUSYBOX_PKG $busybox_version"
	echo "workarounds $workarounds"
	echo "gcc $(gcc -dumpfullversion)"
} | sha256sum | cut -d' ' -f1)

print_outputs() {
	echo "$VMLINUX"
	echo "$INITRAMFS"
	echo "$CMDLINE"
}

if ((!force)) && [[ -f $STAMP && $(<"$STAMP") == "$input_hash" &&
	-s $VMLINUX && -s $INITRAMFS && -s $CMDLINE ]]; then
	log "up to date (pvm workarounds: $workarounds)"
	print_outputs
	exit 0
fi
rm -f "$STAMP"

log "building (pvm workarounds: $workarounds, $KSRC_PKG $ksrc_version, $BUSYBOX_PKG $busybox_version)"
start=$SECONDS
BUILD=$OUT/build
SRC=$BUILD/$KSRC_DIRNAME
BUILD_LOG=$OUT/build.log
mkdir -p "$BUILD"
: >"$BUILD_LOG"

# Run a build step with its output in the log; on failure show the log's tail.
run_logged() {
	local what=$1
	shift
	if ! "$@" >>"$BUILD_LOG" 2>&1; then
		tail -n 40 "$BUILD_LOG" >&2
		die "$what failed (full log: $BUILD_LOG)"
	fi
}

# ---- kernel source: extracted once, then patched/unpatched in place ------------------
# Keeping the tree lets make rebuild incrementally when only the fragment or patch changes.
extract_source() {
	log "extracting $KSRC_TARBALL"
	rm -rf "$SRC" "$BUILD/.source-version"
	tar -xf "$KSRC_TARBALL" -C "$BUILD" || die "extracting $KSRC_TARBALL failed"
	[[ -f $SRC/Makefile ]] || die "$KSRC_TARBALL did not contain $KSRC_DIRNAME/"
	echo "$ksrc_version" >"$BUILD/.source-version"
}

if [[ ! -f $BUILD/.source-version || $(<"$BUILD/.source-version") != "$ksrc_version" ]]; then
	extract_source
fi

# The copy of the patch currently applied to $SRC, if any.
APPLIED=$SRC/.landlord-applied.patch
if [[ -f $APPLIED ]] && { [[ $workarounds == off ]] || ! cmp -s "$APPLIED" "$PATCH_FILE"; }; then
	log "reverting the previously applied workaround patch"
	if patch -p1 -R -s -d "$SRC" <"$APPLIED" >>"$BUILD_LOG" 2>&1; then
		rm -f "$APPLIED"
	else
		log "could not revert it cleanly; starting from a fresh source tree"
		extract_source
	fi
fi
if [[ $workarounds == on && ! -f $APPLIED ]]; then
	log "applying $(basename "$PATCH_FILE")"
	run_logged "checking $PATCH_FILE against $KSRC_DIRNAME" \
		patch -p1 --forward --dry-run -d "$SRC" -i "$PATCH_FILE"
	run_logged "applying $PATCH_FILE" patch -p1 --forward -s -d "$SRC" -i "$PATCH_FILE"
	cp "$PATCH_FILE" "$APPLIED"
fi

# ---- kernel config ------------------------------------------------------------------
jobs=$(nproc)
# Without ARCH, tinyconfig on x86 yields a 32-bit base config and the merge below
# then reports dozens of irrelevant 32-bit leftovers. merge_config.sh's own make
# calls inherit ARCH from the environment.
export ARCH=x86_64
log "configuring (tinyconfig + $(basename "$FRAGMENT"))"
run_logged "make tinyconfig" make -C "$SRC" tinyconfig
# -n: start the merge from allnoconfig, so only tinyconfig + fragment are enabled.
merge_fragment() ( cd "$SRC" && scripts/kconfig/merge_config.sh -n .config "$FRAGMENT" )
run_logged "merge_config.sh" merge_fragment
# merge_config.sh only warns about values that did not stick; report those for
# options our fragment names (RANDOMIZE_BASE is absent, not unset, without
# RELOCATABLE, which is what we want).
while read -r _ _ _ opt _; do
	[[ $opt == CONFIG_RANDOMIZE_BASE ]] && continue
	if grep -Eq "^(# )?${opt}[= ]" "$FRAGMENT"; then
		log "warning: kconfig did not take $opt from the fragment"
	fi
done < <(grep '^Value requested for' "$BUILD_LOG" || true)
for opt in "${REQUIRED_CONFIG[@]}"; do
	grep -qx "$opt" "$SRC/.config" || die "kernel config lacks $opt after merging $FRAGMENT (see $SRC/.config)"
done
for opt in "${FORBIDDEN_CONFIG[@]}"; do
	grep -qx "$opt" "$SRC/.config" && die "kernel config must not have $opt (see $SRC/.config)"
done

# ---- kernel build ---------------------------------------------------------------------
log "make -j$jobs vmlinux (log: $BUILD_LOG)"
run_logged "kernel build" make -C "$SRC" -j"$jobs" vmlinux
# The monitor enters the kernel through PVH: XEN_ELFNOTE_PHYS32_ENTRY (type 0x12, owner Xen).
# (Output captured first: with pipefail, an early-exiting grep -q could fail the pipe.)
notes=$(readelf -n "$SRC/vmlinux") || die "readelf -n $SRC/vmlinux failed"
grep -Eq '^[[:space:]]*Xen[[:space:]].*[(]0x00000012[)]' <<<"$notes" ||
	die "$SRC/vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)"
cp "$SRC/vmlinux" "$VMLINUX.tmp"
mv -f "$VMLINUX.tmp" "$VMLINUX"

# ---- initramfs ------------------------------------------------------------------------
# gen_init_cpio from the kernel tree writes device nodes and root ownership without
# needing root or mknod, and its output is deterministic.
log "building initramfs"
run_logged "compiling gen_init_cpio" gcc -O2 -o "$BUILD/gen_init_cpio" "$SRC/usr/gen_init_cpio.c"
LIST=$BUILD/initramfs.list
{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	for d in /bin /sbin /usr /usr/bin /usr/sbin /proc /sys /tmp /root /etc /mnt; do
		echo "dir $d 0755 0 0"
	done
	echo "file /bin/busybox $BUSYBOX_BIN 0755 0 0"
	echo "file /init $INIT_FILE 0755 0 0"
	# Only /bin/sh (for the #! line). busybox sh runs every other applet by name;
	# one symlink per applet would cost ~10 s of initramfs unpacking here.
	echo "slink /bin/sh /bin/busybox 0777 0 0"
} >"$LIST"
# Set a fixed mtime so the archive only changes when its contents do.
gen_cpio() { "$BUILD/gen_init_cpio" -t 0 "$LIST" >"$INITRAMFS.tmp"; }
run_logged "gen_init_cpio" gen_cpio
members=$(cpio -it --quiet <"$INITRAMFS.tmp") || die "cpio cannot read $INITRAMFS.tmp"
grep -qx init <<<"$members" || die "initramfs lacks /init"
mv -f "$INITRAMFS.tmp" "$INITRAMFS"

# ---- cmdline ------------------------------------------------------------------------------
cmdline=$BASE_CMDLINE
[[ $workarounds == on ]] && cmdline+=" $PVM_CMDLINE"
echo "$cmdline" >"$CMDLINE"

echo "$input_hash" >"$STAMP"
log "done in $((SECONDS - start)) s"
print_outputs
