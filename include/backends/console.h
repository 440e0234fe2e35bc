/* The serial console's host side: where guest output goes (stdout, a file or
 * nowhere) and where its input comes from (stdin).  On a terminal stdin is
 * put in raw mode and "Ctrl-A x" quits, as in QEMU; "Ctrl-A Ctrl-A" sends a
 * literal Ctrl-A.
 *
 * Besides that, the most recent output is kept in a ring, for one client
 * attached over the API (`landlord console`): it first gets the last
 * CONSOLE_HISTORY bytes, then the output as it comes.  The guest never waits
 * for the client: a client that does not read falls behind, and once it is
 * more than the ring's size behind, the oldest bytes it has not read are
 * dropped (and counted). */
#ifndef LANDLORD_BACKENDS_CONSOLE_H
#define LANDLORD_BACKENDS_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

enum console_mode {
	CONSOLE_STDIO,
	CONSOLE_NONE,
	CONSOLE_FILE,
};

#define CONSOLE_ESCAPE 0x01   /* Ctrl-A */

#define CONSOLE_RING_SIZE  (256u << 10)  /* how far a client may fall behind */
#define CONSOLE_HISTORY    (16u << 10)   /* replayed to a client as it attaches */

/* Output by absolute position: head counts every byte ever put, the ring
 * holds the last `size` of them.  A reader keeps its own position. */
struct console_ring {
	uint8_t *buf;
	size_t size;             /* a power of two */
	uint64_t head;
};

/* The attached client's state on the event-loop side (vm_console.c). */
struct console_client {
	int fd;                  /* -1: no client */
	uint64_t pos;            /* next ring byte it gets */
	uint64_t dropped;        /* bytes it missed by not reading */
	bool in_held;            /* its input waits for room in the device */
	bool in_eof;             /* it sent EOF (shut down its writing side) */
	bool out_blocked;        /* its socket is full: wait for EPOLLOUT */
	bool parked;             /* hung up with input held: off the loop */
	uint8_t *pre;            /* input that came with the attach request */
	size_t pre_len, pre_off;
};

struct console {
	enum console_mode mode;
	int out_fd;          /* -1: output discarded */
	int in_fd;           /* -1: no input */
	bool owns_out;       /* out_fd was opened here */
	bool raw;            /* terminal switched to raw mode, restore on close */
	bool escape;         /* last input byte was the escape key */
	bool in_held;        /* stdin not watched: its bytes wait for the device */
	struct termios saved;

	/* lock guards ring, client_on and wake_pending: output arrives on
	 * vCPU threads (the UART) and on the event loop (virtio-console). */
	pthread_mutex_t lock;
	bool ready;          /* lock, ring and wake_fd exist */
	struct console_ring ring;
	bool client_on;      /* a client is attached: wake the loop for output */
	bool wake_pending;   /* wake_fd written; the loop has not drained yet */
	int wake_fd;         /* eventfd: output for the client */
	uint64_t dropped_total;  /* over all clients, for the record */

	struct console_client client;   /* event-loop thread only */
};

/* 0, or -1 with a message on stderr. */
int console_open(struct console *c, enum console_mode mode, const char *path);
/* Gives an attached client what is left (without waiting), closes it, and
 * restores the terminal.  Safe to call twice. */
void console_close(struct console *c);
/* The UART's transmit callback. */
void console_tx(void *opaque, uint8_t byte);
/* The virtio console's: a run of bytes. */
void console_write(void *opaque, const uint8_t *buf, size_t len);
/* Pass input through the escape handling: copies what the guest should get
 * into out (room for n bytes) and returns its length; *quit becomes true on
 * "Ctrl-A x". */
size_t console_filter_input(struct console *c, const uint8_t *in, size_t n,
			    uint8_t *out, bool *quit);

/* The ring (no locking of its own). */
void console_ring_put(struct console_ring *r, const uint8_t *p, size_t n);
/* Copy up to max bytes from *pos on, without consuming them.  A *pos that
 * fell out of the ring first moves to its oldest byte, adding the bytes
 * skipped to *dropped. */
size_t console_ring_peek(const struct console_ring *r, uint64_t *pos, uint8_t *out,
			 size_t max, uint64_t *dropped);

/* Attach a client on fd (a non-blocking stream socket, owned by the console
 * from now on), with pre (pre_len bytes) as its first input.  0, -EBUSY
 * when one is attached already (fd stays the caller's), -ENOMEM.
 * Event-loop thread, as the other client calls. */
int console_attach(struct console *c, int fd, const uint8_t *pre, size_t pre_len);
/* Close the client, if any. */
void console_detach(struct console *c);
/* Send the client what it has not had yet, without blocking: 0 all sent,
 * 1 its socket is full (call again on EPOLLOUT), -1 it is gone. */
int console_client_flush(struct console *c);
/* Consume the wake_fd's count (the loop's handler for it). */
void console_take_wake(struct console *c);

#endif
