/* The serial console's host side: where guest output goes (stdout, a file or
 * nowhere) and where its input comes from (stdin).  On a terminal stdin is
 * put in raw mode and "Ctrl-A x" quits, as in QEMU; "Ctrl-A Ctrl-A" sends a
 * literal Ctrl-A. */
#ifndef LANDLORD_BACKENDS_CONSOLE_H
#define LANDLORD_BACKENDS_CONSOLE_H

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

struct console {
	enum console_mode mode;
	int out_fd;          /* -1: output discarded */
	int in_fd;           /* -1: no input */
	bool owns_out;       /* out_fd was opened here */
	bool raw;            /* terminal switched to raw mode, restore on close */
	bool escape;         /* last input byte was the escape key */
	struct termios saved;
};

/* 0, or -1 with a message on stderr. */
int console_open(struct console *c, enum console_mode mode, const char *path);
/* Restores the terminal.  Safe to call twice. */
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

#endif
