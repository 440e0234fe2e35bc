#!/usr/bin/env python3
"""Wrap the landlord test guest ELF into a Linux bzImage (boot protocol 2.15).

The ELF's PT_LOAD segments are laid out by physical address into one flat
image that starts at 0x100000 (what `objcopy -O binary` would give); that
image becomes the bzImage's protected-mode part. The 64-bit entry is the
load address + 0x200, as for a Linux kernel.

usage: mkbzimage.py GUEST.elf OUT.bzImage [--flat OUT.bin]
"""
import struct
import sys

LOAD_ADDR = 0x100000
SETUP_SECTS = 4                      # setup = (4 + 1) * 512 bytes
SETUP_SIZE = (SETUP_SECTS + 1) * 512
VERSION_STRING = b"landlord-test-guest (boot protocol 2.15)\0"
KERNEL_INFO_OFFSET = 0x100           # "LToP" kernel_info inside the image (entry.S)


def die(msg):
    sys.stderr.write("mkbzimage: %s\n" % msg)
    sys.exit(1)


def flat_image(elf):
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        die("not a little-endian ELF64 file")
    (e_type, e_machine, _ver, e_entry, e_phoff, _shoff, _flags, _ehsize, e_phentsize,
     e_phnum) = struct.unpack_from("<HHIQQQIHHH", elf, 16)
    if e_machine != 62:
        die("not an x86-64 ELF (e_machine %d)" % e_machine)
    segs = []
    for i in range(e_phnum):
        (p_type, _pf, p_offset, _vaddr, p_paddr, p_filesz,
         p_memsz, _align) = struct.unpack_from("<IIQQQQQQ", elf, e_phoff + i * e_phentsize)
        if p_type == 1 and p_memsz:
            segs.append((p_paddr, p_offset, p_filesz, p_memsz))
    if not segs:
        die("no PT_LOAD segment")
    base = min(s[0] for s in segs)
    if base != LOAD_ADDR:
        die("image starts at 0x%x, not 0x%x" % (base, LOAD_ADDR))
    if e_entry != LOAD_ADDR + 0x200:
        die("entry 0x%x is not load address + 0x200" % e_entry)
    file_end = max(s[0] + s[2] for s in segs)
    mem_end = max(s[0] + s[3] for s in segs)
    img = bytearray(file_end - base)
    for paddr, off, filesz, _memsz in segs:
        img[paddr - base:paddr - base + filesz] = elf[off:off + filesz]
    if img[KERNEL_INFO_OFFSET:KERNEL_INFO_OFFSET + 4] != b"LToP":
        die("no kernel_info at image offset 0x%x" % KERNEL_INFO_OFFSET)
    return bytes(img), mem_end - base


def setup_header(image_len, init_size):
    s = bytearray(SETUP_SIZE)

    def put(off, fmt, val):
        struct.pack_into("<" + fmt, s, off, val)

    # Real-mode part: this kernel has no real-mode setup code; the jump at 0x200
    # lands on "cli; hlt; jmp $-1" for anyone who does enter it.
    put(0x1F1, "B", SETUP_SECTS)          # setup_sects
    put(0x1F2, "H", 1)                    # root_flags (read-only)
    put(0x1F4, "I", (image_len + 15) // 16)  # syssize, 16-byte units
    put(0x1F8, "H", 0)                    # ram_size (obsolete)
    put(0x1FA, "H", 0xFFFF)               # vid_mode: normal
    put(0x1FC, "H", 0)                    # root_dev
    put(0x1FE, "H", 0xAA55)               # boot_flag
    stub = 0x270
    put(0x200, "B", 0xEB)                 # jump: short jmp to the stub
    put(0x201, "B", stub - 0x202)
    s[0x202:0x206] = b"HdrS"              # header
    put(0x206, "H", 0x020F)               # version 2.15
    put(0x208, "I", 0)                    # realmode_swtch
    put(0x20C, "H", 0x1000)               # start_sys_seg (obsolete)
    put(0x20E, "H", 0x280 - 0x200)        # kernel_version: offset of the string - 0x200
    put(0x210, "B", 0)                    # type_of_loader (the loader writes it)
    put(0x211, "B", 0x01)                 # loadflags: LOADED_HIGH
    put(0x212, "H", 0)                    # setup_move_size
    put(0x214, "I", LOAD_ADDR)            # code32_start
    put(0x218, "I", 0)                    # ramdisk_image
    put(0x21C, "I", 0)                    # ramdisk_size
    put(0x220, "I", 0)                    # bootsect_kludge
    put(0x224, "H", 0)                    # heap_end_ptr
    put(0x228, "I", 0)                    # cmd_line_ptr (the loader writes it)
    put(0x22C, "I", 0x7FFFFFFF)           # initrd_addr_max
    put(0x230, "I", 0x1000)               # kernel_alignment (not relocatable anyway)
    put(0x234, "B", 0)                    # relocatable_kernel: no
    put(0x235, "B", 12)                   # min_alignment: 2^12
    put(0x236, "H", 0x0001)               # xloadflags: XLF_KERNEL_64
    put(0x238, "I", 4095)                 # cmdline_size
    put(0x23C, "I", 0)                    # hardware_subarch: default x86
    put(0x240, "Q", 0)                    # hardware_subarch_data
    put(0x248, "I", 0)                    # payload_offset: no compressed payload
    put(0x24C, "I", 0)                    # payload_length
    put(0x250, "Q", 0)                    # setup_data
    put(0x258, "Q", LOAD_ADDR)            # pref_address
    put(0x260, "I", init_size)            # init_size
    put(0x264, "I", 0)                    # handover_offset: no EFI handover
    put(0x268, "I", KERNEL_INFO_OFFSET)   # kernel_info_offset
    s[stub:stub + 4] = b"\xFA\xF4\xEB\xFD"  # cli; hlt; jmp $-1 (real mode)
    s[0x280:0x280 + len(VERSION_STRING)] = VERSION_STRING
    return bytes(s)


def main(argv):
    args = list(argv[1:])
    flat_out = None
    if "--flat" in args:
        i = args.index("--flat")
        flat_out = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        die("usage: mkbzimage.py GUEST.elf OUT.bzImage [--flat OUT.bin]")
    with open(args[0], "rb") as f:
        elf = f.read()
    img, mem_size = flat_image(elf)
    init_size = (max(mem_size, len(img)) + 0xFFF) & ~0xFFF
    with open(args[1], "wb") as f:
        f.write(setup_header(len(img), init_size))
        f.write(img)
    if flat_out:
        with open(flat_out, "wb") as f:
            f.write(img)


if __name__ == "__main__":
    main(sys.argv)
