/* landlord test guest: the tests, selected with test=NAME on the command line,
 * and their table (which also lists those of tests_platform.c, tests_events.c
 * and the virtio files). */
#include "guest.h"

extern char __image_start[], __image_end[];

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
void test_acpi(void);              /* tests_platform.c */
void test_mptable(void);
void test_smp(void);
void test_echo(void);              /* tests_events.c */
void test_powerbutton(void);
void test_ctrlaltdel(void);
void test_pit_irq(void);

const struct guest_test guest_tests[] = {
    { "hello", test_hello },
    { "cmdline", test_cmdline },
    { "e820", test_e820 },
    { "acpi", test_acpi },
    { "mptable", test_mptable },
    { "smp", test_smp },
    { "timer", test_timer },
    { "pit-irq", test_pit_irq },
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
