/* A small AML (ACPI Machine Language) encoder, private to acpi.c: just the
 * opcodes and resource descriptors landlord's DSDT uses (ACPI 6.3, chapters
 * 6.4 and 20).  Writes go through struct aml, which never writes past cap;
 * once something does not fit it sets overflow and drops all later writes,
 * so callers check overflow once at the end. */
#ifndef LANDLORD_ARCH_X86_ACPI_AML_H
#define LANDLORD_ARCH_X86_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_ZERO_OP     0x00
#define AML_ONE_OP      0x01
#define AML_NAME_OP     0x08
#define AML_SCOPE_OP    0x10
#define AML_BUFFER_OP   0x11
#define AML_PACKAGE_OP  0x12
#define AML_EXT_OP      0x5b    /* followed by AML_DEVICE_OP */
#define AML_DEVICE_OP   0x82

struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_raw(struct aml *a, const void *p, size_t n);
/* A NameSeg: exactly four characters, e.g. "_SB_". */
void aml_nameseg(struct aml *a, const char *seg);
/* NameOp NameSeg; the caller then emits the value. */
void aml_name(struct aml *a, const char *seg);
/* The shortest encoding: ZeroOp, OneOp, Byte/Word/DWord/QWordConst. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0A03"): the compressed 32-bit EISA id as a DWordConst. */
void aml_eisaid(struct aml *a, const char *id);

/* Terms with a PkgLength (Scope, Device, Package, Buffer): emit the opcode,
 * call aml_pkg_begin, emit the body, then aml_pkg_end inserts the
 * shortest PkgLength in front of the body. */
size_t aml_pkg_begin(const struct aml *a);
void aml_pkg_end(struct aml *a, size_t start);

/* Package (nelem) { ... }: PackageOp and NumElements (up to 255); emit the
 * elements, then aml_pkg_end with the returned start. */
size_t aml_package_begin(struct aml *a, uint8_t nelem);

/* Buffer (n) { data }: used for ResourceTemplate()s. */
void aml_buffer(struct aml *a, const uint8_t *data, size_t n);

/* Resource descriptors (ACPI 6.3 section 6.4), written into r. */
void aml_res_io(struct aml *r, uint16_t base, uint8_t align, uint8_t len);
void aml_res_irq_noflags(struct aml *r, uint16_t mask);
void aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *r, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max);
void aml_res_end(struct aml *r);

struct acpi_config;
/* acpi_dsdt.c: the DSDT's AML, after the table header. */
void acpi_dsdt_body(struct aml *a, const struct acpi_config *cfg);

#endif
