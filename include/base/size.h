/* Human sizes on the command line: "512M", "2G", "65536" (bytes), "4k". */
#ifndef LANDLORD_BASE_SIZE_H
#define LANDLORD_BASE_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0 and the size in bytes, or -1 for anything that is not a whole
 * number with an optional K/M/G/T suffix (binary units, optional "iB"/"B")
 * or that overflows 64 bits. */
int parse_size(const char *s, uint64_t *bytes);

/* "512M", "2G" or plain bytes: the largest exact binary unit. */
void format_size(uint64_t bytes, char *buf, size_t len);

#endif
