/* landlord test guest: the tests of what the platform describes -- the ACPI
 * tables, the MP table, and SMP start-up of every CPU the MADT lists.  Each
 * also checks its CPU count against cpus=N when the command line gives it. */
#include "guest.h"

/* Optional cpus=N on the command line. */
static int expected_cpus(u64 *n)
{
    char buf[24];
    if (!cmdline_get("cpus", buf, sizeof(buf)))
        return 0;
    if (!parse_u64(buf, n))
        test_fail("bad cpus=%s on the command line", buf);
    return 1;
}

/* ------------------------------------------------------------------- acpi */

static int check_table(u64 addr, const char *want_sig)
{
    const struct acpi_sdt *h = (const struct acpi_sdt *)(uintptr_t)addr;
    if (!addr || addr >= 0x100000000ull) {
        printk("acpi: %s at 0x%lx: bad address\n", want_sig ? want_sig : "table", addr);
        return 0;
    }
    char sig[5];
    memcpy(sig, h->sig, 4);
    sig[4] = 0;
    for (int i = 0; i < 4; i++)
        if (sig[i] < 0x20 || sig[i] > 0x7E)
            sig[i] = '?';
    if (want_sig && memcmp(sig, want_sig, 4)) {
        printk("acpi: %s at 0x%lx: signature is \"%s\"\n", want_sig, addr, sig);
        return 0;
    }
    if (h->length < sizeof(*h) || h->length > (1u << 20)) {
        printk("acpi: %s len=%u bad length\n", sig, h->length);
        return 0;
    }
    u8 sum = acpi_checksum(h, h->length);
    if (sum) {
        printk("acpi: %s len=%u bad checksum (sum 0x%02x)\n", sig, h->length, sum);
        return 0;
    }
    printk("acpi: %s len=%u ok\n", sig, h->length);
    return 1;
}

void test_acpi(void)
{
    int ok = 1;
    u64 bp_rsdp = *(const u64 *)(boot_params + BP_ACPI_RSDP_ADDR);
    u64 scan_rsdp = acpi_scan_rsdp();
    printk("rsdp_boot_params=0x%lx\n", bp_rsdp);
    printk("rsdp_scan=0x%lx\n", scan_rsdp);
    if (!bp_rsdp || !acpi_rsdp_valid(bp_rsdp)) {
        printk("acpi: boot_params.acpi_rsdp_addr does not point at a valid RSDP\n");
        ok = 0;
    }
    if (!scan_rsdp) {
        printk("acpi: no valid RSDP in 0xE0000-0xFFFFF\n");
        ok = 0;
    }
    u64 rsdp = acpi_rsdp_valid(bp_rsdp) ? bp_rsdp : scan_rsdp;
    if (!rsdp)
        test_fail("no RSDP");
    const u8 *r = (const u8 *)(uintptr_t)rsdp;
    printk("acpi: RSDP len=%u ok (revision %u)\n", r[15] >= 2 ? *(const u32 *)(r + 20) : 20,
           r[15]);
    if (r[15] < 2)
        printk("acpi: RSDP revision %u has no XSDT\n", r[15]);

    u64 root = acpi.xsdt ? acpi.xsdt : acpi.rsdt;
    if (!acpi.xsdt) {
        printk("acpi: no valid XSDT\n");
        ok = 0;
    }
    if (!root || !check_table(root, acpi.xsdt ? "XSDT" : "RSDT"))
        test_fail("no valid XSDT/RSDT");
    int have_facp = 0, have_apic = 0;
    for (unsigned i = 0; i < acpi_table_count(); i++) {
        u64 t = acpi_table_addr(i);
        if (!check_table(t, 0)) {
            ok = 0;
            continue;
        }
        const struct acpi_sdt *h = (const struct acpi_sdt *)(uintptr_t)t;
        have_facp |= !memcmp(h->sig, "FACP", 4);
        have_apic |= !memcmp(h->sig, "APIC", 4);
    }
    int have_dsdt = acpi.fadt && check_table(acpi.dsdt, "DSDT");
    if (!have_facp || !have_apic || !have_dsdt)
        test_fail("missing table:%s%s%s", have_facp ? "" : " FACP", have_apic ? "" : " APIC",
                  have_dsdt ? "" : " DSDT");

    const u8 *f = (const u8 *)(uintptr_t)acpi.fadt;
    printk("fadt_revision=%u.%u\n", f[8], ((const struct acpi_sdt *)f)->length >= 132 ? f[131] : 0);
    printk("fadt_flags=0x%x\n", acpi.fadt_flags);
    printk("sci_int=%u\n", *(const u16 *)(f + 46));
    printk("pm1a_cnt=space%u:0x%lx\n", acpi.pm1a_cnt.space_id, acpi.pm1a_cnt.address);
    if (acpi.fadt_flags & FADT_F_HW_REDUCED)
        printk("sleep_control=space%u:0x%lx\n", acpi.sleep_ctl.space_id, acpi.sleep_ctl.address);
    if (acpi.fadt_flags & FADT_F_RESET_REG_SUP)
        printk("reset_reg=space%u:0x%lx value=0x%x\n", acpi.reset_reg.space_id,
               acpi.reset_reg.address, acpi.reset_value);
    printk("lapic=0x%lx\n", acpi.lapic_addr);
    printk("madt_cpus=%u\n", acpi.nr_cpus);
    for (unsigned i = 0; i < acpi.nr_ioapics; i++)
        printk("ioapic=0x%lx id=%u gsi_base=%u pins=%u\n", acpi.ioapics[i].addr,
               acpi.ioapics[i].id, acpi.ioapics[i].gsi_base, acpi.ioapics[i].nr_pins);
    for (unsigned i = 0; i < acpi.nr_isos; i++)
        printk("irq_override: isa %u -> gsi %u flags 0x%x\n", acpi.isos[i].source,
               acpi.isos[i].gsi, acpi.isos[i].flags);
    if (acpi.s5_valid)
        printk("s5=%u\n", acpi.s5_typa);
    else
        printk("s5=missing\n");

    if (!ok)
        test_fail("bad RSDP, XSDT or table checksum (see above)");
    if (!acpi.s5_valid)
        test_fail("no \\_S5_ package in the DSDT");
    if (!acpi.nr_cpus)
        test_fail("the MADT lists no enabled CPU");
    if (!acpi.nr_ioapics)
        test_fail("the MADT lists no IOAPIC");
    if (!(acpi.fadt_flags & FADT_F_HW_REDUCED) && !acpi.pm1a_cnt.address)
        test_fail("the FADT has no PM1a control block");
    u64 want;
    if (expected_cpus(&want) && want != acpi.nr_cpus)
        test_fail("madt_cpus=%u but cpus=%lu", acpi.nr_cpus, want);
    test_pass();
}

/* ---------------------------------------------------------------- mptable */

static u64 mp_scan(u64 start, u64 len)
{
    for (u64 a = start; a + 16 <= start + len; a += 16) {
        const u8 *p = (const u8 *)(uintptr_t)a;
        if (*(const u32 *)p != 0x5F504D5Fu)   /* "_MP_" */
            continue;
        u8 n = p[8];
        if (n == 0 || acpi_checksum(p, 16u * n)) {
            printk("mptable: \"_MP_\" at 0x%lx has a bad checksum\n", a);
            continue;
        }
        return a;
    }
    return 0;
}

void test_mptable(void)
{
    u64 ebda = (u64)(*(const u16 *)(uintptr_t)0x40E) << 4;
    u64 fp = 0;
    printk("ebda=0x%lx\n", ebda);
    if (ebda >= 0x80000 && ebda < 0xA0000)
        fp = mp_scan(ebda, 1024);
    if (!fp)
        fp = mp_scan(0x9FC00, 0x400);
    if (!fp)
        fp = mp_scan(0xF0000, 0x10000);
    if (!fp)
        test_fail("no MP floating pointer structure");
    const u8 *p = (const u8 *)(uintptr_t)fp;
    u32 cfg = *(const u32 *)(p + 4);
    printk("mp_floating=0x%lx spec=1.%u config=0x%x feature1=%u\n", fp, p[9], cfg, p[11]);
    if (!cfg)
        test_fail("MP default configuration %u: no config table", p[11]);
    const u8 *c = (const u8 *)(uintptr_t)cfg;
    if (memcmp(c, "PCMP", 4))
        test_fail("no \"PCMP\" signature at 0x%x", cfg);
    u16 len = *(const u16 *)(c + 4);
    u16 count = *(const u16 *)(c + 34);
    if (len < 44 || acpi_checksum(c, len))
        test_fail("PCMP table length %u: bad checksum", len);
    printk("mp_config_len=%u entries=%u lapic=0x%x\n", len, count, *(const u32 *)(c + 36));
    unsigned cpus = 0, buses = 0, ioapics = 0, intsrcs = 0;
    u32 off = 44;
    for (unsigned i = 0; i < count; i++) {
        if (off >= len)
            test_fail("entry %u runs past the table", i);
        u8 type = c[off];
        u32 elen = type == 0 ? 20 : 8;
        if (type > 4)
            test_fail("unknown entry type %u at offset %u", type, off);
        if (off + elen > len)
            test_fail("entry %u runs past the table", i);
        if (type == 0) {
            if (c[off + 3] & 1) {
                cpus++;
                printk("mp: cpu apic_id=%u%s\n", c[off + 1], (c[off + 3] & 2) ? " bsp" : "");
            }
        } else if (type == 1) {
            buses++;
        } else if (type == 2) {
            if (c[off + 3] & 1)
                ioapics++;
        } else if (type == 3) {
            intsrcs++;
        }
        off += elen;
    }
    printk("mp_cpus=%u\n", cpus);
    printk("mp_buses=%u mp_ioapics=%u mp_intsrcs=%u\n", buses, ioapics, intsrcs);
    if (!cpus)
        test_fail("no processor entries");
    if (acpi.madt && cpus != acpi.nr_cpus)
        test_fail("mp_cpus=%u but the MADT lists %u", cpus, acpi.nr_cpus);
    u64 want;
    if (expected_cpus(&want) && want != cpus)
        test_fail("mp_cpus=%u but cpus=%lu", cpus, want);
    test_pass();
}

/* -------------------------------------------------------------------- smp */

static u64 pick_trampoline_page(void)
{
    u64 cl = *(const u32 *)(boot_params + BP_CMD_LINE_PTR);
    u64 cl_end = cl + strlen(cmdline()) + 1;
    u64 bp = (u64)(uintptr_t)boot_params;
    for (u64 page = 0x10000; page < 0x9F000; page += 0x1000) {
        if (!e820_is_ram(page, 0x1000))
            continue;
        if (cl && cl < page + 0x1000 && cl_end > page)
            continue;
        if (bp < page + 0x1000 && bp + 0x1000 > page)
            continue;
        return page;
    }
    return 0;
}

static int ap_checked_in(u32 apic_id)
{
    u32 n = ap_online;   /* each AP records its ID before it counts itself online */
    for (u32 j = 0; j < n && j < MAX_CPUS; j++)
        if (ap_apic_ids[j] == apic_id)
            return 1;
    return 0;
}

void test_smp(void)
{
    if (!acpi.madt)
        test_fail("no MADT");
    lapic_init();
    u32 self = lapic_id();
    unsigned madt_cpus = acpi.nr_cpus;
    printk("madt_cpus=%u\n", madt_cpus);
    printk("bsp_apic_id=%u\n", self);

    u64 page = pick_trampoline_page();
    if (!page)
        test_fail("no free RAM page below 1 MiB for the trampoline");
    size_t tlen = (size_t)(ap_tramp_end - ap_tramp_start);
    memcpy((void *)(uintptr_t)page, ap_tramp_start, tlen);
    printk("trampoline=0x%lx vector=0x%lx\n", page, page >> 12);
    ap_cr3 = (u32)read_cr3();
    barrier();

    /* INIT every AP (assert, then de-assert for old parts), one 10 ms wait for all */
    unsigned started = 0;
    for (unsigned i = 0; i < madt_cpus; i++) {
        u32 id = acpi.cpu_apic_ids[i];
        if (id == self)
            continue;
        lapic_write(LAPIC_ESR, 0);
        if (lapic_send_ipi(id, 0x0000C500) < 0)
            printk("smp: INIT to apic %u: delivery status stuck\n", id);
        lapic_send_ipi(id, 0x00008500);
    }
    udelay(10000);
    /* then SIPI each in turn, a second SIPI only if the first did not take */
    for (unsigned i = 0; i < madt_cpus; i++) {
        u32 id = acpi.cpu_apic_ids[i];
        if (id == self)
            continue;
        int online = 0, sipis = 0;
        for (; sipis < 2 && !online; sipis++) {
            if (lapic_send_ipi(id, 0x00004600 | (u32)(page >> 12)) < 0)
                printk("smp: SIPI to apic %u: delivery status stuck\n", id);
            /* 200 us is the architectural wait; allow the slow emulator much more. */
            for (int w = 0; w < (sipis ? 2000 : 200) && !online; w++) {
                udelay(sipis ? 1000 : 100);
                online = ap_checked_in(id);
            }
        }
        lapic_write(LAPIC_ESR, 0);   /* latch the error status */
        printk("smp: apic %u %s after %d SIPI(s), esr=0x%x\n", id,
               online ? "online" : "did not start", sipis, lapic_read(LAPIC_ESR));
        started++;
    }
    /* settle: count what checked in */
    for (int w = 0; w < 100 && ap_online < started; w++)
        udelay(1000);
    unsigned online = 1 + ap_online;
    for (unsigned i = 0; i < ap_online && i < MAX_CPUS; i++)
        printk("ap: slot %u apic_id=%u\n", i, ap_apic_ids[i]);
    printk("cpus_online=%u\n", online);
    if (online != madt_cpus)
        test_fail("cpus_online=%u but the MADT lists %u", online, madt_cpus);
    u64 want;
    if (expected_cpus(&want) && want != online)
        test_fail("cpus_online=%u but cpus=%lu", online, want);
    test_pass();
}
