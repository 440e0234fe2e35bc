#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "base/size.h"
#include "vmm/config.h"

#define errf(...) snprintf(err, errlen, __VA_ARGS__)

void vm_config_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_size = VM_DEFAULT_MEMORY;
	cfg->nr_cpus = 1;
	cfg->console = CONSOLE_STDIO;
	cfg->on_reboot = REBOOT_EXIT;
	snprintf(cfg->name, sizeof(cfg->name), "vm-%d", (int)getpid());
}

int vm_config_set_memory(struct vm_config *cfg, const char *s, char *err, size_t errlen)
{
	uint64_t bytes;
	char min[32];

	if (parse_size(s, &bytes) < 0) {
		errf("--memory '%s': not a size (examples: 512M, 2G)", s);
		return -1;
	}
	if (bytes < VM_MIN_MEMORY) {
		format_size(VM_MIN_MEMORY, min, sizeof(min));
		errf("--memory %s is too small: at least %s", s, min);
		return -1;
	}
	if (bytes & 0xfffff) {
		errf("--memory %s is not a whole number of MiB", s);
		return -1;
	}
	cfg->mem_size = bytes;
	return 0;
}

int vm_config_set_cpus(struct vm_config *cfg, const char *s, char *err, size_t errlen)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 1 || n > VM_MAX_CPUS) {
		errf("--cpus '%s': must be a number from 1 to %d", s, VM_MAX_CPUS);
		return -1;
	}
	cfg->nr_cpus = (int)n;
	return 0;
}

bool vm_name_valid(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= VM_NAME_MAX && s[0] != '.' && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

int vm_config_set_name(struct vm_config *cfg, const char *s, char *err, size_t errlen)
{
	size_t len = strlen(s);

	if (!vm_name_valid(s)) {
		errf("--name '%s': use 1 to %d letters, digits, '.', '_' or '-', not starting with '.' or '-'",
		     s, VM_NAME_MAX);
		return -1;
	}
	memcpy(cfg->name, s, len + 1);
	return 0;
}

int vm_config_set_console(struct vm_config *cfg, const char *s, char *err, size_t errlen)
{
	if (strcmp(s, "stdio") == 0) {
		cfg->console = CONSOLE_STDIO;
	} else if (strcmp(s, "none") == 0) {
		cfg->console = CONSOLE_NONE;
	} else if (strncmp(s, "file:", 5) == 0 && s[5]) {
		cfg->console = CONSOLE_FILE;
		cfg->console_path = s + 5;
	} else {
		errf("--console '%s': use stdio, none or file:PATH", s);
		return -1;
	}
	return 0;
}

int vm_config_set_on_reboot(struct vm_config *cfg, const char *s, char *err, size_t errlen)
{
	if (strcmp(s, "exit") == 0) {
		cfg->on_reboot = REBOOT_EXIT;
	} else if (strcmp(s, "restart") == 0) {
		cfg->on_reboot = REBOOT_RESTART;
	} else {
		errf("--on-reboot '%s': use restart or exit", s);
		return -1;
	}
	return 0;
}

int vm_config_check_file(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		errf("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		errf("%s %s: not a regular file", what, path);
		return -1;
	}
	if (access(path, R_OK) < 0) {
		errf("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

int vm_config_validate(const struct vm_config *cfg, char *err, size_t errlen)
{
	struct sysinfo si;
	uint64_t host;
	char want[32], have[32];

	if (!cfg->kernel_path) {
		errf("no kernel: use --kernel FILE (or, through the API, PUT /boot-source)");
		return -1;
	}
	if (vm_config_check_file("kernel", cfg->kernel_path, err, errlen) < 0)
		return -1;
	if (cfg->initrd_path && vm_config_check_file("initrd", cfg->initrd_path, err, errlen) < 0)
		return -1;
	if (vm_config_validate_virtio(cfg, err, errlen) < 0)
		return -1;
	/* The mapping is lazy, but a guest promised more RAM than the host has
	 * in RAM and swap together will be killed when it uses it. */
	if (sysinfo(&si) == 0) {
		host = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
		if (cfg->mem_size > host) {
			format_size(cfg->mem_size, want, sizeof(want));
			format_size(host & ~0xfffffULL, have, sizeof(have));
			errf("--memory %s is more than this host has (%s of RAM and swap)", want, have);
			return -1;
		}
	}
	return 0;
}
