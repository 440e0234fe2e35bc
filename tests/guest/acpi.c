/* landlord test guest: ACPI table discovery, power-off and reset. */
#include "guest.h"

struct acpi_info acpi;

static u32 rd32(const void *p) { return *(const u32 *)p; }
static u64 rd64(const void *p) { return *(const u64 *)p; }
static u16 rd16(const void *p) { return *(const u16 *)p; }

u8 acpi_checksum(const void *p, size_t len)
{
    const u8 *b = p;
    u8 sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (u8)(sum + b[i]);
    return sum;
}

int acpi_rsdp_valid(u64 addr)
{
    const u8 *p = (const u8 *)(uintptr_t)addr;
    if (!addr || *(const u64 *)p != 0x2052545020445352ull)   /* "RSD PTR " */
        return 0;
    if (acpi_checksum(p, 20))
        return 0;
    if (p[15] >= 2) {
        u32 len = rd32(p + 20);
        if (len < 36 || len > 4096 || acpi_checksum(p, len))
            return 0;
    }
    return 1;
}

u64 acpi_scan_rsdp(void)
{
    for (u64 a = 0xE0000; a < 0x100000; a += 16)
        if (acpi_rsdp_valid(a))
            return a;
    return 0;
}

static int sdt_valid(u64 addr, const char *sig)
{
    if (!addr || addr >= 0x100000000ull)
        return 0;
    const struct acpi_sdt *h = (const struct acpi_sdt *)(uintptr_t)addr;
    if (sig && memcmp(h->sig, sig, 4))
        return 0;
    if (h->length < sizeof(*h) || h->length > (16u << 20))
        return 0;
    return acpi_checksum(h, h->length) == 0;
}

unsigned acpi_table_count(void)
{
    u64 root = acpi.xsdt ? acpi.xsdt : acpi.rsdt;
    if (!root)
        return 0;
    const struct acpi_sdt *h = (const struct acpi_sdt *)(uintptr_t)root;
    return (h->length - (u32)sizeof(*h)) / (acpi.xsdt ? 8 : 4);
}

u64 acpi_table_addr(unsigned i)
{
    u64 root = acpi.xsdt ? acpi.xsdt : acpi.rsdt;
    const u8 *ent = (const u8 *)(uintptr_t)root + sizeof(struct acpi_sdt);
    return acpi.xsdt ? rd64(ent + 8 * i) : rd32(ent + 4 * i);
}

static u32 pkg_length_size(u8 lead) { return 1u + (lead >> 6); }

/* AML integer data object: ZeroOp, OneOp, BytePrefix, WordPrefix, DWordPrefix. */
static int aml_int(const u8 *p, const u8 *end, u8 *out, u32 *used)
{
    if (p >= end)
        return 0;
    switch (p[0]) {
    case 0x00: *out = 0; *used = 1; return 1;
    case 0x01: *out = 1; *used = 1; return 1;
    case 0x0A: if (p + 2 > end) return 0; *out = p[1]; *used = 2; return 1;
    case 0x0B: if (p + 3 > end) return 0; *out = p[1]; *used = 3; return 1;
    case 0x0C: if (p + 5 > end) return 0; *out = p[1]; *used = 5; return 1;
    default: return 0;
    }
}

int acpi_parse_s5(u64 dsdt, u8 *typa, u8 *typb)
{
    const struct acpi_sdt *h = (const struct acpi_sdt *)(uintptr_t)dsdt;
    const u8 *base = (const u8 *)h;
    const u8 *end = base + h->length;
    for (const u8 *p = base + sizeof(*h); p + 4 <= end; p++) {
        if (p[0] != '_' || p[1] != 'S' || p[2] != '5' || p[3] != '_')
            continue;
        /* NameOp "_S5_" or NameOp "\_S5_" */
        int named = (p[-1] == 0x08) || (p[-1] == '\\' && p[-2] == 0x08);
        if (!named)
            continue;
        const u8 *q = p + 4;
        if (q >= end || *q != 0x12)   /* PackageOp */
            continue;
        q++;
        if (q >= end)
            return 0;
        q += pkg_length_size(*q);
        if (q >= end)
            return 0;
        u8 nelem = *q++;
        u32 used;
        if (nelem < 1 || !aml_int(q, end, typa, &used))
            return 0;
        q += used;
        *typb = 0;
        if (nelem >= 2)
            aml_int(q, end, typb, &used);
        return 1;
    }
    return 0;
}

static void io_gas(struct acpi_gas *g, u32 port, u8 bits)
{
    memset(g, 0, sizeof(*g));
    if (!port)
        return;
    g->space_id = 1;
    g->bit_width = bits;
    g->address = port;
}

static void parse_fadt(const u8 *f)
{
    u32 len = ((const struct acpi_sdt *)f)->length;
    acpi.fadt_flags = len >= 116 ? rd32(f + 112) : 0;
    acpi.century_reg = len > 108 ? f[108] : 0;

    u64 dsdt = len >= 148 ? rd64(f + 140) : 0;
    if (!dsdt)
        dsdt = rd32(f + 40);
    acpi.dsdt = dsdt;

    io_gas(&acpi.pm1a_cnt, rd32(f + 64), 16);
    io_gas(&acpi.pm1b_cnt, rd32(f + 68), 16);
    if (len >= 184 && rd64(f + 172 + 4))
        memcpy(&acpi.pm1a_cnt, f + 172, sizeof(struct acpi_gas));
    if (len >= 196 && rd64(f + 184 + 4))
        memcpy(&acpi.pm1b_cnt, f + 184, sizeof(struct acpi_gas));
    if (len >= 129) {
        memcpy(&acpi.reset_reg, f + 116, sizeof(struct acpi_gas));
        acpi.reset_value = f[128];
    }
    if (len >= 256)
        memcpy(&acpi.sleep_ctl, f + 244, sizeof(struct acpi_gas));
}

static void parse_madt(const u8 *m)
{
    u32 len = ((const struct acpi_sdt *)m)->length;
    acpi.lapic_addr = rd32(m + 36);
    for (u32 off = 44; off + 2 <= len;) {
        u8 type = m[off], elen = m[off + 1];
        if (elen < 2 || off + elen > len)
            break;
        const u8 *e = m + off;
        if (type == 0 && elen >= 8) {
            if ((rd32(e + 4) & 1) && acpi.nr_cpus < MAX_CPUS)
                acpi.cpu_apic_ids[acpi.nr_cpus++] = e[3];
        } else if (type == 9 && elen >= 16) {
            if ((rd32(e + 8) & 1) && acpi.nr_cpus < MAX_CPUS)
                acpi.cpu_apic_ids[acpi.nr_cpus++] = rd32(e + 4);
        } else if (type == 1 && elen >= 12) {
            if (acpi.nr_ioapics < ARRAY_SIZE(acpi.ioapics)) {
                struct madt_ioapic *io = &acpi.ioapics[acpi.nr_ioapics++];
                io->id = e[2];
                io->addr = rd32(e + 4);
                io->gsi_base = rd32(e + 8);
                u32 ver = ioapic_read(io->addr, 1);
                io->nr_pins = ver == 0xFFFFFFFFu ? 24 : ((ver >> 16) & 0xFF) + 1;
            }
        } else if (type == 2 && elen >= 10) {
            if (acpi.nr_isos < ARRAY_SIZE(acpi.isos)) {
                struct madt_iso *s = &acpi.isos[acpi.nr_isos++];
                s->bus = e[2];
                s->source = e[3];
                s->gsi = rd32(e + 4);
                s->flags = rd16(e + 8);
            }
        } else if (type == 5 && elen >= 12) {
            acpi.lapic_addr = rd64(e + 4);
        }
        off += elen;
    }
}

int acpi_init(const char **why)
{
    u64 rsdp = *(const u64 *)(boot_params + BP_ACPI_RSDP_ADDR);
    if (!acpi_rsdp_valid(rsdp))
        rsdp = acpi_scan_rsdp();
    if (!rsdp) {
        *why = "no valid RSDP";
        return -1;
    }
    acpi.rsdp = rsdp;
    const u8 *r = (const u8 *)(uintptr_t)rsdp;
    if (r[15] >= 2 && sdt_valid(rd64(r + 24), "XSDT"))
        acpi.xsdt = rd64(r + 24);
    else if (sdt_valid(rd32(r + 16), "RSDT"))
        acpi.rsdt = rd32(r + 16);
    else {
        *why = "no valid XSDT/RSDT";
        return -1;
    }
    for (unsigned i = 0; i < acpi_table_count(); i++) {
        u64 t = acpi_table_addr(i);
        if (!acpi.fadt && sdt_valid(t, "FACP"))
            acpi.fadt = t;
        else if (!acpi.madt && sdt_valid(t, "APIC"))
            acpi.madt = t;
    }
    if (acpi.madt)
        parse_madt((const u8 *)(uintptr_t)acpi.madt);
    if (!acpi.lapic_addr)
        acpi.lapic_addr = 0xFEE00000;
    lapic_base = acpi.lapic_addr;
    ap_lapic_base = acpi.lapic_addr;
    if (!acpi.fadt) {
        *why = "no valid FADT";
        return -1;
    }
    parse_fadt((const u8 *)(uintptr_t)acpi.fadt);
    if (!sdt_valid(acpi.dsdt, "DSDT")) {
        *why = "no valid DSDT";
        acpi.dsdt = 0;
        return -1;
    }
    acpi.s5_valid = acpi_parse_s5(acpi.dsdt, &acpi.s5_typa, &acpi.s5_typb);
    if (!acpi.madt) {
        *why = "no valid MADT";
        return -1;
    }
    return 0;
}

void acpi_isa_irq(u8 irq, u32 *gsi, u16 *flags)
{
    *gsi = irq;
    *flags = 0;
    for (unsigned i = 0; i < acpi.nr_isos; i++) {
        if (acpi.isos[i].bus == 0 && acpi.isos[i].source == irq) {
            *gsi = acpi.isos[i].gsi;
            *flags = acpi.isos[i].flags;
            return;
        }
    }
}

int gas_write(const struct acpi_gas *g, u64 value, unsigned width_bits)
{
    unsigned w = g->bit_width ? g->bit_width : width_bits;
    switch (g->space_id) {
    case 0: /* system memory */
        if (w <= 8)
            mmio_write8(g->address, (u8)value);
        else if (w <= 16)
            mmio_write16(g->address, (u16)value);
        else
            mmio_write32(g->address, (u32)value);
        return 0;
    case 1: /* system I/O */
        if (g->address > 0xFFFF)
            return -1;
        if (w <= 8)
            outb((u16)g->address, (u8)value);
        else if (w <= 16)
            outw((u16)g->address, (u16)value);
        else
            outl((u16)g->address, (u32)value);
        return 0;
    case 2: { /* PCI configuration space of bus 0: device[47:32] function[31:16] offset[15:0] */
        u8 dev = (u8)(g->address >> 32), fn = (u8)(g->address >> 16);
        u16 off = (u16)g->address;
        outl(0xCF8, 0x80000000u | ((u32)(dev & 31) << 11) | ((u32)(fn & 7) << 8) | (off & 0xFC));
        if (w <= 8)
            outb((u16)(0xCFC + (off & 3)), (u8)value);
        else if (w <= 16)
            outw((u16)(0xCFC + (off & 2)), (u16)value);
        else
            outl(0xCFC, (u32)value);
        return 0;
    }
    default:
        return -1;
    }
}

static void wait_a_while(void)
{
    if (udelay(500000) < 0)
        for (volatile u32 i = 0; i < 500000; i++)
            cpu_relax();
}

NORETURN void acpi_poweroff(void)
{
    irq_disable();
    if (!acpi.fadt) {
        printk("poweroff: no FADT, cannot power off\n");
        halt_forever();
    }
    if ((acpi.fadt_flags & FADT_F_HW_REDUCED) && acpi.sleep_ctl.address) {
        if (!acpi.s5_valid) {
            printk("poweroff: no \\_S5_ package in the DSDT\n");
            halt_forever();
        }
        gas_write(&acpi.sleep_ctl, (u64)(((acpi.s5_typa & 7u) << 2) | (1u << 5)), 8);
    } else if (acpi.pm1a_cnt.address) {
        if (!acpi.s5_valid) {
            printk("poweroff: no \\_S5_ package in the DSDT\n");
            halt_forever();
        }
        gas_write(&acpi.pm1a_cnt, ((u64)acpi.s5_typa << 10) | (1u << 13), 16);
        if (acpi.pm1b_cnt.address)
            gas_write(&acpi.pm1b_cnt, ((u64)acpi.s5_typb << 10) | (1u << 13), 16);
    } else {
        printk("poweroff: FADT has neither PM1a_CNT nor SLEEP_CONTROL_REG\n");
        halt_forever();
    }
    wait_a_while();
    printk("poweroff: still running after the S5 write\n");
    halt_forever();
}

void acpi_reset(void)
{
    irq_disable();
    if ((acpi.fadt_flags & FADT_F_RESET_REG_SUP) && acpi.reset_reg.address) {
        printk("reset: RESET_REG space=%u addr=0x%lx value=0x%x\n", acpi.reset_reg.space_id,
               acpi.reset_reg.address, acpi.reset_value);
        gas_write(&acpi.reset_reg, acpi.reset_value, 8);
        wait_a_while();
        printk("reset: RESET_REG had no effect, trying the i8042\n");
    } else {
        printk("reset: i8042\n");
    }
    outb(0x64, 0xFE);
    wait_a_while();
}
