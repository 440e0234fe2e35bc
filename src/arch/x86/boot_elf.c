/* ELF vmlinux: PT_LOAD segments at their physical addresses, entered either
 * through the PVH note (XEN_ELFNOTE_PHYS32_ENTRY, Xen's hvm_start_info ABI)
 * or, without it, at e_entry in 64-bit mode with a zero page, like
 * Firecracker.  Every offset and size in the file is checked before use. */
#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"

#define errf(...) snprintf(err, errlen, __VA_ARGS__)

#define ELF_MAX_PHDRS           64
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC         0x336ec578

/* xen/include/public/arch-x86/hvm/start_info.h, version 1. */
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "hvm_memmap_entry layout");

#define PVH_MODLIST (LAYOUT_PVH_INFO + 0x40)
#define PVH_MEMMAP  (LAYOUT_PVH_INFO + 0x80)

static int check_ehdr(const struct kernel_file *kf, const Elf64_Ehdr *eh, char *err, size_t errlen)
{
	if (kf->size < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64) {
		errf("not an x86-64 ELF kernel");
		return -1;
	}
	if (eh->e_type != ET_EXEC) {
		errf("ELF file is not an executable (e_type %u)", eh->e_type);
		return -1;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phnum > ELF_MAX_PHDRS || eh->e_phoff > kf->size ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > kf->size - eh->e_phoff) {
		errf("ELF program headers are missing or malformed");
		return -1;
	}
	return 0;
}

/* Look for the PVH entry note in one PT_NOTE segment; 0 when absent. */
static uint64_t find_pvh_entry(const struct kernel_file *kf, const Elf64_Phdr *ph)
{
	uint64_t off = ph->p_offset, end;

	if (off > kf->size || ph->p_filesz > kf->size - off)
		return 0;
	end = off + ph->p_filesz;
	while (end - off >= sizeof(Elf64_Nhdr)) {
		const Elf64_Nhdr *n = (const void *)(kf->data + off);
		uint64_t name = off + sizeof(*n);
		uint64_t desc = name + ((n->n_namesz + 3ULL) & ~3ULL);
		uint64_t next = desc + ((n->n_descsz + 3ULL) & ~3ULL);

		if (next > end || next <= off)
			return 0;
		if (n->n_type == XEN_ELFNOTE_PHYS32_ENTRY && n->n_namesz == 4 &&
		    memcmp(kf->data + name, "Xen", 4) == 0 && n->n_descsz >= 4) {
			uint32_t entry;

			memcpy(&entry, kf->data + desc, 4);
			return entry;
		}
		off = next;
	}
	return 0;
}

static int load_segment(const struct guest_mem *gm, const struct kernel_file *kf,
			const Elf64_Phdr *ph, uint64_t *end, char *err, size_t errlen)
{
	uint8_t *dst;

	if (ph->p_filesz > ph->p_memsz || ph->p_offset > kf->size ||
	    ph->p_filesz > kf->size - ph->p_offset) {
		errf("ELF segment at %#llx lies outside the file", (unsigned long long)ph->p_paddr);
		return -1;
	}
	dst = gm_ptr(gm, ph->p_paddr, ph->p_memsz);
	if (ph->p_paddr < LAYOUT_HIGH_MEM || !dst) {
		errf("ELF segment %#llx+%#llx does not fit in guest RAM above 1 MiB",
		     (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
		return -1;
	}
	/* Guest RAM is fresh zero pages, so the bss part needs no clearing. */
	memcpy(dst, kf->data + ph->p_offset, ph->p_filesz);
	if (ph->p_paddr + ph->p_memsz > *end)
		*end = ph->p_paddr + ph->p_memsz;
	return 0;
}

static int write_pvh_info(const struct guest_mem *gm, const struct boot_spec *spec,
			  uint64_t kernel_end, char *err, size_t errlen)
{
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC, .version = 1,
		.cmdline_paddr = LAYOUT_CMDLINE, .rsdp_paddr = spec->rsdp,
		.memmap_paddr = PVH_MEMMAP,
	};
	struct hvm_modlist_entry mod = { 0 };
	struct hvm_memmap_entry mm;
	struct e820 map;

	if (x86_load_cmdline(gm, spec->cmdline, LAYOUT_CMDLINE_MAX, err, errlen) < 0)
		return -1;
	/* Linux's PVH path has no initrd_addr_max; keep to the 32-bit space. */
	if (x86_load_initrd(gm, spec->initrd_path, kernel_end, 0xffffffffULL,
			    &mod.paddr, &mod.size, err, errlen) < 0)
		return -1;
	if (mod.size) {
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST;
		gm_write(gm, PVH_MODLIST, &mod, sizeof(mod));
	}
	x86_build_e820(gm, &map);
	for (int i = 0; i < map.nr; i++) {
		mm = (struct hvm_memmap_entry){ map.e[i].addr, map.e[i].size, map.e[i].type, 0 };
		gm_write(gm, PVH_MEMMAP + i * sizeof(mm), &mm, sizeof(mm));
	}
	si.memmap_entries = map.nr;
	if (gm_write(gm, LAYOUT_PVH_INFO, &si, sizeof(si)) < 0) {
		errf("guest memory too small for the PVH start info");
		return -1;
	}
	return 0;
}

int x86_load_elf(const struct guest_mem *gm, const struct kernel_file *kf,
		 const struct boot_spec *spec, struct boot_info *out, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const void *)kf->data;
	const Elf64_Phdr *ph;
	uint64_t end = 0, pvh = 0;
	int loaded = 0;

	if (check_ehdr(kf, eh, err, errlen) < 0)
		return -1;
	ph = (const void *)(kf->data + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_NOTE && !pvh)
			pvh = find_pvh_entry(kf, &ph[i]);
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (load_segment(gm, kf, &ph[i], &end, err, errlen) < 0)
			return -1;
		loaded++;
	}
	if (!loaded) {
		errf("ELF file has no loadable segment");
		return -1;
	}
	/* The PVH note wins: it is what the kernel says a loader should use. */
	if (!gm_ptr(gm, pvh ? pvh : eh->e_entry, 1)) {
		errf("ELF entry point %#llx is outside guest RAM",
		     (unsigned long long)(pvh ? pvh : eh->e_entry));
		return -1;
	}
	if (pvh) {
		out->mode = BOOT_ENTRY_PVH;
		out->entry = pvh;
		out->params = LAYOUT_PVH_INFO;
		out->format = "ELF (PVH entry)";
		return write_pvh_info(gm, spec, end, err, errlen);
	}
	out->mode = BOOT_ENTRY_64;
	out->entry = eh->e_entry;
	out->params = LAYOUT_ZERO_PAGE;
	out->format = "ELF (64-bit entry)";
	return x86_write_zero_page(gm, NULL, spec, end, err, errlen);
}
