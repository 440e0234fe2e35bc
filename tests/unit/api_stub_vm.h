/* Shared by the API unit tests (test_api.c, test_api_config.c): the stub VM,
 * and helpers that send one request through api_route() and check the reply. */
#ifndef LANDLORD_TESTS_API_STUB_VM_H
#define LANDLORD_TESTS_API_STUB_VM_H

#include <stdbool.h>

#include "api/api_internal.h"
#include "base/event_loop.h"
#include "vmm/config.h"
#include "vmm/vm_control.h"

/* The stub VM: vm_control.h implemented on a struct of our own, with a
 * real vm_config behind it (config.c and config_put.c are linked). */
struct vm {
	struct event_loop loop;
	enum vm_run_state state;
	int stops;
	int buttons;
	int ctrl_alt_dels;
	struct vm_config cfg;
};

/* A stub VM in state: 3 CPUs, 96 MiB; once started, a kernel and two disks. */
void stub_init(struct vm *vm, enum vm_run_state state);

/* One request straight to the router (no server). */
struct api_reply route(struct vm *vm, const char *method, const char *url, const char *body);

/* The reply's status is want, and its fault_message (if want >= 400)
 * contains fault. */
void expect(struct vm *vm, const char *method, const char *url, const char *body,
	    unsigned want, const char *fault);

/* PUT url with a body made by printf. */
void expectf(struct vm *vm, const char *method, const char *url, unsigned want,
	     const char *fault, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
