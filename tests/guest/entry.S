/*
 * landlord test guest: entry points, GDT, page tables, interrupt stubs and
 * the AP start-up trampoline.
 *
 * Image layout (linked at 0x100000, see guest.ld):
 *   0x100000  32-bit stub (cli; hlt) - never meant to run
 *   0x100100  kernel_info ("LToP") referenced by the bzImage header
 *   0x100200  _start64: the 64-bit entry (Linux boot protocol, RSI = boot_params)
 * and, anywhere in .text, pvh_start32: the PVH entry named by the Xen ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY (32-bit protected mode, paging off, EBX = the
 * physical address of struct hvm_start_info). QEMU boots the ELF that way,
 * and so does landlord (it prefers the note when an ELF has one).
 */

#define KERNEL_CS 0x10
#define KERNEL_DS 0x18
#define CODE32_CS 0x08
#define USER_DS 0x20                /* DPL 3 data (user SS), RPL 3: 0x23 */
#define USER_CS 0x28                /* DPL 3 64-bit code, RPL 3: 0x2b */
#define TSS_SEL 0x30                /* 64-bit TSS (two slots), filled by user_mode_init() */
#define MAX_CPUS 256
#define AP_STACK_SIZE 1024

    .section .text.boot32, "ax"
    .code32
    .globl _start32
_start32:
    cli
1:  hlt
    jmp 1b

    /* Linux boot protocol 2.15 kernel_info, at image offset 0x100. */
    .org 0x100
    .globl kernel_info
kernel_info:
    .ascii "LToP"
    .long kernel_info_end - kernel_info   /* size */
    .long kernel_info_end - kernel_info   /* size_total */
    .long 0                               /* setup_type_max */
kernel_info_end:

    /* The PVH entry note (ELF PT_NOTE, see guest.ld). QEMU reads an 8-byte
     * descriptor from a 64-bit ELF, landlord and Xen read at least 4 bytes. */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4                               /* namesz: "Xen\0" */
    .long 8                               /* descsz */
    .long 18                              /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .quad pvh_start32
    .balign 4

    .section .text.entry64, "ax"
    .code64
    .globl _start64
_start64:
    cli
    cld
    mov %rsi, %r15                  /* boot_params; kept in a register until the stack exists */
    xor %r14d, %r14d                /* entered through the Linux 64-bit boot protocol */
start64_common:

    /* Zero .bss (the stacks live in .noinit and need no clearing). */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    shr $3, %ecx
    xor %eax, %eax
    rep stosq

    mov $bsp_stack_top, %rsp

    lgdt gdt_ptr
    mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    pushq $KERNEL_CS
    pushq $1f
    lretq
1:
    /* The identity map below has U/S set everywhere (for run_user), so SMEP
     * and SMAP, should the monitor have left them on, must be off. */
    mov %cr4, %rax
    and $~0x300000, %rax            /* CR4.SMEP (20), CR4.SMAP (21) */
    mov %rax, %cr4
    /* Our own identity map of the first 4 GiB (see below). */
    mov $pml4, %eax
    mov %rax, %cr3

    mov %r15, %rdi
    mov %r14d, %esi
    call guest_main
2:  cli
    hlt
    jmp 2b

/*
 * PVH entry: 32-bit protected mode, paging off, EBX = hvm_start_info. Loads
 * our GDT, switches to long mode on the static identity map and joins the
 * 64-bit path with R15 = the start info and R14 = 1 (no stack is needed).
 */
    .code32
    .globl pvh_start32
pvh_start32:
    cli
    cld
    mov %ebx, %esi                  /* start info; survives into long mode */
    lgdt gdt_ptr                    /* 6-byte form: the base's low 32 bits */
    ljmp $CODE32_CS, $1f
1:  mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %cr4, %eax
    or $0x20, %eax                  /* PAE */
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx           /* EFER */
    rdmsr
    or $0x100, %eax                 /* LME */
    wrmsr
    mov %cr0, %eax
    and $0x9fffffff, %eax           /* clear CD and NW */
    or $0x80000001, %eax            /* PG | PE */
    mov %eax, %cr0
    ljmp $KERNEL_CS, $pvh_start64

    .code64
pvh_start64:
    mov %esi, %r15d                 /* zero-extends */
    mov $1, %r14d                   /* entered through PVH */
    jmp start64_common

    .text
    .code64
/* Exception/interrupt stubs: 256 of them, 16 bytes apart. */
    .balign 16
    .globl isr_stubs
isr_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    /* the CPU pushed an error code */
    .else
    pushq $0
    .endif
    pushq $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call isr_dispatch
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp                   /* vector and error code */
    iretq

/* Loads an empty IDT and raises #UD: #UD -> #DF -> triple fault. */
    .globl load_idt_limit0_and_ud2
load_idt_limit0_and_ud2:
    cli
    lidt null_idt_ptr
    ud2
3:  hlt
    jmp 3b

/*
 * u64 run_user_asm(u64 (*fn)(void *), void *arg, void *user_stack_top)
 *
 * Runs fn(arg) at CPL 3 and returns what it returned (see user.c). Saves the
 * callee-saved registers and RFLAGS on this stack, points TSS.RSP0 just below
 * them (exceptions and interrupts taken at CPL 3 land there), and IRETQs to
 * user_trampoline at CPL 3 with IF 0 and IOPL 0: no port I/O, CLI or STI at
 * CPL 3 (KVM's PVM backend ignores IOPL 3 there and raises #GP anyway, so
 * IOPL 0 makes every host behave alike); user_kcall does those at CPL 0.
 * The way back: user_trampoline ends in UD2 at user_exit_ud2; isr_dispatch
 * recognises that #UD (CPL 3, that RIP) and calls user_resume(rax), which
 * drops the exception frame by reloading the RSP saved here.
 */
    .text
    .code64
    .globl run_user_asm, user_resume, user_exit_ud2
run_user_asm:
    pushfq
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, user_kernel_rsp
    mov %rsp, tss64 + 4             /* TSS.RSP0 */
    pushq $(USER_DS | 3)            /* SS */
    push %rdx                       /* RSP */
    pushfq
    pop %rax
    and $~0x7200, %rax              /* IF off, IOPL 0, NT off */
    push %rax                       /* RFLAGS */
    pushq $(USER_CS | 3)            /* CS */
    pushq $user_trampoline          /* RIP */
    iretq                           /* RDI = fn, RSI = arg go through */

user_trampoline:                    /* CPL 3; RSP = user_stack_top (16-aligned) */
    mov %rdi, %rax
    mov %rsi, %rdi
    call *%rax
user_exit_ud2:
    ud2                             /* -> #UD at CPL 3 -> isr_dispatch -> user_resume */
1:  jmp 1b

/* u64 user_kcall(u64 (*fn)(void *), void *arg): called at CPL 3, runs fn(arg)
 * at CPL 0 and returns its result (isr_dispatch does the call on the #UD and
 * resumes after the UD2).  For what user mode cannot do itself: the serial
 * console, verdicts. */
    .globl user_kcall, user_kcall_ud2
user_kcall:
user_kcall_ud2:
    ud2
    ret

user_resume:                        /* CPL 0, on the TSS.RSP0 stack; RDI = result */
    mov %rdi, %rax
    mov user_kernel_rsp, %rsp
    mov $KERNEL_DS, %ecx            /* the CPU nulled SS (and IRETQ DS/ES) on the way */
    mov %ecx, %ds
    mov %ecx, %es
    mov %ecx, %ss
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    popfq                           /* the caller's IF */
    ret

/*
 * AP start-up. The real-mode part is copied to a page below 1 MiB (the SIPI
 * vector page); it switches to protected mode and far-jumps into this image.
 */
    .section .rodata.tramp, "a"
    .code16
    .globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    lgdtl ap_tramp_gdtr - ap_tramp_start
    mov %cr0, %eax
    and $0x9fffffff, %eax           /* clear CD and NW */
    or $1, %eax                     /* PE */
    mov %eax, %cr0
    ljmpl $CODE32_CS, $ap_entry32
    .balign 8
ap_tramp_gdtr:
    .word gdt_end - gdt - 1
    .long gdt
ap_tramp_end:

    .text
    .code32
ap_entry32:
    mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %cr4, %eax
    or $0x20, %eax                  /* PAE */
    mov %eax, %cr4
    mov ap_cr3, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx           /* EFER */
    rdmsr
    or $0x100, %eax                 /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax            /* PG */
    mov %eax, %cr0
    ljmp $KERNEL_CS, $ap_entry64

    .code64
ap_entry64:
    mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov $1, %eax
    lock xadd %eax, ap_seq          /* eax = this AP's slot */
    cmp $MAX_CPUS, %eax
    jae 5f
    /* a private stack, in case an exception handler has to run here */
    mov %eax, %ebx
    shl $10, %ebx                   /* * AP_STACK_SIZE */
    lea ap_stacks + AP_STACK_SIZE(%rbx), %rsp
    lidt idt_ptr
    mov ap_lapic_base, %rdx
    mov 0x20(%rdx), %edx            /* LAPIC ID register */
    shr $24, %edx
    mov %edx, ap_apic_ids(,%rax,4)
5:  lock incl ap_online
4:  cli
    hlt
    jmp 4b

/* ---- data ---- */
    .data
    .balign 16
    .globl gdt
gdt:
    .quad 0                         /* 0x00 null */
    .quad 0x00cf9a000000ffff        /* 0x08 32-bit code, flat */
    .quad 0x00af9a000000ffff        /* 0x10 64-bit code */
    .quad 0x00cf92000000ffff        /* 0x18 data, flat */
    .quad 0x00cff2000000ffff        /* 0x20 data, flat, DPL 3 (user) */
    .quad 0x00affa000000ffff        /* 0x28 64-bit code, DPL 3 (user) */
    .globl gdt_tss
gdt_tss:
    .quad 0, 0                      /* 0x30 64-bit TSS, written by user_mode_init() */
gdt_end:
    .balign 8
    .word 0, 0, 0
gdt_ptr:
    .word gdt_end - gdt - 1
    .quad gdt

    .balign 8
    .word 0, 0, 0
    .globl idt_ptr
idt_ptr:
    .word 256 * 16 - 1
    .quad idt

    .balign 8
    .word 0, 0, 0
null_idt_ptr:
    .word 0
    .quad 0


/*
 * Identity map of the first 4 GiB with 2 MiB pages; the top GiB (MMIO:
 * LAPIC, IOAPIC) is uncached. Built at assembly time: nothing to execute.
 * Every entry has U/S set (0x4) so that code run at CPL 3 by run_user (user.c)
 * can reach the image, its stacks, the DMA area and device MMIO; nothing in
 * the guest relies on user pages being unreachable.
 */
    .section .data.pagetables, "aw"
    .balign 4096
pml4:
    .quad pdpt + 0x7                /* P | RW | US */
    .fill 511, 8, 0
pdpt:
    .quad pd + 0x0000 + 0x7
    .quad pd + 0x1000 + 0x7
    .quad pd + 0x2000 + 0x7
    .quad pd + 0x3000 + 0x7
    .fill 508, 8, 0
pd:
    .set addr, 0
    .rept 1536
    .quad addr + 0x87               /* P | RW | US | PS */
    .set addr, addr + 0x200000
    .endr
    .rept 512
    .quad addr + 0x9f               /* P | RW | US | PWT | PCD | PS */
    .set addr, addr + 0x200000
    .endr

    .bss
    .balign 16
    .globl idt, ap_apic_ids
idt:
    .skip 256 * 16
    /* AP bookkeeping lives in .bss so that a guest reset (same image, no reload) starts clean. */
    .globl ap_cr3, ap_seq, ap_online, ap_lapic_base
    .balign 8
ap_lapic_base: .skip 8              /* set from the MADT before any SIPI */
ap_cr3:        .skip 4
ap_seq:        .skip 4
ap_online:     .skip 4
    .balign 16
ap_apic_ids:
    .skip MAX_CPUS * 4
    /* run_user: the 64-bit TSS (only RSP0 is used) and the saved kernel RSP */
    .globl tss64
    .balign 16
tss64:
    .skip 104
    .balign 8
user_kernel_rsp:
    .skip 8

    /* Stacks: never read before written, so not zeroed at start-up. */
    .section .noinit, "aw", @nobits
    .balign 16
bsp_stack:
    .skip 16384
bsp_stack_top:
    .balign 16
ap_stacks:
    .skip MAX_CPUS * AP_STACK_SIZE
