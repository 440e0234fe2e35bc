/* libFuzzer target: the kernel loaders (ELF incl. PVH notes, bzImage header)
 * on arbitrary files.  Nothing may read outside the file or write outside
 * guest memory; ASan reports either. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem gm;
	struct boot_spec spec = { .cmdline = "console=ttyS0", .rsdp = LAYOUT_ACPI };
	struct boot_info bi;
	char path[64], err[256];
	int fd;

	if (!gm.map && gm_map(&gm, 32 << 20, LAYOUT_PCI_HOLE) < 0)
		return 0;
	fd = memfd_create("kernel", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		spec.kernel_path = path;
		(void)x86_boot_load(&gm, &spec, &bi, err, sizeof(err));
	}
	close(fd);
	return 0;
}
