/* i8042 keyboard controller with a PS/2 keyboard behind it.
 *
 * The keyboard exists for one purpose: to deliver key sequences the host
 * asks for (Ctrl+Alt+Del, as Firecracker's SendCtrlAltDel does) to a guest
 * whose atkbd driver listens.  It answers the commands Linux's atkbd sends
 * while probing, and otherwise stays silent.  Everything is processed at
 * once, so the input buffer is never full (IBF=0) and a guest spinning on
 * IBF before a write never waits.
 *
 * Output: one output buffer (OBF) fed from three places, in this order of
 * precedence:
 *   1. controller answers (port 0x64 commands) go straight into the buffer,
 *      so a guest polling for an answer always gets it; a keyboard byte it
 *      displaces goes back to the front of its queue and is not lost;
 *   2. keyboard answers (0xfa, ID bytes, ...) wait in a small reply queue,
 *      ahead of queued keys, as a real keyboard answers a command before it
 *      resumes sending scancodes;
 *   3. host key presses wait in the key queue.
 * The buffer is refilled from the queues whenever it is empty and the
 * keyboard interface is enabled (command byte bit 4 clear).  At most 16
 * bytes are ever pending in total, since Linux's i8042_flush() gives up on
 * a controller that still has data after 16 reads.
 *
 * Interrupt: IRQ 1 follows the 8042's output pin, high while the buffer
 * holds keyboard data and the command byte enables the keyboard interrupt
 * (bit 0).  Reading a byte drops the line before the next byte is loaded,
 * so each byte is a new rising edge for the edge-triggered ISA input.
 *
 * Scancodes: the keyboard itself speaks set 2 (or the set the guest picked
 * with 0xf0); with translation on (command byte bit 6, the default and what
 * Linux uses) the guest reads set 1.  The keys are queued in the set that
 * is in effect when the host sends them.
 *
 * The controller presents itself without a working AUX (mouse) port, so
 * that Linux gives up on it straight away instead of after timeouts: the
 * AUX loopback command (0xd3) echoes its byte as keyboard data, which Linux
 * takes as "no AUX port", and the AUX interface test reports a stuck clock.
 *
 * Reset: command 0xfe (pulse output port bit 0) as Linux's reboot=k does,
 * any other pulse command with bit 0 selected, or writing an output port
 * value with bit 0 (the CPU reset line, active low) clear via 0xd1.
 *
 * Locking: one mutex, taken by port I/O (vCPU threads) and by the host's key
 * path (the event loop).  irq_line_set() is called with it held and must
 * not call back into this device; the reset request is made after it is
 * dropped. */
#include "devices/i8042.h"

#include <pthread.h>
#include <stdlib.h>

#define OFF_DATA   0   /* port 0x60 */
#define OFF_STATUS 4   /* port 0x64: status on read, command on write */

#define STR_OBF     0x01
#define STR_SYS     0x04  /* system flag: self-test passed */
#define STR_CMDDAT  0x08  /* last write went to the command port */
#define STR_UNLOCKED 0x10 /* keyboard not inhibited (no key lock) */
#define STR_AUXDATA 0x20

#define CTR_KBDINT  0x01
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40
/* Keyboard interrupt, system flag, translation: what firmware leaves.  The
 * AUX port starts disabled since there is none. */
#define CTR_DEFAULT (CTR_KBDINT | 0x04 | CTR_XLATE | CTR_AUXDIS)

#define OUTPORT_RESET 0x01   /* active low: 0 asserts CPU reset */
#define OUTPORT_A20   0x02
#define OUTPORT_DEFAULT (OUTPORT_RESET | OUTPORT_A20)

#define RAM_SIZE 32          /* byte 0 is the command byte (CTR) */

/* Queue sizes: the longest answer is 3 bytes (0xf2), the longest key
 * sequence 11 (Ctrl+Alt+Del in set 2); with the output buffer that is 16. */
#define REPLY_MAX  3
#define KEYS_MAX   12
#define FIFO_SIZE  16        /* storage; the caps above are what is used */
_Static_assert(REPLY_MAX + KEYS_MAX + 1 <= 16, "Linux flushes at most 16 bytes");
_Static_assert(REPLY_MAX <= FIFO_SIZE && KEYS_MAX <= FIFO_SIZE, "fifo storage");

/* Keyboard answers. */
#define KBD_ACK    0xfa
#define KBD_RESEND 0xfe
#define KBD_BAT_OK 0xaa
#define KBD_ECHO   0xee
#define KBD_ID0    0xab
#define KBD_ID1    0x83      /* 0x41 once translated */

/* What the next byte written to the data port means. */
enum i8042_param {
	PARAM_NONE,              /* a byte for the keyboard */
	PARAM_RAM,               /* commands 0x60..0x7f */
	PARAM_OUTPORT,           /* 0xd1 */
	PARAM_KBD_OBUF,          /* 0xd2 */
	PARAM_AUX_OBUF,          /* 0xd3 */
	PARAM_AUX_DEV,           /* 0xd4: for the mouse, dropped */
};

/* What the keyboard expects after a command that takes an argument. */
enum kbd_param {
	KBD_PARAM_NONE,
	KBD_PARAM_ARG,           /* 0xed LEDs, 0xf3 typematic: acked, ignored */
	KBD_PARAM_SET,           /* 0xf0: scancode set */
};

/* Where the byte in the output buffer came from. */
enum obuf_src {
	OBUF_CTRL,
	OBUF_REPLY,
	OBUF_KEY,
};

struct fifo {
	uint8_t buf[FIFO_SIZE];
	unsigned int head;
	unsigned int len;
};

struct i8042 {
	pthread_mutex_t lock;
	struct power_ctl power;
	struct irq_line irq;
	uint8_t ram[RAM_SIZE];
	uint8_t outport;
	uint8_t status;          /* STR_OBF, STR_CMDDAT, STR_AUXDATA */
	uint8_t obuf;            /* output buffer; stays readable when empty */
	enum obuf_src obuf_src;
	enum i8042_param param;
	uint8_t param_index;     /* RAM index for PARAM_RAM */
	bool reset_req;          /* asked for a reset during this access */
	int irq_level;

	/* The keyboard. */
	struct fifo replies;
	struct fifo keys;
	enum kbd_param kbd_param;
	uint8_t kbd_set;         /* scancode set 1, 2 or 3 */
	bool kbd_scanning;       /* 0xf4 enables, 0xf5 disables */
};

/* ---- byte queues ---- */

static bool fifo_push(struct fifo *f, unsigned int cap, uint8_t b)
{
	if (f->len >= cap)
		return false;
	f->buf[(f->head + f->len++) % FIFO_SIZE] = b;
	return true;
}

/* Back to the front: for a byte taken out and then displaced. */
static bool fifo_unshift(struct fifo *f, unsigned int cap, uint8_t b)
{
	if (f->len >= cap)
		return false;
	f->head = (f->head + FIFO_SIZE - 1) % FIFO_SIZE;
	f->buf[f->head] = b;
	f->len++;
	return true;
}

static bool fifo_pop(struct fifo *f, uint8_t *b)
{
	if (f->len == 0)
		return false;
	*b = f->buf[f->head];
	f->head = (f->head + 1) % FIFO_SIZE;
	f->len--;
	return true;
}

static void fifo_clear(struct fifo *f)
{
	f->head = 0;
	f->len = 0;
}

/* ---- output buffer and IRQ 1 ---- */

static void i8042_update_irq(struct i8042 *k)
{
	int level = (k->status & (STR_OBF | STR_AUXDATA)) == STR_OBF &&
		    (k->ram[0] & CTR_KBDINT);

	if (level != k->irq_level) {
		k->irq_level = level;
		irq_line_set(&k->irq, level);
	}
}

static void i8042_load(struct i8042 *k, uint8_t val, enum obuf_src src)
{
	k->obuf = val;
	k->obuf_src = src;
	k->status |= STR_OBF;
	k->status &= (uint8_t)~STR_AUXDATA;
}

/* The next keyboard byte into an empty output buffer, answers first. */
static void i8042_refill(struct i8042 *k)
{
	uint8_t b;

	if ((k->status & STR_OBF) || (k->ram[0] & CTR_KBDDIS))
		return;
	if (fifo_pop(&k->replies, &b))
		i8042_load(k, b, OBUF_REPLY);
	else if (fifo_pop(&k->keys, &b))
		i8042_load(k, b, OBUF_KEY);
}

/* A controller answer replaces whatever is unread: a guest that sends a
 * command without draining the buffer wants the answer to that command.
 * A keyboard byte it displaces is queued again rather than lost. */
static void i8042_output(struct i8042 *k, uint8_t val)
{
	if (k->status & STR_OBF) {
		if (k->obuf_src == OBUF_KEY)
			(void)fifo_unshift(&k->keys, KEYS_MAX, k->obuf);
		else if (k->obuf_src == OBUF_REPLY)
			(void)fifo_unshift(&k->replies, REPLY_MAX, k->obuf);
	}
	i8042_load(k, val, OBUF_CTRL);
}

static bool i8042_obuf_holds_key(const struct i8042 *k)
{
	return (k->status & STR_OBF) && k->obuf_src == OBUF_KEY;
}

/* ---- the keyboard ---- */

static bool kbd_translated(const struct i8042 *k)
{
	return (k->ram[0] & CTR_XLATE) != 0;
}

static void kbd_reply(struct i8042 *k, uint8_t b)
{
	(void)fifo_push(&k->replies, REPLY_MAX, b);
}

static void kbd_set_defaults(struct i8042 *k)
{
	k->kbd_set = 2;
}

/* The argument of 0xed, 0xf3 or 0xf0. */
static void kbd_argument(struct i8042 *k, uint8_t arg)
{
	enum kbd_param p = k->kbd_param;

	k->kbd_param = KBD_PARAM_NONE;
	if (p != KBD_PARAM_SET) {
		kbd_reply(k, KBD_ACK);
		return;
	}
	if (arg == 0) {
		/* Report the set, through the controller's translation of
		 * 0x01..0x03 when it is on. */
		static const uint8_t translated[4] = { 0, 0x43, 0x41, 0x3f };

		kbd_reply(k, KBD_ACK);
		kbd_reply(k, kbd_translated(k) ? translated[k->kbd_set & 3] : k->kbd_set);
	} else if (arg <= 3) {
		k->kbd_set = arg;
		kbd_reply(k, KBD_ACK);
	} else {
		kbd_reply(k, KBD_RESEND);
	}
}

/* A byte written to port 0x60 with no controller command pending. */
static void kbd_write(struct i8042 *k, uint8_t cmd)
{
	/* A keyboard starts every command with a clean answer buffer. */
	fifo_clear(&k->replies);
	if (k->kbd_param != KBD_PARAM_NONE) {
		kbd_argument(k, cmd);
		return;
	}
	switch (cmd) {
	case 0xed:  /* set LEDs */
	case 0xf3:  /* set typematic rate */
		k->kbd_param = KBD_PARAM_ARG;
		kbd_reply(k, KBD_ACK);
		break;
	case 0xf0:  /* get/set scancode set */
		k->kbd_param = KBD_PARAM_SET;
		kbd_reply(k, KBD_ACK);
		break;
	case 0xee:  /* echo */
		kbd_reply(k, KBD_ECHO);
		break;
	case 0xf2:  /* identify: an MF2 keyboard */
		kbd_reply(k, KBD_ACK);
		kbd_reply(k, KBD_ID0);
		kbd_reply(k, kbd_translated(k) ? 0x41 : KBD_ID1);
		break;
	case 0xf4:  /* enable scanning */
		k->kbd_scanning = true;
		kbd_reply(k, KBD_ACK);
		break;
	case 0xf5:  /* disable scanning, defaults */
		k->kbd_scanning = false;
		kbd_set_defaults(k);
		kbd_reply(k, KBD_ACK);
		break;
	case 0xf6:  /* defaults */
		kbd_set_defaults(k);
		kbd_reply(k, KBD_ACK);
		break;
	case 0xff:  /* reset: keys typed before it are gone */
		fifo_clear(&k->keys);
		kbd_set_defaults(k);
		k->kbd_scanning = true;
		kbd_reply(k, KBD_ACK);
		kbd_reply(k, KBD_BAT_OK);
		break;
	default:
		kbd_reply(k, KBD_RESEND);
		break;
	}
}

/* ---- the controller ---- */

static void i8042_set_outport(struct i8042 *k, uint8_t val)
{
	k->outport = val;
	if (!(val & OUTPORT_RESET)) {
		/* The reset line is asserted; after the reset the guest
		 * would find the line released again. */
		k->outport |= OUTPORT_RESET;
		k->reset_req = true;
	}
}

/* Commands without an answer or a parameter. */
static void i8042_simple_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case 0xa7:  /* disable AUX port */
		k->ram[0] |= CTR_AUXDIS;
		break;
	case 0xa8:  /* enable AUX port */
		k->ram[0] &= (uint8_t)~CTR_AUXDIS;
		break;
	case 0xad:  /* disable keyboard */
		k->ram[0] |= CTR_KBDDIS;
		break;
	case 0xae:  /* enable keyboard */
		k->ram[0] &= (uint8_t)~CTR_KBDDIS;
		break;
	case 0xd1:
		k->param = PARAM_OUTPORT;
		break;
	case 0xd2:
		k->param = PARAM_KBD_OBUF;
		break;
	case 0xd3:
		k->param = PARAM_AUX_OBUF;
		break;
	case 0xd4:
		k->param = PARAM_AUX_DEV;
		break;
	default:
		/* Unknown or unsupported (password, mux): ignored. */
		break;
	}
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->param = PARAM_NONE;
	if (cmd >= 0x20 && cmd <= 0x3f) {
		i8042_output(k, k->ram[cmd & (RAM_SIZE - 1)]);
		return;
	}
	if (cmd >= 0x60 && cmd <= 0x7f) {
		k->param = PARAM_RAM;
		k->param_index = cmd & (RAM_SIZE - 1);
		return;
	}
	if (cmd >= 0xf0) {
		/* Pulse output port bits 0-3 low; bits given as 0 pulse. */
		if (!(cmd & OUTPORT_RESET))
			k->reset_req = true;
		return;
	}
	switch (cmd) {
	case 0xa9:  /* AUX interface test: 0x01 = clock line stuck low */
		i8042_output(k, 0x01);
		break;
	case 0xaa:  /* controller self-test */
		i8042_output(k, 0x55);
		break;
	case 0xab:  /* keyboard interface test: 0 = no error */
	case 0xe0:  /* read test inputs */
		i8042_output(k, 0x00);
		break;
	case 0xc0:  /* read input port: keyboard not inhibited */
		i8042_output(k, 0x80);
		break;
	case 0xd0:  /* read output port */
		i8042_output(k, k->outport);
		break;
	default:
		i8042_simple_command(k, cmd);
		break;
	}
}

static void i8042_write_data(struct i8042 *k, uint8_t val)
{
	enum i8042_param p = k->param;

	k->param = PARAM_NONE;
	switch (p) {
	case PARAM_RAM:
		k->ram[k->param_index & (RAM_SIZE - 1)] = val;
		break;
	case PARAM_OUTPORT:
		i8042_set_outport(k, val);
		break;
	case PARAM_KBD_OBUF:
	case PARAM_AUX_OBUF:
		/* See the top of the file for why the AUX echo is not
		 * marked as AUX data. */
		i8042_output(k, val);
		break;
	case PARAM_AUX_DEV:
		/* For a mouse that is not there. */
		break;
	case PARAM_NONE:
		kbd_write(k, val);
		break;
	}
}

static uint8_t i8042_read_data(struct i8042 *k)
{
	uint8_t val = k->obuf;

	k->status &= (uint8_t)~(STR_OBF | STR_AUXDATA);
	/* Low before the next byte goes in: a new edge for it. */
	i8042_update_irq(k);
	i8042_refill(k);
	return val;
}

static uint8_t i8042_read_status(const struct i8042 *k)
{
	return (uint8_t)(k->status | STR_SYS | STR_UNLOCKED);
}

static void i8042_byte(struct i8042 *k, uint64_t off, uint8_t *val, bool is_write)
{
	switch (off) {
	case OFF_DATA:
		if (is_write) {
			k->status &= (uint8_t)~STR_CMDDAT;
			i8042_write_data(k, *val);
		} else {
			*val = i8042_read_data(k);
		}
		break;
	case OFF_STATUS:
		if (is_write) {
			k->status |= STR_CMDDAT;
			i8042_command(k, *val);
		} else {
			*val = i8042_read_status(k);
		}
		break;
	default:
		/* Ports 0x61-0x63 are not the controller's (0x61 is system
		 * control port B, the PIT's: i8254.c); they read as nothing. */
		if (!is_write)
			*val = 0xff;
		break;
	}
	/* Any access may have emptied the buffer, enabled the keyboard or
	 * changed the interrupt bit. */
	i8042_refill(k);
	i8042_update_irq(k);
}

/* Wider accesses are split into byte accesses, as on the ISA bus.  A reset
 * is requested after the lock is dropped, so that the VM's handler may do
 * whatever it likes, including touching this device. */
void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	bool reset;

	pthread_mutex_lock(&k->lock);
	for (uint32_t i = 0; i < len; i++) {
		/* An offset that wraps is outside the range like any other. */
		uint64_t off = offset + i < offset ? UINT64_MAX : offset + i;

		i8042_byte(k, off, &data[i], is_write);
	}
	reset = k->reset_req;
	k->reset_req = false;
	pthread_mutex_unlock(&k->lock);
	if (reset)
		power_request(&k->power, POWER_RESET);
}

void i8042_status_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	/* An offset past the one port stays out of range after the shift. */
	i8042_io(opaque, offset <= UINT64_MAX - OFF_STATUS ? offset + OFF_STATUS : UINT64_MAX,
		 data, len, is_write);
}

/* ---- host key presses ---- */

/* Left Ctrl, left Alt, Delete pressed, then released in reverse order. */
static const uint8_t cad_set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
static const uint8_t cad_set2[] = { 0x14, 0x11, 0xe0, 0x71,
				    0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14 };
static const uint8_t cad_set3[] = { 0x11, 0x19, 0x64, 0xf0, 0x64, 0xf0, 0x19, 0xf0, 0x11 };

static enum i8042_keys_result i8042_queue(struct i8042 *k, const uint8_t *codes, size_t n)
{
	if (!k->kbd_scanning)
		return I8042_KEYS_DISABLED;
	/* All or nothing: half a key sequence would leave keys stuck down.
	 * A key in the output buffer counts, so that it always fits back
	 * into the queue when a controller answer displaces it. */
	if (k->keys.len + i8042_obuf_holds_key(k) + n > KEYS_MAX)
		return I8042_KEYS_FULL;
	for (size_t i = 0; i < n; i++)
		(void)fifo_push(&k->keys, KEYS_MAX, codes[i]);
	i8042_refill(k);
	i8042_update_irq(k);
	return I8042_KEYS_QUEUED;
}

enum i8042_keys_result i8042_send_ctrl_alt_del(struct i8042 *k)
{
	enum i8042_keys_result r;

	pthread_mutex_lock(&k->lock);
	if (kbd_translated(k) || k->kbd_set == 1)
		r = i8042_queue(k, cad_set1, sizeof(cad_set1));
	else if (k->kbd_set == 3)
		r = i8042_queue(k, cad_set3, sizeof(cad_set3));
	else
		r = i8042_queue(k, cad_set2, sizeof(cad_set2));
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* ---- life cycle ---- */

void i8042_set_irq(struct i8042 *k, const struct irq_line *irq)
{
	pthread_mutex_lock(&k->lock);
	k->irq = *irq;
	k->irq_level = 0;
	irq_line_set(&k->irq, 0);
	i8042_update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

struct i8042 *i8042_create(const struct power_ctl *power)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	if (pthread_mutex_init(&k->lock, NULL) != 0) {
		free(k);
		return NULL;
	}
	if (power)
		k->power = *power;
	k->ram[0] = CTR_DEFAULT;
	k->outport = OUTPORT_DEFAULT;
	kbd_set_defaults(k);
	k->kbd_scanning = true;
	return k;
}

void i8042_destroy(struct i8042 *k)
{
	if (k == NULL)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}
