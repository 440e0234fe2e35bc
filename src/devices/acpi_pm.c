/* ACPI fixed hardware: the PM1a event and control registers and the FADT
 * reset register, in one block of PORT_ACPI_PM_LEN ports:
 *
 *   0  PM1a_STS  16 bits, write 1 to clear
 *   2  PM1a_EN   16 bits
 *   4  PM1a_CNT  16 bits: SCI_EN, BM_RLD, GBL_RLS, SLP_TYP, SLP_EN
 *   8  RESET_REG  8 bits, write ACPI_RESET_VALUE to reset
 *   the rest reads 0 and ignores writes.
 *
 * The registers are modelled byte by byte, so that an access of any width
 * at any offset means the same as the equivalent byte accesses: a 16-bit
 * write to PM1a_CNT and a byte write to its upper half both carry SLP_TYP
 * and SLP_EN together, and a 32-bit access at offset 2 touches PM1a_EN and
 * the low half of PM1a_CNT.
 *
 * Nothing here ever sets a status bit (no PM timer, no buttons yet), so
 * there is no SCI to raise. */
#include "devices/acpi_pm.h"

#include <pthread.h>
#include <stdlib.h>

#include "arch/x86/layout.h"

#define OFF_STS   0
#define OFF_EN    2
#define OFF_CNT   4
#define OFF_RESET (PORT_ACPI_RESET - PORT_ACPI_PM)

/* TMR, BM, GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE, WAK */
#define STS_MASK  0xc731
/* TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN, PCIEXP_WAKE_DIS */
#define EN_MASK   0x4721

#define STS_PWRBTN    0x0100       /* PWRBTN_STS / PWRBTN_EN */

#define CNT_SCI_EN    0x0001
#define CNT_BM_RLD    0x0002
#define CNT_SLP_SHIFT 10
#define CNT_SLP_TYP   (0x7 << CNT_SLP_SHIFT)
#define CNT_SLP_EN    0x2000
/* What reads back; GBL_RLS and SLP_EN are write-only and read as 0. */
#define CNT_STORED    (CNT_BM_RLD | CNT_SLP_TYP)

struct acpi_pm {
	pthread_mutex_t lock;
	struct power_ctl power;
	struct irq_line sci;    /* level: high while an enabled event is pending */
	bool sci_level;
	uint16_t sts;
	uint16_t en;
	uint16_t cnt;           /* CNT_STORED bits only */
};

/* The byte lane of a 16-bit register. */
static uint8_t lane_get(uint16_t reg, unsigned int hi)
{
	return (uint8_t)(hi ? reg >> 8 : reg);
}

static uint16_t lane_set(uint16_t reg, unsigned int hi, uint8_t val)
{
	if (hi)
		return (uint16_t)((reg & 0x00ff) | (val << 8));
	return (uint16_t)((reg & 0xff00) | val);
}

static uint8_t acpi_pm_read_byte(const struct acpi_pm *pm, uint64_t off)
{
	unsigned int hi = off & 1;

	switch (off & ~(uint64_t)1) {
	case OFF_STS:
		return lane_get(pm->sts, hi);
	case OFF_EN:
		return lane_get(pm->en, hi);
	case OFF_CNT:
		/* SCI_EN is always 1: the system is in ACPI mode from the
		 * start and there is no SMI handshake to switch modes. */
		return lane_get((uint16_t)(pm->cnt | CNT_SCI_EN), hi);
	default:
		return 0;   /* RESET_REG reads 0; reserved bytes too */
	}
}

/* Returns a power event to request once the lock is dropped, or -1. */
static int acpi_pm_write_cnt(struct acpi_pm *pm, unsigned int hi, uint8_t val)
{
	uint16_t written = lane_set(0, hi, val);

	pm->cnt = lane_set(pm->cnt, hi, val) & CNT_STORED;
	if (!(written & CNT_SLP_EN))
		return -1;
	/* SLP_EN sits in the same byte as SLP_TYP, so the type that counts
	 * is the one written together with it.  Only S5 exists; requests for
	 * other sleep states do nothing, as if the transition failed. */
	if (((written & CNT_SLP_TYP) >> CNT_SLP_SHIFT) == ACPI_S5_SLP_TYP)
		return POWER_OFF;
	return -1;
}

static int acpi_pm_write_byte(struct acpi_pm *pm, uint64_t off, uint8_t val)
{
	unsigned int hi = off & 1;

	if (off == OFF_RESET)
		return val == ACPI_RESET_VALUE ? POWER_RESET : -1;
	switch (off & ~(uint64_t)1) {
	case OFF_STS:
		pm->sts &= (uint16_t)~lane_set(0, hi, val);
		break;
	case OFF_EN:
		pm->en = lane_set(pm->en, hi, val) & EN_MASK;
		break;
	case OFF_CNT:
		return acpi_pm_write_cnt(pm, hi, val);
	default:
		break;
	}
	return -1;
}

/* The SCI follows the enabled, pending fixed events (lock held). */
static void update_sci(struct acpi_pm *pm)
{
	bool level = (pm->sts & pm->en & STS_PWRBTN) != 0;

	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_line_set(&pm->sci, level);
	}
}

void acpi_pm_set_sci(struct acpi_pm *pm, const struct irq_line *sci)
{
	pthread_mutex_lock(&pm->lock);
	pm->sci = *sci;
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= STS_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

/* Power requests are made after the lock is dropped so that the VM's
 * handler is free to do anything, including touching this device.  Of
 * several in one access the last wins; a guest doing that gets one. */
void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct acpi_pm *pm = opaque;
	int ev = -1;

	pthread_mutex_lock(&pm->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t off = offset + i;

		if (offset >= PORT_ACPI_PM_LEN || off >= PORT_ACPI_PM_LEN) {
			if (!is_write)
				data[i] = 0xff;
		} else if (is_write) {
			int e = acpi_pm_write_byte(pm, off, data[i]);

			if (e >= 0)
				ev = e;
		} else {
			data[i] = acpi_pm_read_byte(pm, off);
		}
	}
	if (is_write)
		update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (ev >= 0)
		power_request(&pm->power, (enum power_event)ev);
}

struct acpi_pm *acpi_pm_create(const struct power_ctl *power)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (pm == NULL)
		return NULL;
	if (pthread_mutex_init(&pm->lock, NULL) != 0) {
		free(pm);
		return NULL;
	}
	if (power)
		pm->power = *power;
	return pm;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (pm == NULL)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}
