/* The kernel loaders on synthetic kernels: well-formed ELF (64-bit and PVH
 * entry) and bzImage files, and hostile ones whose offsets and sizes point
 * outside the file or guest memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <asm/bootparam.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"

#define MIB (1ULL << 20)

struct fixture {
	struct guest_mem gm;
	char kernel[64];
	char initrd[64];
	char err[256];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	if (!f || gm_map(&f->gm, 64 * MIB, LAYOUT_PCI_HOLE) < 0)
		return -1;
	strcpy(f->kernel, "/tmp/landlord-test-kernel-XXXXXX");
	strcpy(f->initrd, "/tmp/landlord-test-initrd-XXXXXX");
	fd = mkstemp(f->kernel);
	close(fd);
	fd = mkstemp(f->initrd);
	if (write(fd, "INITRD-CONTENTS", 15) != 15)
		return -1;
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->kernel);
	unlink(f->initrd);
	gm_unmap(&f->gm);
	free(f);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

/* An ELF with one 4 KiB PT_LOAD at paddr and, optionally, a PVH note. */
static size_t make_elf(uint8_t *buf, uint64_t paddr, uint64_t memsz, uint32_t pvh_entry)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	Elf64_Nhdr *nh = (Elf64_Nhdr *)(buf + 0x200);

	memset(buf, 0, 0x2000);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = paddr + 0x10;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = pvh_entry ? 2 : 1;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = paddr,
			      .p_filesz = 0x1000, .p_memsz = memsz };
	memset(buf + 0x1000, 0xab, 0x1000);
	if (pvh_entry) {
		nh->n_namesz = 4;
		nh->n_descsz = 8;
		nh->n_type = 18;
		memcpy(nh + 1, "Xen", 4);
		memcpy((uint8_t *)(nh + 1) + 4, &pvh_entry, 4);
		ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x200,
				      .p_filesz = sizeof(*nh) + 12 };
	}
	return 0x2000;
}

static void elf_64bit_entry(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[0x2000];
	struct boot_spec spec = { .kernel_path = f->kernel, .initrd_path = f->initrd,
				  .cmdline = "console=ttyS0 test=x", .rsdp = LAYOUT_ACPI };
	struct boot_info bi;
	struct boot_params *bp;
	uint8_t *k;

	write_file(f->kernel, buf, make_elf(buf, 0x200000, 0x3000, 0));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), 0);
	assert_int_equal(bi.mode, BOOT_ENTRY_64);
	assert_int_equal(bi.entry, 0x200010);
	assert_int_equal(bi.params, LAYOUT_ZERO_PAGE);
	k = gm_ptr(&f->gm, 0x200000, 0x3000);
	assert_int_equal(k[0], 0xab);
	assert_int_equal(k[0xfff], 0xab);
	assert_int_equal(k[0x1000], 0);       /* bss */
	bp = gm_ptr(&f->gm, LAYOUT_ZERO_PAGE, sizeof(*bp));
	assert_int_equal(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	assert_string_equal((char *)gm_ptr(&f->gm, LAYOUT_CMDLINE, 1), "console=ttyS0 test=x");
	assert_int_equal(bp->acpi_rsdp_addr, LAYOUT_ACPI);
	assert_int_equal(bp->hdr.ramdisk_size, 15);
	assert_int_equal(bp->hdr.ramdisk_image & 0xfff, 0);
	assert_true(bp->hdr.ramdisk_image + 15 <= 64 * MIB);
	assert_memory_equal(gm_ptr(&f->gm, bp->hdr.ramdisk_image, 15), "INITRD-CONTENTS", 15);
	assert_int_equal(bp->e820_entries, 4);
	assert_int_equal(bp->e820_table[3].addr, LAYOUT_HIGH_MEM);
	assert_int_equal(bp->e820_table[3].size, 63 * MIB);
	assert_int_equal(bp->e820_table[3].type, E820_RAM);
	/* identity page tables: PML4 -> PDPT, PD maps 2 MiB pages */
	assert_int_equal(*(uint64_t *)gm_ptr(&f->gm, LAYOUT_PML4, 8), LAYOUT_PDPT | 3);
	assert_int_equal(((uint64_t *)gm_ptr(&f->gm, LAYOUT_PD, 16))[1], (2 * MIB) | 0x83);
}

static void elf_pvh_entry(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[0x2000];
	struct boot_spec spec = { .kernel_path = f->kernel, .cmdline = "pvh", .rsdp = LAYOUT_ACPI };
	struct boot_info bi;
	uint32_t *si;

	write_file(f->kernel, buf, make_elf(buf, 0x1000000, 0x1000, 0x1000040));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), 0);
	assert_int_equal(bi.mode, BOOT_ENTRY_PVH);
	assert_int_equal(bi.entry, 0x1000040);
	si = gm_ptr(&f->gm, LAYOUT_PVH_INFO, 56);
	assert_int_equal(si[0], 0x336ec578);           /* magic */
	assert_int_equal(si[1], 1);                    /* version */
	assert_int_equal(si[3], 0);                    /* no modules */
	assert_int_equal(*(uint64_t *)&si[6], LAYOUT_CMDLINE);
	assert_int_equal(*(uint64_t *)&si[8], LAYOUT_ACPI);
	assert_int_equal(si[12], 4);                   /* memmap entries */
}

static void elf_hostile(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[0x2000];
	struct boot_spec spec = { .kernel_path = f->kernel };
	struct boot_info bi;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));

	/* segment beyond guest RAM */
	write_file(f->kernel, buf, make_elf(buf, 63 * MIB, 2 * MIB, 0));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	/* segment over the monitor's low memory */
	write_file(f->kernel, buf, make_elf(buf, 0x9000, 0x1000, 0));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	/* file offset past the end */
	make_elf(buf, 0x200000, 0x1000, 0);
	ph[0].p_offset = 0x1fffffff0ULL;
	write_file(f->kernel, buf, sizeof(buf));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	/* filesz > memsz */
	make_elf(buf, 0x200000, 0x100, 0);
	write_file(f->kernel, buf, sizeof(buf));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	/* program headers past the end, and too many */
	make_elf(buf, 0x200000, 0x1000, 0);
	eh->e_phoff = 0x1ff0;
	write_file(f->kernel, buf, sizeof(buf));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	make_elf(buf, 0x200000, 0x1000, 0);
	eh->e_phnum = 0xffff;
	write_file(f->kernel, buf, sizeof(buf));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	/* a note whose sizes run off the segment: ignored, 64-bit entry used */
	make_elf(buf, 0x200000, 0x1000, 0x200000);
	((Elf64_Nhdr *)(buf + 0x200))->n_namesz = 0xfffffff0;
	write_file(f->kernel, buf, sizeof(buf));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), 0);
	assert_int_equal(bi.mode, BOOT_ENTRY_64);
	/* entry point outside guest RAM, through e_entry and through the note */
	make_elf(buf, 0x200000, 0x1000, 0);
	eh->e_entry = 0x7ffff000;
	write_file(f->kernel, buf, sizeof(buf));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "entry point"));
	write_file(f->kernel, buf, make_elf(buf, 0x200000, 0x1000, 0xfffff000));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "entry point"));
	/* 32-bit ELF */
	make_elf(buf, 0x200000, 0x1000, 0);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	write_file(f->kernel, buf, sizeof(buf));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "x86-64"));
}

static size_t make_bzimage(uint8_t *buf, uint16_t version, uint8_t xload)
{
	struct setup_header *h = (struct setup_header *)(buf + 0x1f1);

	memset(buf, 0, 0x2000);
	h->setup_sects = 1;
	h->boot_flag = 0xaa55;
	h->jump = 0x66eb;     /* jmp to 0x268: the header ends there */
	h->header = 0x53726448;
	h->version = version;
	h->loadflags = LOADED_HIGH;
	h->xloadflags = xload;
	h->cmdline_size = 255;
	h->initrd_addr_max = 0x7fffffff;
	h->init_size = 0x4000;
	memset(buf + 0x400, 0xcd, 0x1c00);   /* protected-mode code */
	return 0x2000;
}

static void bzimage(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[0x2000];
	struct boot_spec spec = { .kernel_path = f->kernel, .cmdline = "quiet" };
	struct boot_info bi;
	struct boot_params *bp;
	char longline[300];

	write_file(f->kernel, buf, make_bzimage(buf, 0x020f, XLF_KERNEL_64));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), 0);
	assert_int_equal(bi.mode, BOOT_ENTRY_64);
	assert_int_equal(bi.entry, LAYOUT_HIGH_MEM + 0x200);
	assert_int_equal(*(uint8_t *)gm_ptr(&f->gm, LAYOUT_HIGH_MEM, 1), 0xcd);
	bp = gm_ptr(&f->gm, LAYOUT_ZERO_PAGE, sizeof(*bp));
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);

	/* the kernel's own command-line limit is honoured */
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	spec.cmdline = longline;
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "command line"));
	spec.cmdline = NULL;

	write_file(f->kernel, buf, make_bzimage(buf, 0x020b, XLF_KERNEL_64));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "too old"));
	write_file(f->kernel, buf, make_bzimage(buf, 0x020f, 0));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "64-bit"));
	make_bzimage(buf, 0x020f, XLF_KERNEL_64);
	buf[0x1f1] = 60;      /* setup larger than the file */
	write_file(f->kernel, buf, sizeof(buf));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "truncated"));
}

static void not_a_kernel(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[4096];
	struct boot_spec spec = { .kernel_path = f->kernel };
	struct boot_info bi;

	memset(buf, 'x', sizeof(buf));
	write_file(f->kernel, buf, sizeof(buf));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "not a kernel"));
	write_file(f->kernel, buf, 10);
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
}

static void initrd_too_big(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[0x2000];
	struct boot_spec spec = { .kernel_path = f->kernel, .initrd_path = f->initrd };
	struct boot_info bi;

	/* kernel bss reaching up to just below the top of RAM: no room left */
	write_file(f->kernel, buf, make_elf(buf, 0x200000, 64 * MIB - 0x200000 - 8, 0));
	assert_int_equal(x86_boot_load(&f->gm, &spec, &bi, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "does not fit"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(elf_64bit_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(elf_pvh_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(elf_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(bzimage, setup, teardown),
		cmocka_unit_test_setup_teardown(not_a_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(initrd_too_big, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
