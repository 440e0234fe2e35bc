/* landlord test guest: freestanding x86-64 runtime shared declarations. */
#ifndef LANDLORD_TEST_GUEST_H
#define LANDLORD_TEST_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define NORETURN __attribute__((noreturn))
#define PACKED __attribute__((packed))
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_CPUS 256

/* ---- port and memory-mapped I/O ---- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
    u8 v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline u16 inw(u16 port)
{
    u16 v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline u32 inl(u16 port)
{
    u32 v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline u8 mmio_read8(u64 a) { return *(volatile u8 *)(uintptr_t)a; }
static inline u16 mmio_read16(u64 a) { return *(volatile u16 *)(uintptr_t)a; }
static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)(uintptr_t)a; }
static inline void mmio_write8(u64 a, u8 v) { *(volatile u8 *)(uintptr_t)a = v; }
static inline void mmio_write16(u64 a, u16 v) { *(volatile u16 *)(uintptr_t)a = v; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)(uintptr_t)a = v; }

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
/* sti; hlt back to back: no interrupt can slip in between the two. */
static inline void irq_enable_and_halt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

static inline u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((u64)hi << 32) | lo;
}
static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}
static inline u64 read_cr3(void)
{
    u64 v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

/* ---- string helpers (runtime.c) ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* ---- serial console and formatting (runtime.c) ---- */
#define COM1 0x3F8
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
void vprintk(const char *fmt, va_list ap);
void printk(const char *fmt, ...) PRINTF_LIKE(1, 2);
int snprintk(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* ---- boot parameters and command line (runtime.c) ---- */
struct e820_entry {
    u64 addr;
    u64 size;
    u32 type;
} PACKED;

#define BP_ACPI_RSDP_ADDR 0x070
#define BP_E820_ENTRIES 0x1E8
#define BP_SETUP_HDR 0x1F1
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2D0
#define BP_E820_MAX 128

extern const u8 *boot_params;
/* "linux64" (64-bit boot protocol, RSI = boot_params) or "pvh" (hvm_start_info,
 * translated into a zero page of the guest's own). */
extern const char *boot_entry;
const char *cmdline(void);
/* Copies the value of "key=" into buf (NUL-terminated); returns 1 if present. */
int cmdline_get(const char *key, char *buf, size_t size);
/* Parses a decimal or 0x-hex number; returns 1 on success. */
int parse_u64(const char *s, u64 *out);
unsigned e820_count(void);
const struct e820_entry *e820_get(unsigned i);
/* Returns 1 when [addr, addr+size) lies entirely inside one e820 RAM entry. */
int e820_is_ram(u64 addr, u64 size);

/* ---- test results ---- */
extern const char *current_test;
NORETURN void test_pass(void);
NORETURN void test_fail(const char *fmt, ...) PRINTF_LIKE(1, 2);
NORETURN void halt_forever(void);

/* ---- interrupts (irq.c) ---- */
struct irq_frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector, error;
    u64 rip, cs, rflags, rsp, ss;
};
typedef void (*irq_handler_t)(struct irq_frame *f);
void idt_init(void);
void idt_load(void);
void irq_set_handler(u8 vector, irq_handler_t h);
void pic_disable(void);

#define VEC_TIMER 0x40
#define VEC_UART 0x41
#define VEC_WATCHDOG 0x42
#define VEC_SCI 0x43
#define VEC_KBD 0x44
#define VEC_PIT 0x45
#define VEC_SPURIOUS 0xFF

/* ---- timekeeping via PIT channel 2 (irq.c) ---- */
/* Busy-waits for us microseconds; returns 0 on success, -1 if the PIT never counted down. */
int udelay(u32 us);
/* TSC ticks per second, timed against the PIT (best of three 10 ms runs); 0 on failure. */
u64 tsc_hz_pit(void);

/* ---- local APIC / IOAPIC (apic.c) ---- */
#define LAPIC_ID 0x020
#define LAPIC_VER 0x030
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0B0
#define LAPIC_SVR 0x0F0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0

extern u64 lapic_base;
u32 lapic_read(u32 reg);
void lapic_write(u32 reg, u32 v);
u32 lapic_id(void);
void lapic_init(void);
void lapic_eoi(void);
/* Sends an IPI; returns 0 once the delivery-status bit clears, -1 on timeout. */
int lapic_send_ipi(u32 dest_apic_id, u32 icr_lo);
/* Measures LAPIC timer ticks per second at divide 16 against the PIT; 0 on failure. */
u64 lapic_timer_hz_div16(void);
void lapic_timer_periodic(u8 vector, u32 initial_count);
void lapic_timer_stop(void);

u32 ioapic_read(u64 base, u32 reg);
void ioapic_write(u64 base, u32 reg, u32 v);
/* Routes a GSI to vector on dest; flags are MADT MPS INTI flags (0 = bus default ISA: edge/high). */
int ioapic_route_gsi(u32 gsi, u8 vector, u32 dest_apic_id, u16 mps_flags, int isa_default);
void ioapic_mask_gsi(u32 gsi);

/* ---- ACPI (acpi.c) ---- */
struct acpi_sdt {
    char sig[4];
    u32 length;
    u8 revision;
    u8 checksum;
    char oem_id[6];
    char oem_table_id[8];
    u32 oem_revision;
    u32 creator_id;
    u32 creator_revision;
} PACKED;

struct acpi_gas {
    u8 space_id;
    u8 bit_width;
    u8 bit_offset;
    u8 access_size;
    u64 address;
} PACKED;

struct madt_ioapic {
    u32 id;
    u64 addr;
    u32 gsi_base;
    u32 nr_pins;
};

struct madt_iso {
    u8 bus, source;
    u32 gsi;
    u16 flags;
};

struct acpi_info {
    u64 rsdp;
    u64 xsdt;      /* 0 if only an RSDT exists */
    u64 rsdt;
    u64 fadt;
    u64 madt;
    u64 dsdt;
    int s5_valid;
    u8 s5_typa, s5_typb;
    u32 fadt_flags;
    struct acpi_gas pm1a_cnt, pm1b_cnt, sleep_ctl, reset_reg;
    u8 reset_value;
    u8 century_reg;
    u64 lapic_addr;
    unsigned nr_cpus;                 /* enabled processor entries */
    u32 cpu_apic_ids[MAX_CPUS];
    unsigned nr_ioapics;
    struct madt_ioapic ioapics[8];
    unsigned nr_isos;
    struct madt_iso isos[16];
};

#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED (1u << 20)

extern struct acpi_info acpi;
u8 acpi_checksum(const void *p, size_t len);
int acpi_rsdp_valid(u64 addr);
u64 acpi_scan_rsdp(void);
/* Finds tables and fills `acpi`; returns 0 or -1 (then *why says why). */
int acpi_init(const char **why);
/* Number of tables listed by the XSDT (or RSDT) and the address of the i-th one. */
unsigned acpi_table_count(void);
u64 acpi_table_addr(unsigned i);
int acpi_parse_s5(u64 dsdt, u8 *typa, u8 *typb);
/* Looks up ISA IRQ irq in the MADT overrides: gives its GSI and MPS flags. */
void acpi_isa_irq(u8 irq, u32 *gsi, u16 *flags);
NORETURN void acpi_poweroff(void);
void acpi_reset(void);
int gas_write(const struct acpi_gas *g, u64 value, unsigned width_bits);

/* ---- PCI (runtime.c) ---- */
u32 pci_cfg_read32(u8 bus, u8 dev, u8 fn, u8 off);

/* ---- tests ---- */
struct guest_test {
    const char *name;
    void (*run)(void);
};
extern const struct guest_test guest_tests[];
extern const unsigned guest_tests_count;

/* virtio tests (virtio_blk.c, virtio_tests.c; the drivers: virtio.h) */
void test_virtio_blk(void);
void test_virtio_blk_ro(void);
void test_virtio_blk_read(void);
void test_virtio_rng(void);
void test_virtio_console(void);
void test_virtio_hostile(void);

/* ---- user mode (user.c, run_user in entry.S) ---- */
/* Runs fn(arg) at CPL 3 (IOPL 3, interrupts off, on a stack of its own) and
 * returns its result at CPL 0.  See user.c. */
u64 run_user(u64 (*fn)(void *), void *arg);
/* 1 while running at CPL 3 (inside run_user). */
int in_user_mode(void);
/* From CPL 3: runs fn(arg) at CPL 0 and returns its result.  printk,
 * test_pass and test_fail use it when called at CPL 3. */
u64 user_kcall(u64 (*fn)(void *), void *arg);
extern char user_kcall_ud2[];
void user_mode_init(void);
/* The UD2 that ends a run_user call, and the way back to its caller. */
extern char user_exit_ud2[];
NORETURN void user_resume(u64 result);
extern const struct guest_test guest_tests_user[];
extern const unsigned guest_tests_user_count;

/* ---- symbols from entry.S ---- */
extern char isr_stubs[];
extern char ap_tramp_start[], ap_tramp_end[];
extern volatile u32 ap_cr3;
extern volatile u32 ap_seq;
extern volatile u32 ap_online;
extern volatile u32 ap_apic_ids[MAX_CPUS];
extern volatile u64 ap_lapic_base;
void load_idt_limit0_and_ud2(void) NORETURN;

#endif
