/* landlord test guest: IDT, exception reporting, legacy PIC, PIT delays. */
#include "guest.h"

struct idt_gate {
    u16 off_lo;
    u16 sel;
    u8 ist;
    u8 type;
    u16 off_mid;
    u32 off_hi;
    u32 zero;
} PACKED;

extern struct idt_gate idt[256];
extern const u8 idt_ptr[];
static irq_handler_t handlers[256];

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS",
    "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "22", "23", "24", "25", "26",
    "27", "28", "#HV", "#VC", "31",
};

void idt_load(void) { __asm__ volatile("lidt %0" : : "m"(*(const u8(*)[10])idt_ptr)); }

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        u64 a = (u64)(uintptr_t)(isr_stubs + 16 * v);
        idt[v].off_lo = (u16)a;
        idt[v].sel = 0x10;
        idt[v].ist = 0;
        idt[v].type = 0x8E;   /* present, DPL 0, 64-bit interrupt gate */
        idt[v].off_mid = (u16)(a >> 16);
        idt[v].off_hi = (u32)(a >> 32);
        idt[v].zero = 0;
    }
    idt_load();
}

void irq_set_handler(u8 vector, irq_handler_t h) { handlers[vector] = h; }

void isr_dispatch(struct irq_frame *f)
{
    u64 v = f->vector & 0xFF;
    if (v == 6 && (f->cs & 3) == 3) {
        /* run_user's function returned into its UD2: back to its caller */
        if (f->rip == (u64)(uintptr_t)user_exit_ud2)
            user_resume(f->rax);
        /* user_kcall(fn, arg): fn(arg) here at CPL 0, result in RAX, resume after the UD2 */
        if (f->rip == (u64)(uintptr_t)user_kcall_ud2) {
            f->rax = ((u64(*)(void *))(uintptr_t)f->rdi)((void *)(uintptr_t)f->rsi);
            f->rip += 2;
            return;
        }
    }
    if (handlers[v]) {
        handlers[v](f);
        return;
    }
    if (v == VEC_SPURIOUS)
        return;   /* spurious LAPIC interrupt: no EOI */
    if (v < 32) {
        u64 cr2 = 0;
        if (v == 14)
            __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        test_fail("unexpected exception %lu (%s) rip=0x%lx err=0x%lx cr2=0x%lx rsp=0x%lx", v,
                  exc_names[v], f->rip, f->error, cr2, f->rsp);
    }
    test_fail("unexpected interrupt vector 0x%lx rip=0x%lx", v, f->rip);
}

/* Remaps the 8259 pair to vectors 0x20-0x2F and masks every line. */
void pic_disable(void)
{
    outb(0x20, 0x11);
    outb(0xA0, 0x11);
    outb(0x21, 0x20);
    outb(0xA1, 0x28);
    outb(0x21, 0x04);
    outb(0xA1, 0x02);
    outb(0x21, 0x01);
    outb(0xA1, 0x01);
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
}

/*
 * PIT channel 2 in mode 0, gated through port 0x61; OUT2 (port 0x61 bit 5)
 * rises when the count runs out. If the PIT never counts (or reports done
 * before it could have), falls back to a spin loop and returns -1.
 */
#define PIT_HZ 1193182u

int udelay(u32 us)
{
    int ok = 0;
    while (us) {
        u32 chunk = us > 50000 ? 50000 : us;
        us -= chunk;
        u32 count = (u32)(((u64)chunk * PIT_HZ) / 1000000u);
        if (count < 1)
            count = 1;
        u8 p61 = inb(0x61);
        outb(0x61, (u8)((p61 & ~0x02) | 0x01));   /* gate 2 on, speaker off */
        outb(0x43, 0xB0);                          /* channel 2, lo/hi, mode 0, binary */
        outb(0x42, (u8)count);
        outb(0x42, (u8)(count >> 8));
        /* A port read takes well over 50 ns anywhere, so 20 polls per microsecond bound it. */
        u32 limit = chunk * 20 + 1000, i;
        for (i = 0; i < limit; i++)
            if (inb(0x61) & 0x20)
                break;
        if (i == limit || (i == 0 && chunk >= 1000)) {
            ok = -1;
            for (volatile u32 j = 0; j < chunk; j++)
                cpu_relax();
        }
    }
    return ok;
}

/* The TSC rate, timed against 10 ms of the PIT (udelay) three times; the
 * shortest wins, since a delayed udelay (a descheduled vCPU, emulated
 * polling) only ever makes the count larger.  0 if the PIT does not count. */
u64 tsc_hz_pit(void)
{
    u64 best = 0;
    for (int i = 0; i < 3; i++) {
        u64 t0 = rdtsc();
        if (udelay(10000) < 0)
            return 0;
        u64 hz = (rdtsc() - t0) * 100;
        if (!best || hz < best)
            best = hz;
    }
    return best;
}
