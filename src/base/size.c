#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "base/size.h"

static int suffix_shift(const char *s, unsigned *shift)
{
	static const char units[] = "KMGT";

	if (*s == '\0') {
		*shift = 0;
		return 0;
	}
	for (unsigned i = 0; units[i]; i++) {
		if (toupper((unsigned char)*s) != units[i])
			continue;
		s++;
		if (*s == '\0' || strcasecmp(s, "B") == 0 || strcasecmp(s, "iB") == 0) {
			*shift = 10 * (i + 1);
			return 0;
		}
		return -1;
	}
	if (strcasecmp(s, "B") == 0) {
		*shift = 0;
		return 0;
	}
	return -1;
}

int parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	unsigned shift;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (suffix_shift(end, &shift) < 0)
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*bytes = (uint64_t)v << shift;
	return 0;
}

void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && bytes && (bytes & 1023) == 0) {
		bytes >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, bytes);
	else
		snprintf(buf, len, "%" PRIu64 "%c", bytes, units[u]);
}
