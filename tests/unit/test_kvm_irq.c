/* kvm_irq: ioeventfds, irqfds and the GSI routing table against the real
 * /dev/kvm (skipped without it): a real-mode vCPU makes the guest writes,
 * and its local APIC and the irqchip state show where interrupts went. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "kvm/kvm_irq.h"
#include "kvm_test_vm.h"

#define MMIO_ADDR 0x200000ULL     /* above the 1 MiB of RAM: MMIO */

static int setup(void **state)
{
	struct tvm *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	if (tvm_open(t) < 0) {
		free(t);
		*state = NULL;
		return 0;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tvm *t = *state;

	if (t) {
		tvm_close(t);
		free(t);
	}
	return 0;
}

#define NEED_KVM(t)                                       \
	do {                                              \
		if ((t) == NULL) {                        \
			skip();                           \
			return;                           \
		}                                         \
	} while (0)

static uint64_t drain(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void test_without_vm(void **state)
{
	struct kvm k;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.vm_fd = -1;
	errno = 0;
	assert_int_equal(kvm_ioeventfd(&k, 0x1000, 4, false, 0, false, 0, true), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_int_equal(kvm_irqfd(&k, 0, 24, true), -1);
	assert_int_equal(kvm_msi_route_alloc(&k), -1);
	assert_int_equal(kvm_msi_route_set(&k, 24, 0xfee00000, 0x40), -1);
	assert_int_equal(kvm_signal_msi(&k, 0xfee00000, 0x40), -1);
	kvm_msi_route_free(&k, 24);                   /* harmless */
	kvm_irq_routing_free(&k);
}

static void test_caps(void **state)
{
	struct tvm *t = *state;

	NEED_KVM(t);
	assert_true(t->k.irq_ready);
	assert_true(t->k.has_irqfd);
	assert_true(t->k.has_ioeventfd);
	assert_true(t->k.has_irq_routing);
	assert_true(t->k.has_signal_msi);
}

static void test_ioeventfd_mmio(void **state)
{
	struct tvm *t = *state;
	int fd = eventfd(0, EFD_NONBLOCK);

	NEED_KVM(t);
	assert_true(fd >= 0);
	/* Without an ioeventfd the write reaches the monitor. */
	assert_int_equal(tvm_exec(t, tvm_store16, sizeof(tvm_store16), MMIO_ADDR, 7, 0, 0),
			 KVM_EXIT_MMIO);
	assert_int_equal(drain(fd), 0);

	/* 2 bytes, no datamatch: absorbed, fd signalled. */
	assert_int_equal(kvm_ioeventfd(&t->k, MMIO_ADDR, 2, false, fd, false, 0, true), 0);
	assert_int_equal(tvm_exec(t, tvm_store16, sizeof(tvm_store16), MMIO_ADDR, 7, 0, 0),
			 TVM_DONE);
	assert_int_equal(drain(fd), 1);
	/* A 4-byte write does not match a 2-byte ioeventfd. */
	assert_int_equal(tvm_exec(t, tvm_store32, sizeof(tvm_store32), MMIO_ADDR, 7, 0, 0),
			 KVM_EXIT_MMIO);
	assert_int_equal(drain(fd), 0);
	/* The same registration twice is refused; deassign needs it exact. */
	assert_int_equal(kvm_ioeventfd(&t->k, MMIO_ADDR, 2, false, fd, false, 0, true), -1);
	assert_int_equal(kvm_ioeventfd(&t->k, MMIO_ADDR, 4, false, fd, false, 0, false), -1);
	assert_int_equal(kvm_ioeventfd(&t->k, MMIO_ADDR, 2, false, fd, false, 0, false), 0);
	assert_int_equal(tvm_exec(t, tvm_store16, sizeof(tvm_store16), MMIO_ADDR, 7, 0, 0),
			 KVM_EXIT_MMIO);
	assert_int_equal(drain(fd), 0);

	/* Datamatch: only the matching value is absorbed. */
	assert_int_equal(kvm_ioeventfd(&t->k, MMIO_ADDR + 0x10, 2, false, fd, true, 3, true), 0);
	assert_int_equal(tvm_exec(t, tvm_store16, sizeof(tvm_store16), MMIO_ADDR, 3, 0x10, 0),
			 TVM_DONE);
	assert_int_equal(drain(fd), 1);
	assert_int_equal(tvm_exec(t, tvm_store16, sizeof(tvm_store16), MMIO_ADDR, 4, 0x10, 0),
			 KVM_EXIT_MMIO);
	assert_int_equal(drain(fd), 0);
	assert_int_equal(kvm_ioeventfd(&t->k, MMIO_ADDR + 0x10, 2, false, fd, true, 3, false), 0);

	/* Any length (len 0), where KVM has it; never with datamatch. */
	assert_int_equal(kvm_ioeventfd(&t->k, MMIO_ADDR + 0x20, 0, false, fd, true, 1, true), -1);
	if (t->k.has_ioeventfd_any_len) {
		assert_int_equal(kvm_ioeventfd(&t->k, MMIO_ADDR + 0x20, 0, false, fd, false, 0,
					       true), 0);
		assert_int_equal(tvm_exec(t, tvm_store16, sizeof(tvm_store16), MMIO_ADDR, 1,
					  0x20, 0), TVM_DONE);
		assert_int_equal(tvm_exec(t, tvm_store32, sizeof(tvm_store32), MMIO_ADDR, 1,
					  0x20, 0), TVM_DONE);
		assert_int_equal(drain(fd), 2);
		assert_int_equal(kvm_ioeventfd(&t->k, MMIO_ADDR + 0x20, 0, false, fd, false, 0,
					       false), 0);
	}
	close(fd);
}

static void test_ioeventfd_pio(void **state)
{
	struct tvm *t = *state;
	int fd = eventfd(0, EFD_NONBLOCK);

	NEED_KVM(t);
	assert_true(fd >= 0);
	assert_int_equal(tvm_exec(t, tvm_out16, sizeof(tvm_out16), 0, 5, 0, 0x510), KVM_EXIT_IO);
	assert_int_equal(kvm_ioeventfd(&t->k, 0x510, 2, true, fd, true, 5, true), 0);
	assert_int_equal(tvm_exec(t, tvm_out16, sizeof(tvm_out16), 0, 5, 0, 0x510), TVM_DONE);
	assert_int_equal(drain(fd), 1);
	assert_int_equal(tvm_exec(t, tvm_out16, sizeof(tvm_out16), 0, 6, 0, 0x510), KVM_EXIT_IO);
	/* A port ioeventfd is not an MMIO one at the same number. */
	assert_int_equal(kvm_ioeventfd(&t->k, 0x510, 2, false, fd, true, 5, false), -1);
	assert_int_equal(kvm_ioeventfd(&t->k, 0x510, 2, true, fd, true, 5, false), 0);
	/* Any-length is MMIO only. */
	errno = 0;
	assert_int_equal(kvm_ioeventfd(&t->k, 0x510, 0, true, fd, false, 0, true), -1);
	assert_int_equal(errno, ENOTSUP);
	close(fd);
}

/* MSI address for APIC id 0, physical destination; fixed, edge. */
#define MSI_ADDR 0xfee00000ULL

static void test_msi_route_irqfd(void **state)
{
	struct tvm *t = *state;
	uint64_t one = 1;
	int fd = eventfd(0, EFD_NONBLOCK), gsi, gsi2;

	NEED_KVM(t);
	assert_true(fd >= 0);
	assert_int_equal(tvm_lapic_enable(t), 0);
	gsi = kvm_msi_route_alloc(&t->k);
	assert_int_equal(gsi, KVM_IRQ_MSI_GSI_BASE);
	gsi2 = kvm_msi_route_alloc(&t->k);
	assert_int_equal(gsi2, KVM_IRQ_MSI_GSI_BASE + 1);
	assert_int_equal(kvm_msi_route_set(&t->k, (uint32_t)gsi, MSI_ADDR, 0x41), 0);
	assert_int_equal(kvm_irqfd(&t->k, fd, (uint32_t)gsi, true), 0);
	assert_false(tvm_irr_now(t, 0x41));
	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	assert_true(tvm_irr_wait(t, 0x41));

	/* Re-pointing the route moves the next interrupt, irqfd unchanged. */
	assert_int_equal(kvm_msi_route_set(&t->k, (uint32_t)gsi, MSI_ADDR, 0x52), 0);
	assert_int_equal(kvm_msi_route_set(&t->k, (uint32_t)gsi, MSI_ADDR, 0x52), 0);
	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	assert_true(tvm_irr_wait(t, 0x52));

	/* Unbound, a write goes nowhere. */
	assert_int_equal(kvm_irqfd(&t->k, fd, (uint32_t)gsi, false), 0);
	assert_int_equal(kvm_msi_route_set(&t->k, (uint32_t)gsi, MSI_ADDR, 0x63), 0);
	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
	usleep(20000);
	assert_false(tvm_irr_now(t, 0x63));

	/* KVM_SIGNAL_MSI needs no route. */
	assert_int_equal(kvm_signal_msi(&t->k, MSI_ADDR, 0x74), 0);
	assert_true(tvm_irr_wait(t, 0x74));

	/* Free and reuse; bad GSIs are refused. */
	kvm_msi_route_free(&t->k, (uint32_t)gsi);
	assert_int_equal(kvm_msi_route_set(&t->k, (uint32_t)gsi, MSI_ADDR, 0x41), -1);
	assert_int_equal(kvm_msi_route_set(&t->k, 5, MSI_ADDR, 0x41), -1);
	assert_int_equal(kvm_msi_route_set(&t->k, 100000, MSI_ADDR, 0x41), -1);
	kvm_msi_route_free(&t->k, 5);
	kvm_msi_route_free(&t->k, 100000);
	assert_int_equal(kvm_msi_route_alloc(&t->k), gsi);
	kvm_msi_route_free(&t->k, (uint32_t)gsi);
	kvm_msi_route_free(&t->k, (uint32_t)gsi2);
	close(fd);
}

static void test_route_exhaustion(void **state)
{
	struct tvm *t = *state;
	int n = 0, g;

	NEED_KVM(t);
	while ((g = kvm_msi_route_alloc(&t->k)) >= 0) {
		assert_int_equal(g, KVM_IRQ_MSI_GSI_BASE + n);
		/* All set: the whole table goes to KVM each time. */
		assert_int_equal(kvm_msi_route_set(&t->k, (uint32_t)g, MSI_ADDR, 0x40 + (n & 0x3f)),
				 0);
		n++;
		assert_true(n <= KVM_MSI_ROUTES_MAX);
	}
	assert_int_equal(n, KVM_MSI_ROUTES_MAX);
	assert_int_equal(errno, ENOSPC);
	for (int i = 0; i < n; i++)
		kvm_msi_route_free(&t->k, KVM_IRQ_MSI_GSI_BASE + (uint32_t)i);
	assert_int_equal(kvm_msi_route_alloc(&t->k), KVM_IRQ_MSI_GSI_BASE);
	kvm_msi_route_free(&t->k, KVM_IRQ_MSI_GSI_BASE);
}

/* After landlord replaced KVM's table, the legacy GSIs still reach the
 * same pins: 0-15 the PIC and IOAPIC, 16-23 the IOAPIC only. */
static void test_default_routes_kept(void **state)
{
	struct tvm *t = *state;
	int gsi;

	NEED_KVM(t);
	gsi = kvm_msi_route_alloc(&t->k);
	assert_true(gsi >= 0);
	assert_int_equal(kvm_msi_route_set(&t->k, (uint32_t)gsi, MSI_ADDR, 0x41), 0);

	kvm_irq_line(&t->k, 4, 1);
	assert_true(tvm_pic_irr(t, 0) & (1u << 4));
	assert_true(tvm_ioapic_irr(t) & (1u << 4));
	kvm_irq_line(&t->k, 4, 0);
	kvm_irq_line(&t->k, 10, 1);
	assert_true(tvm_pic_irr(t, 1) & (1u << 2));
	assert_true(tvm_ioapic_irr(t) & (1u << 10));
	kvm_irq_line(&t->k, 10, 0);
	assert_false(tvm_ioapic_irr(t) & (1u << 10));
	kvm_irq_line(&t->k, 20, 1);
	assert_true(tvm_ioapic_irr(t) & (1u << 20));
	kvm_irq_line(&t->k, 20, 0);
	assert_false(tvm_ioapic_irr(t) & (1u << 20));
	kvm_msi_route_free(&t->k, (uint32_t)gsi);
	/* Back to defaults only: still the same. */
	kvm_irq_line(&t->k, 11, 1);
	assert_true(tvm_pic_irr(t, 1) & (1u << 3));
	assert_true(tvm_ioapic_irr(t) & (1u << 11));
	kvm_irq_line(&t->k, 11, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_without_vm),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioeventfd_mmio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioeventfd_pio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi_route_irqfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_routes_kept, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
