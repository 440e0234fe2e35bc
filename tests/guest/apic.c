/* landlord test guest: local APIC and IOAPIC helpers. */
#include "guest.h"

u64 lapic_base = 0xFEE00000;

u32 lapic_read(u32 reg) { return mmio_read32(lapic_base + reg); }
void lapic_write(u32 reg, u32 v) { mmio_write32(lapic_base + reg, v); }
u32 lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }
void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

static void wrmsr(u32 msr, u64 v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

void lapic_init(void)
{
    u64 base = rdmsr(0x1B);
    if (!(base & (1u << 11))) {
        printk("lapic: globally disabled in IA32_APIC_BASE (0x%lx), enabling\n", base);
        wrmsr(0x1B, base | (1u << 11));
    }
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);   /* software enable */
    lapic_write(LAPIC_LVT_ERROR, 1u << 16);         /* masked */
    lapic_write(LAPIC_ESR, 0);
}

int lapic_send_ipi(u32 dest, u32 icr_lo)
{
    lapic_write(LAPIC_ICR_HI, dest << 24);
    lapic_write(LAPIC_ICR_LO, icr_lo);
    for (unsigned i = 0; i < 100000; i++)
        if (!(lapic_read(LAPIC_ICR_LO) & (1u << 12)))
            return 0;
    return -1;
}

void lapic_timer_stop(void)
{
    lapic_write(LAPIC_LVT_TIMER, 1u << 16);
    lapic_write(LAPIC_TIMER_INIT, 0);
}

u64 lapic_timer_hz_div16(void)
{
    lapic_write(LAPIC_TIMER_DIV, 0x3);                /* divide by 16 */
    lapic_write(LAPIC_LVT_TIMER, 1u << 16);           /* one-shot, masked */
    lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFFu);
    int r = udelay(10000);
    u32 cur = lapic_read(LAPIC_TIMER_CUR);
    lapic_timer_stop();
    if (r < 0)
        return 0;
    return (u64)(0xFFFFFFFFu - cur) * 100;
}

void lapic_timer_periodic(u8 vector, u32 initial_count)
{
    lapic_write(LAPIC_TIMER_DIV, 0x3);                /* divide by 16 */
    lapic_write(LAPIC_LVT_TIMER, (1u << 17) | vector); /* periodic, unmasked */
    lapic_write(LAPIC_TIMER_INIT, initial_count);
}

u32 ioapic_read(u64 base, u32 reg)
{
    mmio_write32(base, reg);
    return mmio_read32(base + 0x10);
}

void ioapic_write(u64 base, u32 reg, u32 v)
{
    mmio_write32(base, reg);
    mmio_write32(base + 0x10, v);
}

static const struct madt_ioapic *ioapic_for_gsi(u32 gsi)
{
    for (unsigned i = 0; i < acpi.nr_ioapics; i++) {
        const struct madt_ioapic *io = &acpi.ioapics[i];
        if (gsi >= io->gsi_base && gsi < io->gsi_base + io->nr_pins)
            return io;
    }
    return 0;
}

int ioapic_route_gsi(u32 gsi, u8 vector, u32 dest, u16 mps_flags, int isa_default)
{
    const struct madt_ioapic *io = ioapic_for_gsi(gsi);
    if (!io)
        return -1;
    u32 pin = gsi - io->gsi_base;
    u32 pol = mps_flags & 3, trig = (mps_flags >> 2) & 3;
    /* "conforms to the bus": ISA is edge/active-high, PCI level/active-low */
    int active_low = pol == 3 || (pol == 0 && !isa_default);
    int level = trig == 3 || (trig == 0 && !isa_default);
    u32 lo = vector | ((u32)active_low << 13) | ((u32)level << 15);
    ioapic_write(io->addr, 0x10 + 2 * pin, lo | (1u << 16));   /* masked while changing */
    ioapic_write(io->addr, 0x11 + 2 * pin, dest << 24);
    ioapic_write(io->addr, 0x10 + 2 * pin, lo);
    return 0;
}

void ioapic_mask_gsi(u32 gsi)
{
    const struct madt_ioapic *io = ioapic_for_gsi(gsi);
    if (!io)
        return;
    u32 pin = gsi - io->gsi_base;
    ioapic_write(io->addr, 0x10 + 2 * pin, 1u << 16);
}
