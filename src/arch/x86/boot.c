/* The Linux x86 boot protocol (Documentation/x86/boot.rst): bzImage through
 * its 64-bit entry point, the zero page, e820, command line and initrd, plus
 * the boot GDT and identity page tables that the 64-bit entry requires. */
#include <asm/bootparam.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"

#define BZ_MIN_VERSION   0x020c    /* 2.12: xloadflags and the 64-bit entry */
#define BZ_HDR_OFFSET    0x1f1
#define INITRD_MAX_DEFAULT 0x37ffffffULL  /* boot.rst: for kernels that do not say */

#define errf(...) snprintf(err, errlen, __VA_ARGS__)

void x86_build_e820(const struct guest_mem *gm, struct e820 *map)
{
	uint64_t low_end = gm_low_end(gm);

	map->nr = 0;
#define ADD(a, s, t) map->e[map->nr++] = (typeof(map->e[0])){ (a), (s), (t) }
	ADD(0, LAYOUT_EBDA, E820_RAM);
	ADD(LAYOUT_EBDA, 0xa0000 - LAYOUT_EBDA, E820_RESERVED);
	ADD(LAYOUT_ACPI, LAYOUT_HIGH_MEM - LAYOUT_ACPI, E820_RESERVED);
	if (low_end > LAYOUT_HIGH_MEM)
		ADD(LAYOUT_HIGH_MEM, low_end - LAYOUT_HIGH_MEM, E820_RAM);
	for (int i = 1; i < gm->nr_regions; i++)
		ADD(gm->regions[i].gpa, gm->regions[i].size, E820_RAM);
#undef ADD
}

int x86_load_cmdline(const struct guest_mem *gm, const char *cmdline, uint64_t max,
		     char *err, size_t errlen)
{
	size_t len = cmdline ? strlen(cmdline) : 0;

	if (max > LAYOUT_CMDLINE_MAX)
		max = LAYOUT_CMDLINE_MAX;
	if (len + 1 > max) {
		errf("command line is %zu bytes; this kernel takes at most %llu", len,
		     (unsigned long long)(max - 1));
		return -1;
	}
	if (gm_write(gm, LAYOUT_CMDLINE, cmdline ? cmdline : "", len + 1) < 0) {
		errf("guest memory too small for the command line");
		return -1;
	}
	return 0;
}

static int read_full(int fd, uint8_t *dst, uint64_t size)
{
	while (size) {
		ssize_t n = read(fd, dst, size > (1 << 30) ? (1 << 30) : size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		dst += n;
		size -= n;
	}
	return 0;
}

int x86_load_initrd(const struct guest_mem *gm, const char *path, uint64_t kernel_end,
		    uint64_t max_addr, uint64_t *addr, uint64_t *size, char *err, size_t errlen)
{
	uint64_t top = gm_low_end(gm), start;
	struct stat st;
	uint8_t *dst;
	int fd, rc = -1;

	*addr = *size = 0;
	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		errf("initrd %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		errf("initrd %s: not a regular, non-empty file", path);
		goto out;
	}
	if (max_addr + 1 < top)
		top = max_addr + 1;
	start = ((uint64_t)st.st_size > top) ? 0 : (top - st.st_size) & ~0xfffULL;
	if ((uint64_t)st.st_size > top || start < kernel_end) {
		errf("initrd %s (%lld bytes) does not fit in guest memory below %#llx above the kernel",
		     path, (long long)st.st_size, (unsigned long long)top);
		goto out;
	}
	dst = gm_ptr(gm, start, st.st_size);
	if (!dst || read_full(fd, dst, st.st_size) < 0) {
		errf("initrd %s: read failed", path);
		goto out;
	}
	*addr = start;
	*size = st.st_size;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* setup: the bzImage (its header is copied), or NULL for an ELF kernel. */
int x86_write_zero_page(const struct guest_mem *gm, const struct kernel_file *setup,
			const struct boot_spec *spec, uint64_t kernel_end,
			char *err, size_t errlen)
{
	struct boot_params *bp = gm_ptr(gm, LAYOUT_ZERO_PAGE, sizeof(*bp));
	uint64_t cmd_max = LAYOUT_CMDLINE_MAX, initrd_max = INITRD_MAX_DEFAULT;
	uint64_t initrd_addr, initrd_size;
	struct e820 map;

	if (!bp) {
		errf("guest memory too small for the zero page");
		return -1;
	}
	memset(bp, 0, sizeof(*bp));
	if (setup) {
		/* The header runs from 0x1f1 to the end given by its jump. */
		size_t end = 0x202 + setup->data[0x201];

		if (end > BZ_HDR_OFFSET + sizeof(bp->hdr))
			end = BZ_HDR_OFFSET + sizeof(bp->hdr);
		memcpy(&bp->hdr, setup->data + BZ_HDR_OFFSET, end - BZ_HDR_OFFSET);
		bp->hdr.vid_mode = 0xffff;   /* "normal": no video mode change */
		cmd_max = bp->hdr.cmdline_size + 1ULL;
		if (bp->hdr.initrd_addr_max)
			initrd_max = bp->hdr.initrd_addr_max;
	} else {
		bp->hdr.boot_flag = 0xaa55;
		bp->hdr.header = 0x53726448;   /* "HdrS" */
		bp->hdr.kernel_alignment = 0x1000000;
	}
	bp->hdr.type_of_loader = 0xff;         /* undefined boot loader */
	bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp->ext_cmd_line_ptr = 0;
	if (x86_load_cmdline(gm, spec->cmdline, cmd_max, err, errlen) < 0)
		return -1;
	if (x86_load_initrd(gm, spec->initrd_path, kernel_end, initrd_max,
			    &initrd_addr, &initrd_size, err, errlen) < 0)
		return -1;
	bp->hdr.ramdisk_image = (uint32_t)initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_image = initrd_addr >> 32;
	bp->ext_ramdisk_size = initrd_size >> 32;
	bp->acpi_rsdp_addr = spec->rsdp;

	x86_build_e820(gm, &map);
	for (int i = 0; i < map.nr; i++) {
		bp->e820_table[i].addr = map.e[i].addr;
		bp->e820_table[i].size = map.e[i].size;
		bp->e820_table[i].type = map.e[i].type;
	}
	bp->e820_entries = map.nr;
	return 0;
}

static int load_bzimage(const struct guest_mem *gm, const struct kernel_file *kf,
			const struct boot_spec *spec, struct boot_info *out,
			char *err, size_t errlen)
{
	const struct setup_header *h = (const void *)(kf->data + BZ_HDR_OFFSET);
	uint64_t setup_size, pm_size, load, need;

	if (h->version < BZ_MIN_VERSION) {
		errf("bzImage boot protocol %u.%02u is too old: landlord needs 2.12 or later (64-bit entry)",
		     h->version >> 8, h->version & 0xff);
		return -1;
	}
	if (!(h->xloadflags & XLF_KERNEL_64) || !(h->loadflags & LOADED_HIGH)) {
		errf("bzImage has no 64-bit entry point (not an x86-64 kernel?)");
		return -1;
	}
	setup_size = ((h->setup_sects ? h->setup_sects : 4) + 1ULL) * 512;
	if (setup_size >= kf->size) {
		errf("bzImage is truncated: %zu bytes, setup alone is %llu", kf->size,
		     (unsigned long long)setup_size);
		return -1;
	}
	pm_size = kf->size - setup_size;
	/* A relocatable kernel goes where it prefers; others to 1 MiB. */
	load = h->relocatable_kernel ? h->pref_address : LAYOUT_HIGH_MEM;
	if (load < LAYOUT_HIGH_MEM)
		load = LAYOUT_HIGH_MEM;
	need = pm_size > h->init_size ? pm_size : h->init_size;
	if (!gm_ptr(gm, load, need)) {
		errf("guest memory too small: the kernel needs %llu MiB at %#llx",
		     (unsigned long long)(need >> 20) + 1, (unsigned long long)load);
		return -1;
	}
	gm_write(gm, load, kf->data + setup_size, pm_size);
	if (x86_write_zero_page(gm, kf, spec, load + need, err, errlen) < 0)
		return -1;
	out->mode = BOOT_ENTRY_64;
	out->entry = load + 0x200;   /* boot.rst: 64-bit entry = load address + 0x200 */
	out->params = LAYOUT_ZERO_PAGE;
	out->format = "bzImage";
	return 0;
}

static int is_bzimage(const struct kernel_file *kf)
{
	return kf->size >= 0x400 && kf->data[0x1fe] == 0x55 && kf->data[0x1ff] == 0xaa &&
	       memcmp(kf->data + 0x202, "HdrS", 4) == 0;
}

/* GDT for both entries: flat 32-bit code (PVH), 64-bit code, data, TSS. */
static int write_gdt(const struct guest_mem *gm)
{
	static const uint64_t gdt[] = {
		0,
		0x00cf9b000000ffffULL,   /* 0x08 code32 */
		0x00af9b000000ffffULL,   /* 0x10 code64 */
		0x00cf93000000ffffULL,   /* 0x18 data */
		0x00808b0000000067ULL,   /* 0x20 32-bit TSS, busy */
	};
	return gm_write(gm, LAYOUT_GDT, gdt, sizeof(gdt));
}

/* Identity map of the low 4 GiB with 2 MiB pages: enough for every kernel
 * and for the LAPIC and IOAPIC, and a fixed cost whatever the RAM size. */
static int write_page_tables(const struct guest_mem *gm)
{
	uint64_t *pml4 = gm_ptr(gm, LAYOUT_PML4, 4096);
	uint64_t *pdpt = gm_ptr(gm, LAYOUT_PDPT, 4096);
	uint64_t *pd = gm_ptr(gm, LAYOUT_PD, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -1;
	pml4[0] = LAYOUT_PDPT | 0x3;                   /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PD + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;              /* present, writable, 2 MiB */
	return 0;
}

int x86_boot_load(const struct guest_mem *gm, const struct boot_spec *spec,
		  struct boot_info *out, char *err, size_t errlen)
{
	struct kernel_file kf;
	struct stat st;
	void *map;
	int fd, rc;

	fd = open(spec->kernel_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		errf("%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 64) {
		errf("not a kernel: not a regular file of at least 64 bytes");
		close(fd);
		return -1;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		errf("mmap: %s", strerror(errno));
		return -1;
	}
	kf.data = map;
	kf.size = st.st_size;
	if (write_gdt(gm) < 0) {
		errf("guest memory too small");
		rc = -1;
	} else if (memcmp(kf.data, "\177ELF", 4) == 0) {
		rc = x86_load_elf(gm, &kf, spec, out, err, errlen);
	} else if (is_bzimage(&kf)) {
		rc = load_bzimage(gm, &kf, spec, out, err, errlen);
	} else {
		errf("not a kernel: neither an ELF vmlinux nor a bzImage");
		rc = -1;
	}
	if (rc == 0 && out->mode == BOOT_ENTRY_64 && write_page_tables(gm) < 0) {
		errf("guest memory too small for the boot page tables");
		rc = -1;
	}
	munmap(map, st.st_size);
	return rc;
}
