/* Loading a Linux kernel (bzImage or ELF vmlinux) into guest memory the way
 * the x86 boot protocol says, and writing what the first instruction needs:
 * the zero page (or PVH start info), e820 map, command line, initrd, the
 * boot GDT and identity page tables. */
#ifndef LANDLORD_ARCH_X86_BOOT_H
#define LANDLORD_ARCH_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"

enum boot_entry {
	BOOT_ENTRY_64,    /* 64-bit long mode, paging on, RSI = zero page */
	BOOT_ENTRY_PVH,   /* 32-bit protected mode, paging off, EBX = start info */
};

struct boot_spec {
	const char *kernel_path;
	const char *initrd_path;   /* NULL: none */
	const char *cmdline;       /* NULL: empty */
	uint64_t rsdp;             /* guest address of the ACPI RSDP, 0: none */
};

struct boot_info {
	enum boot_entry mode;
	uint64_t entry;     /* first instruction */
	uint64_t params;    /* zero page (RSI) or hvm_start_info (EBX) */
	const char *format; /* "bzImage", "ELF" or "ELF (PVH)", for messages */
};

/* The boot GDT's selectors (LAYOUT_GDT). */
#define BOOT_GDT_CODE32  0x08
#define BOOT_GDT_CODE64  0x10
#define BOOT_GDT_DATA    0x18
#define BOOT_GDT_TSS     0x20

/* Load everything.  0, or -1 with a one-line reason in err. */
int x86_boot_load(const struct guest_mem *gm, const struct boot_spec *spec,
		  struct boot_info *out, char *err, size_t errlen);

/* ---- shared between boot.c and boot_elf.c ---- */

struct kernel_file {
	const uint8_t *data;
	size_t size;
};

#define E820_MAX 8
#define E820_RAM 1
#define E820_RESERVED 2
struct e820 {
	int nr;
	struct { uint64_t addr, size; uint32_t type; } e[E820_MAX];
};

void x86_build_e820(const struct guest_mem *gm, struct e820 *map);
/* Read the initrd into the top of low RAM below max_addr, above
 * kernel_end.  0, or -1 with err set. */
int x86_load_initrd(const struct guest_mem *gm, const char *path, uint64_t kernel_end,
		    uint64_t max_addr, uint64_t *addr, uint64_t *size, char *err, size_t errlen);
/* Copy the command line to LAYOUT_CMDLINE; max is the kernel's limit
 * including the NUL.  0, or -1 with err set. */
int x86_load_cmdline(const struct guest_mem *gm, const char *cmdline, uint64_t max,
		     char *err, size_t errlen);
int x86_load_elf(const struct guest_mem *gm, const struct kernel_file *kf,
		 const struct boot_spec *spec, struct boot_info *out, char *err, size_t errlen);
int x86_write_zero_page(const struct guest_mem *gm, const struct kernel_file *setup,
			const struct boot_spec *spec, uint64_t kernel_end,
			char *err, size_t errlen);

#endif
