/* landlord test guest: the tests that wait for an event from the host and
 * take it by interrupt -- a line on the serial input (echo), the ACPI power
 * button (SCI), Ctrl+Alt+Del on the PS/2 keyboard (IRQ 1) -- with a 10 Hz
 * watchdog so that a missing event fails the test instead of hanging it. */
#include "guest.h"

/* ------------------------------------------------------------------- echo */

static volatile u8 rx_buf[256];
static volatile u32 rx_head, rx_tail, uart_irqs, watchdog_ticks;

static void uart_isr(struct irq_frame *f)
{
    (void)f;
    uart_irqs++;
    (void)inb(COM1 + 2);                        /* IIR */
    for (int n = 0; n < 64 && (inb(COM1 + 5) & 1); n++) {
        u8 c = inb(COM1 + 0);
        if (rx_head - rx_tail < sizeof(rx_buf))
            rx_buf[rx_head++ % sizeof(rx_buf)] = c;
    }
    lapic_eoi();
}

static void watchdog_isr(struct irq_frame *f)
{
    (void)f;
    watchdog_ticks++;
    lapic_eoi();
}

/* The LAPIC timer at ~10 Hz counting watchdog_ticks, so a test that waits
 * for an interrupt from outside can give up after a bounded time. */
static void watchdog_start_10hz(void)
{
    u64 hz = lapic_timer_hz_div16();

    irq_set_handler(VEC_WATCHDOG, watchdog_isr);
    lapic_timer_periodic(VEC_WATCHDOG, hz ? (u32)(hz / 10) : 10000000u);
}

/* ISA IRQ irq → vector on this CPU, through the GSI and polarity/trigger
 * the MADT gives it; prints NAME_gsi= and the flags; returns the GSI. */
static u32 route_isa_irq(u8 irq, u8 vector, irq_handler_t isr, const char *name)
{
    u32 gsi;
    u16 flags;

    acpi_isa_irq(irq, &gsi, &flags);
    printk("%s_gsi=%u flags=0x%x\n", name, gsi, flags);
    irq_set_handler(vector, isr);
    if (ioapic_route_gsi(gsi, vector, lapic_id(), flags, 1) < 0)
        test_fail("no IOAPIC serves GSI %u", gsi);
    return gsi;
}

void test_echo(void)
{
    lapic_init();
    u32 gsi = route_isa_irq(4, VEC_UART, uart_isr, "uart");

    /* Watchdog: LAPIC timer at ~10 Hz; give up after ~60 s without a line. */
    watchdog_start_10hz();

    outb(COM1 + 4, 0x0B);   /* DTR | RTS | OUT2 (OUT2 gates the IRQ line on PCs) */
    outb(COM1 + 1, 0x01);   /* IER: received data available */
    printk("echo: waiting for a line on the serial input\n");

    char line[128];
    unsigned len = 0;
    int done = 0;
    while (!done) {
        irq_disable();
        while (rx_tail != rx_head) {
            char c = (char)rx_buf[rx_tail++ % sizeof(rx_buf)];
            if (c == '\n' || c == '\r') {
                if (len) {
                    done = 1;
                    break;
                }
                continue;
            }
            if (len < sizeof(line) - 1)
                line[len++] = c;
        }
        if (done)
            break;
        if (watchdog_ticks > 600) {
            outb(COM1 + 1, 0);
            test_fail("no complete line within 60 s (uart_irqs=%u, got %u chars)", uart_irqs,
                      len);
        }
        irq_enable_and_halt();
    }
    irq_disable();
    outb(COM1 + 1, 0);
    lapic_timer_stop();
    ioapic_mask_gsi(gsi);
    line[len] = '\0';
    printk("uart_irqs=%u\n", uart_irqs);
    printk("echo=%s\n", line);
    if (!uart_irqs)
        test_fail("no UART interrupt");
    test_pass();
}

/* ------------------------------------------------------------ powerbutton */

/*
 * The ACPI fixed power button: the PM1a event block (status in the first
 * half, enable in the second, PM1_EVT_LEN / 2 bytes each) and SCI_INT from
 * the FADT, the SCI's GSI and flags from the MADT overrides (default
 * level-triggered, active-high), routed through the IOAPIC. Waits for the
 * monitor to press the button (PWRBTN_STS, bit 8), clears it in the SCI
 * handler (write 1) and powers off.
 */
#define PM1_PWRBTN (1u << 8)

static struct acpi_gas pm1_sts_reg, pm1_en_reg;
static volatile u32 sci_irqs, pwrbtn_presses;
static volatile u16 pwrbtn_sts_after;

static u16 gas_read16(const struct acpi_gas *g)
{
    if (g->space_id == 1)
        return inw((u16)g->address);
    return mmio_read16(g->address);
}

static void gas_write16(const struct acpi_gas *g, u16 v)
{
    if (g->space_id == 1)
        outw((u16)g->address, v);
    else
        mmio_write16(g->address, v);
}

static void sci_isr(struct irq_frame *f)
{
    (void)f;
    sci_irqs++;
    u16 sts = gas_read16(&pm1_sts_reg);
    if (sts & PM1_PWRBTN) {
        gas_write16(&pm1_sts_reg, PM1_PWRBTN);   /* write 1 to clear */
        pwrbtn_sts_after = gas_read16(&pm1_sts_reg);
        pwrbtn_presses++;
        printk("power button pressed\n");
    }
    lapic_eoi();
}

void test_powerbutton(void)
{
    const u8 *f = (const u8 *)(uintptr_t)acpi.fadt;
    u32 flen = ((const struct acpi_sdt *)f)->length;
    if (flen < 89)
        test_fail("FADT too short (%u bytes) for PM1_EVT_LEN", flen);
    u16 sci_int = *(const u16 *)(f + 46);
    u32 smi_cmd = *(const u32 *)(f + 48);
    u8 acpi_enable = f[52];
    u8 evt_len = f[88];
    struct acpi_gas evt;
    memset(&evt, 0, sizeof(evt));
    evt.space_id = 1;
    evt.address = *(const u32 *)(f + 56);                /* PM1a_EVT_BLK */
    if (flen >= 160 && *(const u64 *)(f + 148 + 4)) {    /* X_PM1a_EVT_BLK */
        memcpy(&evt, f + 148, sizeof(evt));
        if (evt.bit_width && !evt_len)
            evt_len = (u8)(evt.bit_width / 8);
    }
    printk("pm1a_evt=space%u:0x%lx len=%u sci_int=%u\n", evt.space_id, evt.address, evt_len,
           sci_int);
    if (!evt.address)
        test_fail("the FADT has no PM1a_EVT_BLK");
    if (evt.space_id > 1 || (evt.space_id == 1 && evt.address > 0xFFFF))
        test_fail("PM1a_EVT_BLK in address space %u at 0x%lx: not supported", evt.space_id,
                  evt.address);
    if (evt_len < 4)
        test_fail("PM1_EVT_LEN=%u (at least 4)", evt_len);
    pm1_sts_reg = evt;
    pm1_en_reg = evt;
    pm1_en_reg.address = evt.address + evt_len / 2;

    /* ACPI mode: SCI_EN in PM1a_CNT, else ask the firmware through SMI_CMD. */
    if (acpi.pm1a_cnt.space_id == 1 && acpi.pm1a_cnt.address &&
        !(inw((u16)acpi.pm1a_cnt.address) & 1)) {
        if (!smi_cmd || !acpi_enable)
            test_fail("SCI_EN is clear and the FADT has no SMI_CMD/ACPI_ENABLE");
        outb((u16)smi_cmd, acpi_enable);
        for (unsigned i = 0; i < 100000 && !(inw((u16)acpi.pm1a_cnt.address) & 1); i++)
            cpu_relax();
        if (!(inw((u16)acpi.pm1a_cnt.address) & 1))
            test_fail("SCI_EN still clear after ACPI_ENABLE");
    }

    /* The SCI: an ISA IRQ, its override (if any) gives GSI and flags;
     * "conforms to the bus" means level-triggered, active-high here. */
    u32 gsi = sci_int;
    u16 flags = 0;
    if (sci_int < 16)
        acpi_isa_irq((u8)sci_int, &gsi, &flags);
    if ((flags & 3) == 0)
        flags |= 1;                 /* active-high */
    if (((flags >> 2) & 3) == 0)
        flags |= 3u << 2;           /* level-triggered */
    printk("sci_gsi=%u flags=0x%x (%s, %s)\n", gsi, flags,
           ((flags >> 2) & 3) == 1 ? "edge" : "level", (flags & 3) == 3 ? "low" : "high");

    lapic_init();
    irq_set_handler(VEC_SCI, sci_isr);
    if (ioapic_route_gsi(gsi, VEC_SCI, lapic_id(), flags, 1) < 0)
        test_fail("no IOAPIC serves GSI %u", gsi);

    /* Watchdog: LAPIC timer at ~10 Hz; give up after ~30 s without a press. */
    watchdog_start_10hz();

    gas_write16(&pm1_sts_reg, PM1_PWRBTN);                           /* stale press */
    gas_write16(&pm1_en_reg, (u16)(gas_read16(&pm1_en_reg) | PM1_PWRBTN));
    u16 en = gas_read16(&pm1_en_reg);
    printk("pm1a_en=0x%x\n", en);
    if (!(en & PM1_PWRBTN))
        test_fail("PWRBTN_EN does not stick (PM1a_EN=0x%x)", en);

    printk("waiting for power button\n");
    unsigned wakeups = 0;
    for (;;) {
        irq_disable();
        if (pwrbtn_presses)
            break;
        if (watchdog_ticks > 300 || ++wakeups > 2000000) {
            lapic_timer_stop();
            ioapic_mask_gsi(gsi);
            test_fail("no power button press within 30 s (sci_irqs=%u, PM1a_STS=0x%x)", sci_irqs,
                      gas_read16(&pm1_sts_reg));
        }
        irq_enable_and_halt();
    }
    irq_disable();
    lapic_timer_stop();
    ioapic_mask_gsi(gsi);
    gas_write16(&pm1_en_reg, (u16)(gas_read16(&pm1_en_reg) & ~PM1_PWRBTN));
    printk("sci_irqs=%u\n", sci_irqs);
    if (pwrbtn_sts_after & PM1_PWRBTN)
        test_fail("PWRBTN_STS still set after writing 1 to it (PM1a_STS=0x%x)", pwrbtn_sts_after);
    test_pass();
}

/* ------------------------------------------------------------- ctrlaltdel */

/*
 * The i8042 keyboard: polled, the controller is set up (keyboard interface
 * on, translation on, interrupt off) and the keyboard reset and identified;
 * then ISA IRQ 1 → GSI (MADT overrides) → IOAPIC → vector 0x44, the
 * keyboard interrupt on, and the monitor is awaited to press Ctrl+Alt+Del.
 * The IRQ handler takes every byte the controller has; the test passes on
 * exactly the set-1 make and break codes of left Ctrl, left Alt, Delete.
 */
#define I8042_DATA 0x60
#define I8042_STATUS 0x64
#define I8042_CTR_POLLED 0x64   /* translate, AUX disabled, system flag */
#define I8042_CTR_KBDINT 0x01

static const u8 cad_set1[8] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
static volatile u8 kbd_bytes[16];
static volatile u32 kbd_count, kbd_irqs;

static void kbd_isr(struct irq_frame *f)
{
    (void)f;
    kbd_irqs++;
    for (int n = 0; n < 16 && (inb(I8042_STATUS) & 1); n++) {
        u8 b = inb(I8042_DATA);
        if (kbd_count < sizeof(kbd_bytes))
            kbd_bytes[kbd_count] = b;
        kbd_count++;
    }
    lapic_eoi();
}

/* The next byte from the controller, polled; -1 if none comes. */
static int kbd_poll(void)
{
    for (u32 i = 0; i < 100000; i++)
        if (inb(I8042_STATUS) & 1)
            return inb(I8042_DATA);
    return -1;
}

static void kbd_expect(const char *what, u8 cmd_port, u8 cmd, const u8 *want, unsigned n)
{
    outb(cmd_port, cmd);
    for (unsigned i = 0; i < n; i++) {
        int b = kbd_poll();
        if (b != want[i])
            test_fail("%s: byte %u is %d, expected 0x%x", what, i, b, want[i]);
    }
}

static void kbd_write_ctr(u8 ctr)
{
    outb(I8042_STATUS, 0x60);
    outb(I8042_DATA, ctr);
}

static void kbd_setup_polled(void)
{
    static const u8 reset[] = { 0xfa, 0xaa }, id[] = { 0xfa, 0xab, 0x41 }, selftest[] = { 0x55 };

    outb(I8042_STATUS, 0xad);                      /* keyboard interface off */
    for (int n = 0; n < 16 && (inb(I8042_STATUS) & 1); n++)
        (void)inb(I8042_DATA);
    if (inb(I8042_STATUS) & 1)
        test_fail("the i8042 output buffer does not drain");
    kbd_write_ctr(I8042_CTR_POLLED);
    kbd_expect("controller self-test", I8042_STATUS, 0xaa, selftest, 1);
    kbd_write_ctr(I8042_CTR_POLLED);               /* a self-test may reset it */
    outb(I8042_STATUS, 0xae);
    kbd_expect("keyboard reset", I8042_DATA, 0xff, reset, 2);
    kbd_expect("keyboard id", I8042_DATA, 0xf2, id, 3);
    printk("kbd_id=0xab41\n");
}

void test_ctrlaltdel(void)
{
    lapic_init();
    kbd_setup_polled();

    u32 gsi = route_isa_irq(1, VEC_KBD, kbd_isr, "kbd");
    watchdog_start_10hz();
    kbd_write_ctr(I8042_CTR_POLLED | I8042_CTR_KBDINT);

    printk("waiting for ctrl-alt-del\n");
    u32 settle = 0;
    for (;;) {
        irq_disable();
        /* After the 8th byte, ~0.3 s more to catch any extra byte. */
        if (kbd_count >= sizeof(cad_set1) && !settle)
            settle = watchdog_ticks + 3;
        if (settle && watchdog_ticks >= settle)
            break;
        if (watchdog_ticks > 300) {
            lapic_timer_stop();
            ioapic_mask_gsi(gsi);
            test_fail("no ctrl-alt-del within 30 s (kbd_irqs=%u, bytes=%u)", kbd_irqs,
                      kbd_count);
        }
        irq_enable_and_halt();
    }
    irq_disable();
    lapic_timer_stop();
    ioapic_mask_gsi(gsi);
    kbd_write_ctr(I8042_CTR_POLLED);
    u32 n = kbd_count;
    printk("kbd_irqs=%u kbd_bytes=%u\n", kbd_irqs, n);
    printk("scancodes=");
    for (u32 i = 0; i < n && i < sizeof(kbd_bytes); i++)
        printk("%s%02x", i ? " " : "", kbd_bytes[i]);
    printk("\n");
    if (n != sizeof(cad_set1))
        test_fail("%u bytes from the keyboard, expected %u", n, (unsigned)sizeof(cad_set1));
    for (u32 i = 0; i < n; i++)
        if (kbd_bytes[i] != cad_set1[i])
            test_fail("byte %u is 0x%x, expected 0x%x", i, kbd_bytes[i], cad_set1[i]);
    printk("ctrl-alt-del received\n");
    test_pass();
}

/* ---------------------------------------------------------------- pit-irq */

/* The PIT's channel 0 through ISA IRQ 0 (the MADT's mapping of it to a GSI):
 * in mode 2 (rate generator) at ~1 kHz, about 50 interrupts in 50 ms of
 * channel 2's time (udelay); in mode 0 (one-shot), exactly one.  Loose
 * bounds: the point is that the interrupts come, periodic ones keep coming,
 * a one-shot comes once, and nothing floods. */
static volatile u32 pit_irqs;

static void pit_isr(struct irq_frame *f)
{
    (void)f;
    pit_irqs++;
    lapic_eoi();
}

static void pit_channel0(u8 mode, u16 count)
{
    outb(0x43, (u8)(0x30 | (mode << 1)));   /* channel 0, lo/hi byte, binary */
    outb(0x40, (u8)count);
    outb(0x40, (u8)(count >> 8));
}

void test_pit_irq(void)
{
    lapic_init();
    route_isa_irq(0, VEC_PIT, pit_isr, "pit");

    pit_channel0(2, 1193);                  /* 1193182 / 1193: ~1000 Hz */
    irq_enable();
    int r = udelay(50000);
    irq_disable();
    u32 periodic = pit_irqs;
    printk("pit_periodic_irqs=%u\n", periodic);
    if (r < 0)
        test_fail("PIT channel 2 does not count (udelay)");
    if (periodic < 10 || periodic > 100)
        test_fail("%u periodic IRQ 0s in 50 ms at 1 kHz", periodic);

    /* One-shot in 30 ms.  A periodic tick may already be pending in the
     * irqchip: let it in during the first 3 ms, then count (a vCPU held
     * up for 27 ms in between would be needed to lose the one-shot). */
    pit_channel0(0, 35795);
    irq_enable();
    udelay(3000);
    irq_disable();
    pit_irqs = 0;
    irq_enable();
    udelay(57000);
    irq_disable();
    u32 oneshot = pit_irqs;
    printk("pit_oneshot_irqs=%u\n", oneshot);
    if (oneshot != 1)
        test_fail("%u IRQ 0s from a one-shot count, want 1", oneshot);

    outb(0x43, 0x30);
    test_pass();
}
