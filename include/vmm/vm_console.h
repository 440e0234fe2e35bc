/* The console client of `landlord console` on the VM's event loop: the API
 * hands over the upgraded connection, vm_console.c copies guest output to it
 * (from the console's ring) and its bytes to the guest's console device,
 * with the same backpressure as stdin.  Event-loop thread only. */
#ifndef LANDLORD_VMM_VM_CONSOLE_H
#define LANDLORD_VMM_VM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* Attach the client on fd (a connected stream socket; the console owns it
 * from here on), pre being input that came before the switch.  0, or a
 * negative errno (-EBUSY: a client is attached) and fd is still the
 * caller's. */
int vm_console_attach(struct vm *vm, int fd, const uint8_t *pre, size_t pre_len);
bool vm_console_attached(const struct vm *vm);

#endif
