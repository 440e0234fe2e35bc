/* landlord: one process per VM.  This file only picks the sub-command. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define VERSION "0.1.0"

static void usage(FILE *f)
{
	fputs("usage: landlord COMMAND [OPTIONS]\n"
	      "\n"
	      "landlord runs virtual machines on Linux KVM, one process per VM.\n"
	      "\n"
	      "commands:\n"
	      "  run        boot a VM from a Linux kernel (see landlord run --help)\n"
	      "\n"
	      "options:\n"
	      "  -h, --help     this help\n"
	      "  -V, --version  print the version\n", f);
}

int main(int argc, char **argv)
{
	/* A closed stdout must not kill the VM when the guest prints. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		puts("landlord " VERSION);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return cli_run(argc - 1, argv + 1);
	fprintf(stderr, "landlord: unknown command '%s' (see landlord --help)\n", argv[1]);
	return 1;
}
