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
	      "  ls         list the VMs running on this host [--json]\n"
	      "  info NAME  show one VM: state, vCPUs, memory, devices [--json]\n"
	      "  pause NAME, resume NAME\n"
	      "             stop and restart a VM's vCPUs\n"
	      "  stop NAME  stop a VM (its process exits 0)\n"
	      "  kill NAME  kill a VM's process (SIGKILL)\n"
	      "  console NAME\n"
	      "             attach to a VM's serial console; Ctrl-] detaches\n"
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
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "run", cli_run }, { "ls", cli_ls }, { "info", cli_info },
		{ "pause", cli_pause }, { "resume", cli_resume }, { "stop", cli_stop },
		{ "kill", cli_kill }, { "console", cli_console },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "landlord: unknown command '%s' (see landlord --help)\n", argv[1]);
	return 1;
}
