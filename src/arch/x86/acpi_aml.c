/* AML encoding for the DSDT; see acpi_aml.h.  Only what landlord needs,
 * each piece following the ACPI 6.3 grammar (section 20.2) literally. */
#include <string.h>

#include "acpi_aml.h"

#define AML_BYTE_PREFIX   0x0a
#define AML_WORD_PREFIX   0x0b
#define AML_DWORD_PREFIX  0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX  0x0e

/* Resource descriptor tags (section 6.4). */
#define RES_IRQ_NOFLAGS   0x22  /* small item 0x04, 2 bytes */
#define RES_IO            0x47  /* small item 0x08, 7 bytes */
#define RES_END_TAG       0x79  /* small item 0x0f, 1 byte */
#define RES_DWORD_ADDR    0x87
#define RES_WORD_ADDR     0x88

#define RES_TYPE_MEM      0
#define RES_TYPE_IO       1
#define RES_TYPE_BUS      2

/* General flags of address space descriptors: _MIF and _MAF set (a fixed
 * window), positive decode, and bit 0 clear: ResourceProducer.  Linux only
 * turns producer ranges into PCI host bridge windows. */
#define RES_FIXED_PRODUCER 0x0c
#define RES_IO_ENTIRE_RANGE 0x03 /* _RNG: ISA and non-ISA ports */
#define RES_MEM_RW_NONCACHE 0x01 /* _RW, _MEM = non-cacheable, _MTP = memory */

void
aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->cap = cap;
	a->len = 0;
	a->overflow = false;
}

void
aml_raw(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void
aml_byte(struct aml *a, uint8_t b)
{
	aml_raw(a, &b, 1);
}

static void
aml_le(struct aml *a, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

void
aml_nameseg(struct aml *a, const char *seg)
{
	aml_raw(a, seg, 4);
}

void
aml_name(struct aml *a, const char *seg)
{
	aml_byte(a, AML_NAME_OP);
	aml_nameseg(a, seg);
}

void
aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void
aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_raw(a, s, strlen(s) + 1);
}

static unsigned int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned int)(c - '0');
	return (unsigned int)(c - 'A' + 10);
}

/* Three letters, five bits each ('A' = 1), then four hex digits; the two
 * 16-bit halves are stored big-endian, so the bytes in memory read
 * vendor-hi, vendor-lo, product-hi, product-lo. */
void
aml_eisaid(struct aml *a, const char *id)
{
	uint16_t vendor = (uint16_t)(((id[0] - 0x40) & 0x1f) << 10 |
	    ((id[1] - 0x40) & 0x1f) << 5 | ((id[2] - 0x40) & 0x1f));
	uint16_t product = (uint16_t)(hexval(id[3]) << 12 |
	    hexval(id[4]) << 8 | hexval(id[5]) << 4 | hexval(id[6]));
	uint8_t b[4] = {
		(uint8_t)(vendor >> 8), (uint8_t)vendor,
		(uint8_t)(product >> 8), (uint8_t)product,
	};

	aml_byte(a, AML_DWORD_PREFIX);
	aml_raw(a, b, sizeof(b));
}

size_t
aml_pkg_begin(const struct aml *a)
{
	return a->len;
}

size_t
aml_package_begin(struct aml *a, uint8_t nelem)
{
	size_t start;

	aml_byte(a, AML_PACKAGE_OP);
	start = aml_pkg_begin(a);
	aml_byte(a, nelem);                     /* NumElements */
	return start;
}

/* PkgLength counts itself.  One byte holds up to 63; longer lengths put
 * the low nibble in the lead byte (bits 7-6 = number of following bytes)
 * and the rest in up to three following bytes. */
void
aml_pkg_end(struct aml *a, size_t start)
{
	size_t body, total, n;

	if (a->overflow)
		return;
	body = a->len - start;
	if (body + 1 <= 0x3f)
		n = 1;
	else if (body + 2 <= 0xfff)
		n = 2;
	else if (body + 3 <= 0xfffff)
		n = 3;
	else if (body + 4 <= 0xfffffff)
		n = 4;
	else
		n = 5;
	if (n > 4 || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	total = body + n;
	memmove(a->buf + start + n, a->buf + start, body);
	if (n == 1) {
		a->buf[start] = (uint8_t)total;
	} else {
		a->buf[start] = (uint8_t)((n - 1) << 6 | (total & 0x0f));
		for (size_t i = 1; i < n; i++)
			a->buf[start + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	a->len += n;
}

void
aml_buffer(struct aml *a, const uint8_t *data, size_t n)
{
	size_t pkg;

	aml_byte(a, AML_BUFFER_OP);
	pkg = aml_pkg_begin(a);
	aml_integer(a, n);
	aml_raw(a, data, n);
	aml_pkg_end(a, pkg);
}

/* IO (Decode16, base, base, align, len): a fixed range of ports. */
void
aml_res_io(struct aml *r, uint16_t base, uint8_t align, uint8_t len)
{
	aml_byte(r, RES_IO);
	aml_byte(r, 0x01);              /* 16-bit decode */
	aml_le(r, base, 2);             /* minimum */
	aml_le(r, base, 2);             /* maximum */
	aml_byte(r, align);
	aml_byte(r, len);
}

/* IRQNoFlags () {...}: edge-triggered, active-high, exclusive ISA IRQs. */
void
aml_res_irq_noflags(struct aml *r, uint16_t mask)
{
	aml_byte(r, RES_IRQ_NOFLAGS);
	aml_le(r, mask, 2);
}

/* Fixed-size, fixed-location windows: granularity and translation 0 and
 * _LEN = _MAX - _MIN + 1, the one combination the spec allows with both
 * _MIF and _MAF set (6.4.3.5, valid address space descriptor fields). */
static void
res_word(struct aml *r, uint8_t type, uint8_t type_flags, uint16_t min,
    uint16_t max)
{
	aml_byte(r, RES_WORD_ADDR);
	aml_le(r, 13, 2);               /* length of what follows */
	aml_byte(r, type);
	aml_byte(r, RES_FIXED_PRODUCER);
	aml_byte(r, type_flags);
	aml_le(r, 0, 2);                /* granularity */
	aml_le(r, min, 2);
	aml_le(r, max, 2);
	aml_le(r, 0, 2);                /* translation offset */
	aml_le(r, (uint32_t)max - min + 1, 2);
}

void
aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max)
{
	res_word(r, RES_TYPE_BUS, 0, min, max);
}

void
aml_res_word_io(struct aml *r, uint16_t min, uint16_t max)
{
	res_word(r, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, min, max);
}

void
aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max)
{
	aml_byte(r, RES_DWORD_ADDR);
	aml_le(r, 23, 2);
	aml_byte(r, RES_TYPE_MEM);
	aml_byte(r, RES_FIXED_PRODUCER);
	aml_byte(r, RES_MEM_RW_NONCACHE);
	aml_le(r, 0, 4);
	aml_le(r, min, 4);
	aml_le(r, max, 4);
	aml_le(r, 0, 4);
	aml_le(r, (uint64_t)max - min + 1, 4);
}

/* EndTag with checksum 0, which means "treat the template as valid". */
void
aml_res_end(struct aml *r)
{
	aml_byte(r, RES_END_TAG);
	aml_byte(r, 0);
}
