/* Guest RAM: one anonymous, lazily-populated mapping.  Nothing here touches
 * the pages, so start-up cost does not grow with the configured size. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "base/guest_mem.h"

#define GIB (1ULL << 30)
/* The low guest RAM kept in small pages (see gm_map). */
#define GM_LOW_SMALL_PAGES (2ULL << 20)

int gm_map(struct guest_mem *gm, uint64_t ram_size, uint64_t hole_start)
{
	uint64_t low, high;

	memset(gm, 0, sizeof(*gm));
	if (ram_size == 0 || hole_start == 0 || hole_start > 4 * GIB) {
		errno = EINVAL;
		return -1;
	}
	low = ram_size < hole_start ? ram_size : hole_start;
	high = ram_size - low;

	/* MAP_NORESERVE: the guest may never touch most of its RAM; do not make
	 * the host commit swap for it up front. */
	gm->map = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (gm->map == MAP_FAILED) {
		gm->map = NULL;
		return -1;
	}
	gm->map_size = ram_size;
	gm->ram_size = ram_size;
	/* Transparent huge pages make the guest's page walks cheaper on hardware
	 * KVM; advice only, so a failure is harmless.  Not for the first 2 MiB:
	 * there live the boot structures (zero page, command line, ACPI and MP
	 * tables, real-mode areas) that a guest touches a few pages at a time,
	 * where one huge page would turn a few KiB into 2 MiB of host memory for
	 * every VM with no TLB gain worth having (bench/run.sh: a tiny guest's
	 * "guest-touched" memory fell from 2048 to ~100 KiB). */
	if (ram_size > GM_LOW_SMALL_PAGES)
		(void)madvise(gm->map + GM_LOW_SMALL_PAGES, ram_size - GM_LOW_SMALL_PAGES,
			      MADV_HUGEPAGE);

	gm->regions[0] = (struct gm_region){ .gpa = 0, .size = low, .host = gm->map };
	gm->nr_regions = 1;
	if (high) {
		gm->regions[1] = (struct gm_region){
			.gpa = 4 * GIB, .size = high, .host = gm->map + low };
		gm->nr_regions = 2;
	}
	return 0;
}

void gm_unmap(struct guest_mem *gm)
{
	if (gm->map)
		munmap(gm->map, gm->map_size);
	memset(gm, 0, sizeof(*gm));
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];

		/* Written so that no sum can overflow: gpa - r->gpa only once
		 * gpa >= r->gpa, and len is compared with what is left. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len)
{
	const void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

uint64_t gm_low_end(const struct guest_mem *gm)
{
	return gm->nr_regions ? gm->regions[0].size : 0;
}
