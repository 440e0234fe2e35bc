/* i8254 programmable interval timer (PIT), emulated in user space, and the
 * port 0x61 bits that belong to it (channel 2's gate and speaker enable,
 * OUT2, the refresh toggle).
 *
 * Why not KVM's in-kernel PIT: leaving it, or taking it out of reinject
 * mode, waits for SRCU grace periods in the kernel, ~8-20 ms of every VM's
 * start or exit (bench/run.sh), while the guests landlord boots touch the
 * PIT a few times at most (Linux on KVM keeps time with kvmclock and the
 * local APIC timer).  Cloud Hypervisor has no PIT at all; QEMU can run its
 * PIT in user space next to the in-kernel irqchip, as landlord does.
 *
 * Channels 0-2 with modes 0-5, binary and BCD counts, LSB/MSB/word access,
 * the counter-latch and read-back commands.  The counters run at
 * 1.193182 MHz off CLOCK_MONOTONIC (or the clock given for tests).  Channel
 * 0's OUT drives IRQ 0 through irq0 (a rising edge per period; a one-shot
 * in mode 0/1/4/5): a timerfd on the event loop.  Ticks the loop could not
 * deliver in time are dropped, not reinjected.  Channel 1 (DRAM refresh) counts
 * but drives nothing.  Thread-safe: the vCPU threads' port accesses and the
 * event loop's timer take the same lock. */
#ifndef LANDLORD_DEVICES_I8254_H
#define LANDLORD_DEVICES_I8254_H

#include <stdbool.h>
#include <stdint.h>

#include "base/event_loop.h"
#include "devices/irq.h"

#define I8254_HZ       1193182u
#define I8254_IRQ      0             /* ISA IRQ of channel 0 */
#define PORT_I8254     0x40          /* 0x40-0x43 */
#define PORT_I8254_LEN 4
#define PORT_SPEAKER   0x61          /* system control port B */

struct i8254;

/* A clock in nanoseconds (monotonic); NULL: CLOCK_MONOTONIC. */
typedef uint64_t (*i8254_clock_fn)(void *opaque);

/* loop: where channel 0's timer runs (NULL: no timer, for tests that call
 * i8254_timer_expired themselves); irq0: channel 0's output line, copied. */
struct i8254 *i8254_create(struct event_loop *loop, const struct irq_line *irq0,
			   i8254_clock_fn clock, void *clock_opaque);
void i8254_destroy(struct i8254 *p);
/* Ports 0x40-0x43 (offsets 0-3): counters 0-2 and the control word (write
 * only: reads 0xff).  Wider accesses are split into byte accesses as on the
 * ISA bus; bytes outside the range read 0xff and ignore writes. */
void i8254_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* Port 0x61 (offset 0): bit 0 gate 2, bit 1 speaker data enable (both
 * read/write), bit 4 refresh toggle (flips every ~15 us), bit 5 OUT2; the
 * other bits read 0 and ignore writes.  Bytes past offset 0 read 0xff. */
void i8254_port61_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* What the timer does when channel 0's deadline passes (exposed for tests
 * driven by their own clock): if the deadline has passed by the clock,
 * pulse IRQ 0 once (however many edges passed) and arm the next edge; the
 * periodic interrupt is clamped to one per 200 us, as KVM clamps its PIT.
 * Calling it early, or again, does nothing but re-arm. */
void i8254_timer_expired(struct i8254 *p);

#endif
