/* landlord test guest: the tests, selected with test=NAME on the command line. */
#include "guest.h"

extern char __image_start[], __image_end[];

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

/* ------------------------------------------------------------------ hello */

static void test_hello(void)
{
    printk("hello from landlord test guest\n");
    printk("boot=%s\n", boot_entry);
    test_pass();
}

/* ---------------------------------------------------------------- cmdline */

static void test_cmdline(void)
{
    printk("cmdline=%s\n", cmdline());
    test_pass();
}

/* ------------------------------------------------------------------- e820 */

static void test_e820(void)
{
    unsigned n = e820_count();
    u64 ram = 0, prev_end = 0;
    int sorted = 1;
    printk("e820_entries=%u\n", n);
    for (unsigned i = 0; i < n; i++) {
        const struct e820_entry *e = e820_get(i);
        printk("e820: 0x%lx 0x%lx %u\n", e->addr, e->size, e->type);
        if (e->type == 1)
            ram += e->size;
        if (!e->size)
            test_fail("e820 entry %u has size 0", i);
        if (e->addr + e->size < e->addr)
            test_fail("e820 entry %u wraps around", i);
        if (i && e->addr < prev_end)
            sorted = 0;
        prev_end = e->addr + e->size;
    }
    printk("ram_total=%lu\n", ram);
    if (!n)
        test_fail("empty e820 table");
    if (!sorted)
        test_fail("e820 table is not sorted or has overlapping entries");
    u64 img = (u64)(uintptr_t)__image_start, img_len = (u64)(__image_end - __image_start);
    if (!e820_is_ram(img, img_len))
        test_fail("the image [0x%lx, 0x%lx) is not inside e820 RAM", img, img + img_len);
    if (!e820_is_ram((u64)(uintptr_t)boot_params, 4096))
        test_fail("boot_params at %p is not in e820 RAM", boot_params);
    test_pass();
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

static void test_acpi(void)
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

static void test_mptable(void)
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

static void test_smp(void)
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

/* ------------------------------------------------------------------ timer */

static volatile u32 timer_ticks;

static void timer_isr(struct irq_frame *f)
{
    (void)f;
    timer_ticks++;
    lapic_eoi();
}

static void test_timer(void)
{
    lapic_init();
    u64 hz = lapic_timer_hz_div16();
    u32 initial = 100000;
    if (hz) {
        printk("lapic_timer_hz_div16=%lu\n", hz);
        initial = (u32)(hz / 1000);   /* 1 ms period */
        if (initial < 1000)
            initial = 1000;
    } else {
        printk("lapic_timer_hz_div16=unknown (PIT delay failed)\n");
    }
    printk("timer_initial_count=%u\n", initial);
    irq_set_handler(VEC_TIMER, timer_isr);
    lapic_timer_periodic(VEC_TIMER, initial);
    irq_enable();
    /* about 2 s of PIT time (5 ticks need ~5 ms) */
    for (int i = 0; i < 2000 && timer_ticks < 5; i++)
        udelay(1000);
    irq_disable();
    lapic_timer_stop();
    u32 t = timer_ticks;
    if (t < 5)
        test_fail("only %u LAPIC timer interrupts", t);
    printk("ticks=5\n");
    test_pass();
}

/* -------------------------------------------------------------------- pci */

static void test_pci(void)
{
    int host_bridge = 0;
    unsigned found = 0;
    for (u8 dev = 0; dev < 32; dev++) {
        u8 nfn = 1;
        for (u8 fn = 0; fn < nfn; fn++) {
            u32 id = pci_cfg_read32(0, dev, fn, 0x00);
            if ((id & 0xFFFF) == 0xFFFF)
                continue;
            u32 cls = pci_cfg_read32(0, dev, fn, 0x08) >> 8;
            u32 hdr = (pci_cfg_read32(0, dev, fn, 0x0C) >> 16) & 0xFF;
            if (fn == 0 && (hdr & 0x80))
                nfn = 8;
            printk("pci: 00:%02x.%u %04x:%04x class=%06x\n", dev, fn, id & 0xFFFF, id >> 16,
                   cls);
            found++;
            if (dev == 0 && fn == 0 && (cls >> 8) == 0x0600)
                host_bridge = 1;
        }
    }
    printk("pci_devices=%u\n", found);
    if (!host_bridge)
        test_fail("00:00.0 is not a host bridge (class 0600)");
    test_pass();
}

/* -------------------------------------------------------------------- rtc */

static u8 cmos_read(u8 reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static int rtc_wait_uip(void)
{
    for (unsigned i = 0; i < 100000; i++)
        if (!(cmos_read(0x0A) & 0x80))
            return 0;
    return -1;
}

static u8 bcd(u8 v) { return (u8)((v >> 4) * 10 + (v & 0x0F)); }

static void test_rtc(void)
{
    u8 t[7], u[7];
    static const u8 regs[7] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32 };
    u8 century_reg = acpi.century_reg ? acpi.century_reg : 0;
    int stable = 0;
    for (int tries = 0; tries < 5 && !stable; tries++) {
        if (rtc_wait_uip() < 0)
            test_fail("RTC update-in-progress never cleared");
        for (int i = 0; i < 7; i++)
            t[i] = (i == 6 && !century_reg) ? 0 : cmos_read(i == 6 ? century_reg : regs[i]);
        if (rtc_wait_uip() < 0)
            test_fail("RTC update-in-progress never cleared");
        for (int i = 0; i < 7; i++)
            u[i] = (i == 6 && !century_reg) ? 0 : cmos_read(i == 6 ? century_reg : regs[i]);
        stable = !memcmp(t, u, sizeof(t));
    }
    if (!stable)
        test_fail("RTC time kept changing between reads");
    u8 regb = cmos_read(0x0B);
    printk("rtc_regb=0x%02x (%s, %s)\n", regb, (regb & 4) ? "binary" : "bcd",
           (regb & 2) ? "24h" : "12h");
    int pm = 0;
    if (!(regb & 2)) {
        pm = t[2] & 0x80;
        t[2] &= 0x7F;
    }
    if (!(regb & 4))
        for (int i = 0; i < 7; i++)
            t[i] = bcd(t[i]);
    unsigned hour = t[2];
    if (!(regb & 2)) {
        if (hour == 12)
            hour = 0;
        if (pm)
            hour += 12;
    }
    unsigned year = century_reg && t[6] ? t[6] * 100u + t[5] : 2000u + t[5];
    printk("rtc=%04u-%02u-%02u %02u:%02u:%02u\n", year, t[4], t[3], hour, t[1], t[0]);
    if (t[0] > 59 || t[1] > 59 || hour > 23 || t[3] < 1 || t[3] > 31 || t[4] < 1 || t[4] > 12)
        test_fail("RTC fields out of range");
    test_pass();
}

/* -------------------------------------------------------------- exceptions */

static volatile u32 ud_count;

static void ud_handler(struct irq_frame *f)
{
    ud_count++;
    f->rip += 2;   /* skip the ud2 */
}

static void test_exception(void)
{
    irq_set_handler(6, ud_handler);
    __asm__ volatile("ud2" ::: "memory");
    __asm__ volatile("ud2" ::: "memory");
    irq_set_handler(6, 0);
    printk("ud_handled=%u\n", ud_count);
    if (ud_count != 2)
        test_fail("expected 2 #UD, got %u", ud_count);
    test_pass();
}

/* Always fails, through the unexpected-exception path: for harness self-checks. */
static void test_fail_selftest(void)
{
    printk("raising an unexpected #UD\n");
    __asm__ volatile("ud2" ::: "memory");
}

/* -------------------------------------------------------------- exit cost */

/*
 * For the exit-cost benchmark (bench/run.sh): count=N guest writes to a
 * device register that a monitor handles in user space, then power off. The
 * benchmark times whole runs with N=0 and N large and divides; the guest
 * does no timing of its own.
 */
static u64 exit_count(void)
{
    char buf[24];
    u64 n = 1000;
    if (cmdline_get("count", buf, sizeof(buf)) && !parse_u64(buf, &n))
        test_fail("bad count=%s on the command line", buf);
    return n;
}

/* Port I/O: the 16550's scratch register (COM1 + 7), plain storage in every monitor. */
static void test_exit_io(void)
{
    u64 n = exit_count();
    for (u64 i = 0; i < n; i++)
        outb(COM1 + 7, (u8)i);
    printk("exits=%lu port=0x%x\n", n, COM1 + 7);
    test_pass();
}

/*
 * MMIO: a 32-bit write to guest-physical addr= (default 0xf0000000), which
 * is neither RAM nor a device in landlord or QEMU (microvm, pc, q35), so
 * each write exits to the monitor's user space and is dropped there.
 */
static void test_exit_mmio(void)
{
    u64 n = exit_count(), addr = 0xf0000000;
    char buf[24];
    if (cmdline_get("addr", buf, sizeof(buf)) &&
        (!parse_u64(buf, &addr) || addr >= 0x100000000ull || (addr & 3)))
        test_fail("bad addr=%s (a 4-byte aligned address below 4 GiB)", buf);
    if (e820_is_ram(addr, 4))
        test_fail("addr=0x%lx is RAM, not an exit", addr);
    for (u64 i = 0; i < n; i++)
        mmio_write32(addr, (u32)i);
    printk("exits=%lu addr=0x%lx\n", n, addr);
    test_pass();
}

/* --------------------------------------------------------- power and reset */

/* Lots of console output: lines=N (default 20000) numbered lines of 64
 * bytes, then power off.  For a console client that never reads: the guest
 * must finish anyway.  Each line goes out with one rep outsb, without
 * polling LSR (the monitor's UART sends at once, so THR is always empty):
 * half the exits of printk. */
static void test_chatter(void)
{
    char buf[24], line[80];
    u64 lines = 20000;

    if (cmdline_get("lines", buf, sizeof(buf)) && !parse_u64(buf, &lines))
        test_fail("bad lines=%s on the command line", buf);
    for (u64 i = 0; i < lines; i++) {
        int n = snprintk(line, sizeof(line),
                         "chatter %08lu abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLM\r\n", i);
        const char *p = line;
        u64 cnt = (u64)n;

        __asm__ volatile("rep outsb" : "+S"(p), "+c"(cnt) : "d"((u16)COM1) : "memory");
    }
    test_pass();
}

static void test_poweroff(void) { test_pass(); }

static void test_reboot(void)
{
    printk("rebooting\n");
    acpi_reset();
    test_fail("still running after the reset request");
}

static void test_triplefault(void)
{
    printk("triple faulting\n");
    load_idt_limit0_and_ud2();
}

void test_virtio_net_echo(void);   /* virtio_net.c */
void test_virtio_vsock(void);      /* virtio_vsock.c */
void test_echo(void);              /* tests_events.c */
void test_powerbutton(void);
void test_ctrlaltdel(void);

const struct guest_test guest_tests[] = {
    { "hello", test_hello },
    { "cmdline", test_cmdline },
    { "e820", test_e820 },
    { "acpi", test_acpi },
    { "mptable", test_mptable },
    { "smp", test_smp },
    { "timer", test_timer },
    { "pci", test_pci },
    { "rtc", test_rtc },
    { "echo", test_echo },
    { "powerbutton", test_powerbutton },
    { "ctrlaltdel", test_ctrlaltdel },
    { "poweroff", test_poweroff },
    { "chatter", test_chatter },
    { "reboot", test_reboot },
    { "triplefault", test_triplefault },
    { "exception", test_exception },
    { "fail", test_fail_selftest },
    { "virtio-blk", test_virtio_blk },
    { "virtio-blk-ro", test_virtio_blk_ro },
    { "virtio-blk-read", test_virtio_blk_read },
    { "virtio-rng", test_virtio_rng },
    { "virtio-console", test_virtio_console },
    { "virtio-hostile", test_virtio_hostile },
    { "virtio-net-echo", test_virtio_net_echo },
    { "virtio-vsock", test_virtio_vsock },
    { "exit-io", test_exit_io },
    { "exit-mmio", test_exit_mmio },
};
const unsigned guest_tests_count = ARRAY_SIZE(guest_tests);
