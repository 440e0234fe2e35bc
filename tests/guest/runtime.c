/* landlord test guest: serial console, formatting, boot parameters, main. */
#include "guest.h"

const u8 *boot_params;
const char *boot_entry = "?";
const char *current_test = "?";

/* ---------------------------------------------------------------- strings */

void *memset(void *d, int c, size_t n)
{
    void *ret = d;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return ret;
}

void *memcpy(void *d, const void *s, size_t n)
{
    void *ret = d;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            return (u8)a[i] < (u8)b[i] ? -1 : 1;
        if (!a[i])
            return 0;
    }
    return 0;
}

/* ----------------------------------------------------------------- serial */

#define UART_THR 0
#define UART_IER 1
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20

void serial_init(void)
{
    outb(COM1 + UART_IER, 0x00);     /* no interrupts */
    outb(COM1 + UART_LCR, 0x80);     /* DLAB */
    outb(COM1 + 0, 0x01);            /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + UART_LCR, 0x03);     /* 8N1 */
    outb(COM1 + UART_MCR, 0x03);     /* DTR | RTS */
    /* The FIFO control register is left alone: input that is already queued stays queued. */
}

void serial_putc(char c)
{
    /* Bounded wait: a UART that never reports THR empty must not hang the test. */
    for (unsigned i = 0; i < 100000; i++)
        if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
            break;
    outb(COM1 + UART_THR, (u8)c);
}

void serial_puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

/* ------------------------------------------------------------- formatting */

struct sink {
    char *buf;     /* NULL: serial */
    size_t size;
    size_t len;
};

static void sink_put(struct sink *k, char c)
{
    if (!k->buf) {
        serial_putc(c);   /* "\n" only: the harness reads lines from stdout */
    } else if (k->len + 1 < k->size) {
        k->buf[k->len] = c;
    }
    k->len++;
}

static void fmt_num(struct sink *k, u64 v, unsigned base, int upper, int neg, int width, int zero,
                    int left)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    int len = n + (neg ? 1 : 0);
    if (!left && !zero)
        for (; width > len; width--)
            sink_put(k, ' ');
    if (neg)
        sink_put(k, '-');
    if (!left && zero)
        for (; width > len; width--)
            sink_put(k, '0');
    while (n)
        sink_put(k, tmp[--n]);
    if (left)
        for (; width > len; width--)
            sink_put(k, ' ');
}

static void vformat(struct sink *k, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            sink_put(k, *fmt);
            continue;
        }
        fmt++;
        int zero = 0, left = 0, width = 0, lng = 0;
        for (;; fmt++) {
            if (*fmt == '0')
                zero = 1;
            else if (*fmt == '-')
                left = 1;
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            s64 v = lng ? va_arg(ap, s64) : va_arg(ap, int);
            u64 mag = v < 0 ? (u64)0 - (u64)v : (u64)v;
            fmt_num(k, mag, 10, 0, v < 0, width, zero, left);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            u64 v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned);
            fmt_num(k, v, *fmt == 'u' ? 10 : 16, *fmt == 'X', 0, width, zero, left);
            break;
        }
        case 'p':
            sink_put(k, '0');
            sink_put(k, 'x');
            fmt_num(k, (u64)(uintptr_t)va_arg(ap, void *), 16, 0, 0, width, zero, left);
            break;
        case 'c':
            sink_put(k, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int len = (int)strlen(s);
            if (!left)
                for (; width > len; width--)
                    sink_put(k, ' ');
            while (*s)
                sink_put(k, *s++);
            if (left)
                for (; width > len; width--)
                    sink_put(k, ' ');
            break;
        }
        case '%':
            sink_put(k, '%');
            break;
        case '\0':
            return;
        default:
            sink_put(k, '%');
            sink_put(k, *fmt);
            break;
        }
    }
}

static u64 kcall_puts(void *s)
{
    serial_puts(s);
    return 0;
}

void vprintk(const char *fmt, va_list ap)
{
    if (in_user_mode()) {   /* CPL 3 (run_user): format here, print at CPL 0 */
        char buf[512];
        struct sink k = { buf, sizeof(buf), 0 };
        vformat(&k, fmt, ap);
        buf[k.len < sizeof(buf) ? k.len : sizeof(buf) - 1] = '\0';
        user_kcall(kcall_puts, buf);
        return;
    }
    struct sink k = { 0, 0, 0 };
    vformat(&k, fmt, ap);
}

void printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
}

int snprintk(char *buf, size_t size, const char *fmt, ...)
{
    struct sink k = { buf, size, 0 };
    va_list ap;
    va_start(ap, fmt);
    vformat(&k, fmt, ap);
    va_end(ap);
    if (size)
        buf[k.len < size ? k.len : size - 1] = '\0';
    return (int)k.len;
}

/* ----------------------------------------------------- boot params, cmdline */

const char *cmdline(void)
{
    u32 p = *(const u32 *)(boot_params + BP_CMD_LINE_PTR);
    return p ? (const char *)(uintptr_t)p : "";
}

int cmdline_get(const char *key, char *buf, size_t size)
{
    const char *s = cmdline();
    size_t kl = strlen(key);
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        const char *w = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if ((size_t)(s - w) > kl && !strncmp(w, key, kl) && w[kl] == '=') {
            size_t n = (size_t)(s - w) - kl - 1;
            if (size) {
                if (n >= size)
                    n = size - 1;
                memcpy(buf, w + kl + 1, n);
                buf[n] = '\0';
            }
            return 1;
        }
    }
    return 0;
}

int parse_u64(const char *s, u64 *out)
{
    u64 v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return 0;
        v = v * base + d;
    }
    *out = v;
    return 1;
}

unsigned e820_count(void)
{
    unsigned n = boot_params[BP_E820_ENTRIES];
    return n > BP_E820_MAX ? BP_E820_MAX : n;
}

const struct e820_entry *e820_get(unsigned i)
{
    return (const struct e820_entry *)(boot_params + BP_E820_TABLE) + i;
}

int e820_is_ram(u64 addr, u64 size)
{
    for (unsigned i = 0; i < e820_count(); i++) {
        const struct e820_entry *e = e820_get(i);
        if (e->type == 1 && addr >= e->addr && addr + size <= e->addr + e->size)
            return 1;
    }
    return 0;
}

/* -------------------------------------------------------------------- PCI */

u32 pci_cfg_read32(u8 bus, u8 dev, u8 fn, u8 off)
{
    outl(0xCF8, 0x80000000u | ((u32)bus << 16) | ((u32)(dev & 31) << 11) |
                    ((u32)(fn & 7) << 8) | (off & 0xFC));
    return inl(0xCFC);
}

/* ---------------------------------------------------------------- results */

NORETURN void halt_forever(void)
{
    if (in_user_mode())   /* HLT would #GP at CPL 3 */
        for (;;)
            cpu_relax();
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* A verdict reached at CPL 3 (run_user) is given at CPL 0, through user_kcall. */
static char user_verdict[512];

static u64 kcall_pass(void *arg)
{
    (void)arg;
    test_pass();
}

static u64 kcall_fail(void *msg)
{
    test_fail("%s", (const char *)msg);
}

NORETURN void test_pass(void)
{
    if (in_user_mode()) {
        user_kcall(kcall_pass, 0);
        halt_forever();
    }
    irq_disable();
    printk("TEST PASS %s\n", current_test);
    acpi_poweroff();
}

NORETURN void test_fail(const char *fmt, ...)
{
    if (in_user_mode()) {
        struct sink k = { user_verdict, sizeof(user_verdict), 0 };
        va_list ap;
        va_start(ap, fmt);
        vformat(&k, fmt, ap);
        va_end(ap);
        user_verdict[k.len < sizeof(user_verdict) ? k.len : sizeof(user_verdict) - 1] = '\0';
        user_kcall(kcall_fail, user_verdict);
        halt_forever();
    }
    irq_disable();
    printk("TEST FAIL %s: ", current_test);
    va_list ap;
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
    printk("\n");
    acpi_poweroff();
}

/* ------------------------------------------------------------------- PVH */

/*
 * Entered through PVH, the guest gets Xen's struct hvm_start_info instead of
 * a Linux zero page. It is translated into a zero page of our own (only the
 * fields the runtime reads: cmd_line_ptr, e820, acpi_rsdp_addr), with the
 * command line copied next to it, so the rest of the runtime and every test
 * see one boot contract, and nothing below 1 MiB stays in use.
 */
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {           /* xen/include/public/arch-x86/hvm/start_info.h */
    u32 magic, version, flags, nr_modules;
    u64 modlist_paddr, cmdline_paddr, rsdp_paddr;
    u64 memmap_paddr;             /* version >= 1 */
    u32 memmap_entries, reserved;
} PACKED;

struct hvm_memmap_entry {
    u64 addr, size;
    u32 type, reserved;
} PACKED;

static u8 pvh_zero_page[4096] __attribute__((aligned(4096)));
static char pvh_cmdline[4096];

static const char *pvh_to_zero_page(const struct hvm_start_info *si)
{
    if (si->magic != HVM_START_MAGIC)
        return "hvm_start_info has a bad magic";
    if (si->cmdline_paddr && si->cmdline_paddr < 0x100000000ull) {
        const char *c = (const char *)(uintptr_t)si->cmdline_paddr;
        size_t n = 0;
        while (n + 1 < sizeof(pvh_cmdline) && c[n]) {
            pvh_cmdline[n] = c[n];
            n++;
        }
        pvh_cmdline[n] = '\0';
    }
    *(u32 *)(pvh_zero_page + BP_CMD_LINE_PTR) = (u32)(uintptr_t)pvh_cmdline;
    *(u64 *)(pvh_zero_page + BP_ACPI_RSDP_ADDR) = si->rsdp_paddr;
    if (si->version >= 1 && si->memmap_paddr && si->memmap_paddr < 0x100000000ull) {
        const struct hvm_memmap_entry *m =
            (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
        struct e820_entry *e = (struct e820_entry *)(pvh_zero_page + BP_E820_TABLE);
        unsigned n = si->memmap_entries < BP_E820_MAX ? si->memmap_entries : BP_E820_MAX;
        for (unsigned i = 0; i < n; i++) {
            e[i].addr = m[i].addr;
            e[i].size = m[i].size;
            e[i].type = m[i].type;
        }
        pvh_zero_page[BP_E820_ENTRIES] = (u8)n;
    }
    return 0;
}

/* ------------------------------------------------------------------- main */

static const char *acpi_error;

void guest_main(const u8 *bp, u32 pvh);

void guest_main(const u8 *bp, u32 pvh)
{
    const char *pvh_error = 0;

    if (pvh) {
        boot_entry = "pvh";
        pvh_error = pvh_to_zero_page((const struct hvm_start_info *)bp);
        boot_params = pvh_zero_page;
    } else {
        boot_entry = "linux64";
        boot_params = bp;
    }
    serial_init();
    if (pvh_error) {
        current_test = "(boot)";
        test_fail("%s", pvh_error);
    }
    idt_init();
    pic_disable();
    if (acpi_init(&acpi_error) < 0)
        printk("acpi: %s\n", acpi_error);

    char name[64];
    if (!cmdline_get("test", name, sizeof(name)) || !name[0]) {
        current_test = "(none)";
        test_fail("no test= on the command line (cmdline \"%s\")", cmdline());
    }
    current_test = name;
    for (unsigned i = 0; i < guest_tests_count; i++) {
        if (!strncmp(guest_tests[i].name, name, sizeof(name))) {
            guest_tests[i].run();
            test_fail("test returned without a verdict");
        }
    }
    for (unsigned i = 0; i < guest_tests_user_count; i++) {
        if (!strncmp(guest_tests_user[i].name, name, sizeof(name))) {
            guest_tests_user[i].run();
            test_fail("test returned without a verdict");
        }
    }
    test_fail("unknown test \"%s\"", name);
}
