/* Guest physical memory: one anonymous mapping split into at most two RAM
 * regions (below the 32-bit PCI hole and above 4 GiB).  Every access the
 * monitor makes on behalf of a guest goes through gm_ptr(), which checks the
 * whole range against one region, so a hostile address or length can never
 * reach outside guest RAM. */
#ifndef LANDLORD_BASE_GUEST_MEM_H
#define LANDLORD_BASE_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 2

struct gm_region {
	uint64_t gpa;   /* guest physical start */
	uint64_t size;  /* bytes */
	uint8_t *host;  /* host virtual address of gpa */
};

struct guest_mem {
	uint8_t *map;        /* the whole anonymous mapping */
	size_t map_size;
	uint64_t ram_size;   /* configured RAM, bytes */
	int nr_regions;
	struct gm_region regions[GM_MAX_REGIONS];
};

/* Map ram_size bytes of guest RAM (lazily; nothing is touched) laid out with
 * a hole [hole_start, 4 GiB).  Returns 0, or -1 with errno set. */
int gm_map(struct guest_mem *gm, uint64_t ram_size, uint64_t hole_start);
void gm_unmap(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) if the range lies wholly inside one RAM
 * region, else NULL.  len may be 0 (then gpa must still be inside). */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copy helpers: 0 on success, -1 when the range is not guest RAM. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len);

/* Highest guest physical address + 1 of RAM below 4 GiB. */
uint64_t gm_low_end(const struct guest_mem *gm);

#endif
