/* i8042 keyboard controller, the part a guest needs without a keyboard:
 * the reset line and an idle controller that answers its own commands.
 *
 * No keyboard or mouse is attached and there is no interrupt line, so the
 * only bytes ever in the output buffer are answers to controller commands,
 * which a guest collects by polling the status register.  Everything is
 * processed at once, so the input buffer is never full (IBF=0) and a guest
 * spinning on IBF before a write never waits.
 *
 * The controller presents itself without a working AUX (mouse) port, so
 * that Linux gives up on it straight away instead of after timeouts: the
 * AUX loopback command (0xd3) echoes its byte as keyboard data, which Linux
 * takes as "no AUX port", and the AUX interface test reports a stuck clock.
 *
 * Reset: command 0xfe (pulse output port bit 0) as Linux's reboot=k does,
 * any other pulse command with bit 0 selected, or writing an output port
 * value with bit 0 (the CPU reset line, active low) clear via 0xd1. */
#include "devices/i8042.h"

#include <pthread.h>
#include <stdlib.h>

#define OFF_DATA   0   /* port 0x60 */
#define OFF_STATUS 4   /* port 0x64: status on read, command on write */

#define STR_OBF     0x01
#define STR_SYS     0x04  /* system flag: self-test passed */
#define STR_CMDDAT  0x08  /* last write went to the command port */
#define STR_AUXDATA 0x20

#define CTR_AUXDIS  0x20
/* Keyboard interrupt, system flag, translation: what firmware leaves.  The
 * AUX port starts disabled since there is none. */
#define CTR_DEFAULT (0x01 | 0x04 | 0x40 | CTR_AUXDIS)

#define OUTPORT_RESET 0x01   /* active low: 0 asserts CPU reset */
#define OUTPORT_A20   0x02
#define OUTPORT_DEFAULT (OUTPORT_RESET | OUTPORT_A20)

#define RAM_SIZE 32          /* byte 0 is the command byte (CTR) */

/* What the next byte written to the data port means. */
enum i8042_param {
	PARAM_NONE,              /* data for the keyboard: dropped */
	PARAM_RAM,               /* commands 0x60..0x7f */
	PARAM_OUTPORT,           /* 0xd1 */
	PARAM_KBD_OBUF,          /* 0xd2 */
	PARAM_AUX_OBUF,          /* 0xd3 */
	PARAM_AUX_DEV,           /* 0xd4: for the mouse, dropped */
};

struct i8042 {
	pthread_mutex_t lock;
	struct power_ctl power;
	uint8_t ram[RAM_SIZE];
	uint8_t outport;
	uint8_t status;          /* STR_OBF, STR_CMDDAT, STR_AUXDATA */
	uint8_t obuf;            /* output buffer; stays readable when empty */
	enum i8042_param param;
	uint8_t param_index;     /* RAM index for PARAM_RAM */
	bool reset_req;          /* asked for a reset during this access */
};

/* A new answer replaces an unread one: a guest that sends a command
 * without draining the buffer wants the answer to that command. */
static void i8042_output(struct i8042 *k, uint8_t val, bool aux)
{
	k->obuf = val;
	k->status |= STR_OBF;
	if (aux)
		k->status |= STR_AUXDATA;
	else
		k->status &= (uint8_t)~STR_AUXDATA;
}

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

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->param = PARAM_NONE;
	if (cmd >= 0x20 && cmd <= 0x3f) {
		i8042_output(k, k->ram[cmd & (RAM_SIZE - 1)], false);
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
	case 0xa7:  /* disable AUX port */
		k->ram[0] |= CTR_AUXDIS;
		break;
	case 0xa8:  /* enable AUX port */
		k->ram[0] &= (uint8_t)~CTR_AUXDIS;
		break;
	case 0xa9:  /* AUX interface test: 0x01 = clock line stuck low */
		i8042_output(k, 0x01, false);
		break;
	case 0xaa:  /* controller self-test */
		i8042_output(k, 0x55, false);
		break;
	case 0xab:  /* keyboard interface test: 0 = no error */
		i8042_output(k, 0x00, false);
		break;
	case 0xad:  /* disable keyboard */
		k->ram[0] |= 0x10;
		break;
	case 0xae:  /* enable keyboard */
		k->ram[0] &= (uint8_t)~0x10;
		break;
	case 0xc0:  /* read input port: keyboard not inhibited */
		i8042_output(k, 0x80, false);
		break;
	case 0xd0:  /* read output port */
		i8042_output(k, k->outport, false);
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
	case 0xe0:  /* read test inputs */
		i8042_output(k, 0x00, false);
		break;
	default:
		/* Unknown or unsupported (password, mux): ignored. */
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
		i8042_output(k, val, false);
		break;
	case PARAM_AUX_DEV:
	case PARAM_NONE:
		/* For a device that is not there. */
		break;
	}
}

static uint8_t i8042_read_data(struct i8042 *k)
{
	k->status &= (uint8_t)~(STR_OBF | STR_AUXDATA);
	return k->obuf;
}

static uint8_t i8042_read_status(const struct i8042 *k)
{
	return (uint8_t)(k->status | STR_SYS);
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
		 * control port B, handled by KVM's in-kernel PIT when there is
		 * one); they read as nothing there. */
		if (!is_write)
			*val = 0xff;
		break;
	}
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
	return k;
}

void i8042_destroy(struct i8042 *k)
{
	if (k == NULL)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}
