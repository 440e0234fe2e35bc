/* landlord test guest: running code at CPL 3 (user mode).
 *
 * Why: on a host whose /dev/kvm is KVM's software PVM backend, guest code at
 * CPL 0 that is not PVM-enlightened runs in KVM's instruction emulator (~1.5
 * million instructions/s), while guest user mode runs natively.  A hot loop
 * that only touches memory, MMIO and ports can run at CPL 3 instead.
 *
 * How (see run_user in entry.S): GDT 0x20 / 0x28 are DPL 3 data / 64-bit
 * code, 0x30 a 64-bit TSS whose RSP0 run_user points at its own stack frame;
 * the identity map has U/S set everywhere; IRETQ enters fn at CPL 3 with
 * IF 0 (no interrupt is taken while there: they stay pending until the
 * caller's RFLAGS come back) and IOPL 0.  fn returns into a UD2 at
 * user_exit_ud2; isr_dispatch (irq.c) sees that #UD from CPL 3 and calls
 * user_resume, which returns fn's value from run_user at CPL 0.  Any other
 * exception at CPL 3 is reported like one at CPL 0 (TEST FAIL).
 *
 * What fn may do: memory and MMIO (RDTSC too).  Not port I/O, CLI/STI, HLT
 * or anything else privileged: PVM ignores IOPL 3 at CPL 3 (IN and CLI #GP
 * there), so the guest keeps IOPL 0 everywhere.  user_kcall(fn, arg) runs
 * fn(arg) at CPL 0 (a UD2 at user_kcall_ud2 that isr_dispatch answers);
 * printk, test_pass and test_fail use it by themselves at CPL 3.
 *
 * test=cpl3-speed times the same loop at CPL 0 and at CPL 3 (TSC, calibrated
 * against the PIT): cpl0_iters= / cpl3_iters= (defaults 100000 / 100000000),
 * prints cpl0_ns_per_iter_x1000=, cpl3_ns_per_iter_x1000=, cpl3_speedup=. */
#include "virtio.h"   /* cmdline_u64 */

extern u64 gdt_tss[2];
extern u8 tss64[104];

/* In .noinit: never read before written. */
static u8 user_stack[16384] __attribute__((aligned(16), section(".noinit")));

static int user_ready;

/* Writes the TSS descriptor (type 9: available 64-bit TSS, so this also
 * works again after a guest reset that kept the busy one) and loads TR. */
void user_mode_init(void)
{
    if (user_ready)
        return;
    u64 base = (u64)(uintptr_t)tss64, limit = sizeof(tss64) - 1;
    memset(tss64, 0, sizeof(tss64));
    *(u16 *)(tss64 + 102) = (u16)sizeof(tss64);   /* I/O map base past the limit: no bitmap */
    gdt_tss[0] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ull << 40) |
                 (((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56);
    gdt_tss[1] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(0x30) : "memory");
    user_ready = 1;
}

u64 run_user_asm(u64 (*fn)(void *), void *arg, void *stack_top);

u64 run_user(u64 (*fn)(void *), void *arg)
{
    user_mode_init();
    return run_user_asm(fn, arg, user_stack + sizeof(user_stack));
}

int in_user_mode(void)
{
    u16 cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return (cs & 3) == 3;
}

/* ---------------------------------------------------------- cpl3-speed */

/* The timed loop: a dependent multiply-add chain the compiler cannot fold. */
static u64 spin(void *arg)
{
    u64 n = (u64)(uintptr_t)arg, x = 1;
    for (u64 i = 0; i < n; i++) {
        x = x * 3 + i;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

struct spin_timed {
    u64 n, ticks, result;
};

static u64 spin_timed(void *arg)
{
    struct spin_timed *s = arg;
    u64 t0 = rdtsc();
    s->result = spin((void *)(uintptr_t)s->n);
    s->ticks = rdtsc() - t0;
    return s->result;
}

static u64 ps_per_iter(u64 ticks, u64 n, u64 tsc_hz)
{
    /* ticks / n / tsc_hz seconds, in picoseconds (= ns * 1000) */
    if (!n || !tsc_hz)
        return 0;
    return ticks * 1000000ull / n * 1000000ull / tsc_hz;
}

static void test_cpl3_speed(void)
{
    u64 n0 = cmdline_u64("cpl0_iters", 100000), n3 = cmdline_u64("cpl3_iters", 100000000);
    u64 tsc_hz = tsc_hz_pit();
    printk("tsc_hz=%lu\n", tsc_hz);

    struct spin_timed k = { n0, 0, 0 };
    spin_timed(&k);
    printk("cpl0_iters=%lu cpl0_us=%lu\n", n0, tsc_hz ? k.ticks * 1000000 / tsc_hz : 0);

    /* a short CPL 3 run first: if user mode were emulated too, the long one
     * would take minutes */
    struct spin_timed u = { n0, 0, 0 };
    u64 r = run_user(spin_timed, &u);
    if (r != k.result || u.result != k.result)
        test_fail("CPL 3 loop returned 0x%lx (0x%lx), CPL 0 loop 0x%lx", r, u.result, k.result);
    printk("cpl3_short_iters=%lu cpl3_short_us=%lu\n", n0, tsc_hz ? u.ticks * 1000000 / tsc_hz : 0);
    if (u.ticks * 10 < k.ticks) {
        u.n = n3;
        run_user(spin_timed, &u);
    } else {
        printk("cpl3: not faster at CPL 3; skipping the long run\n");
        n3 = n0;
    }
    u64 p0 = ps_per_iter(k.ticks, n0, tsc_hz), p3 = ps_per_iter(u.ticks, n3, tsc_hz);
    printk("cpl3_iters=%lu cpl3_us=%lu\n", n3, tsc_hz ? u.ticks * 1000000 / tsc_hz : 0);
    printk("cpl0_ns_per_iter_x1000=%lu\n", p0);
    printk("cpl3_ns_per_iter_x1000=%lu\n", p3);
    printk("cpl3_speedup=%lu\n", p3 ? p0 / p3 : 0);
    test_pass();
}

const struct guest_test guest_tests_user[] = {
    { "cpl3-speed", test_cpl3_speed },
};
const unsigned guest_tests_user_count = ARRAY_SIZE(guest_tests_user);
