/* `landlord run`: parse options into a vm_config, check it, run the VM. */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/x86/cpuid.h"
#include "base/runtime_dir.h"
#include "cli/api_client.h"
#include "cli/cli.h"
#include "vmm/config.h"
#include "vmm/vm.h"

#define DETACH_WAIT_MS 10000

enum { OPT_ON_REBOOT = 256, OPT_CPU_FEATURES, OPT_RNG, OPT_CONSOLE_DEVICE, OPT_TRANSPORT, OPT_API_SOCK, OPT_DETACH,
       OPT_CONFIG_FILE, OPT_NET, OPT_VSOCK };

static const struct option options[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'c' },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'p' },
	{ "name", required_argument, NULL, 'n' },
	{ "console", required_argument, NULL, 's' },
	{ "cpu-features", required_argument, NULL, OPT_CPU_FEATURES },
	{ "on-reboot", required_argument, NULL, OPT_ON_REBOOT },
	{ "disk", required_argument, NULL, 'd' },
	{ "rng", optional_argument, NULL, OPT_RNG },
	{ "net", required_argument, NULL, OPT_NET },
	{ "vsock", required_argument, NULL, OPT_VSOCK },
	{ "console-device", required_argument, NULL, OPT_CONSOLE_DEVICE },
	{ "virtio-transport", required_argument, NULL, OPT_TRANSPORT },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "detach", no_argument, NULL, OPT_DETACH },
	{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	const char *const *names = cpuid_feature_names();
	int col = 4;

	fputs("usage: landlord run --kernel FILE [OPTIONS]\n"
	      "       landlord run --api-sock PATH [OPTIONS]\n"
	      "       landlord run --config-file FILE [OPTIONS]\n"
	      "\n"
	      "Boot a Linux kernel (bzImage or ELF vmlinux) in a new VM; the serial\n"
	      "console is on standard output.  On a terminal, Ctrl-A x quits.\n"
	      "Without --kernel, the VM waits for its configuration on the API socket\n"
	      "(Firecracker's PUT /boot-source, /machine-config, /drives/ID, then\n"
	      "PUT /actions InstanceStart), or takes it from a Firecracker config file.\n"
	      "\n"
	      "  -k, --kernel FILE        kernel: bzImage, or ELF vmlinux (PVH or 64-bit entry)\n"
	      "  -i, --initrd FILE        initial ramdisk\n"
	      "  -c, --cmdline STR        kernel command line\n"
	      "  -m, --memory SIZE        guest RAM, e.g. 512M or 2G (default 256M, at least 16M)\n"
	      "  -p, --cpus N             vCPUs (default 1)\n"
	      "  -n, --name NAME          VM name (default vm-PID)\n"
	      "  -s, --console MODE       stdio (default), none, or file:PATH\n"
	      "      --cpu-features LIST  hide or require CPU features: -xsave,-rdrand,+x2apic\n"
	      "      --on-reboot ACTION   exit (default) or restart when the guest reboots\n"
	      "  -d, --disk path=FILE[,ro][,id=NAME][,transport=pci|mmio]\n"
	      "                           a virtio-blk disk (raw image or block device);\n"
	      "                           repeat for more, the first is the guest's vda\n"
	      "      --net tap=IFNAME[,mac=MAC][,id=NAME][,transport=pci|mmio]\n"
	      "                           a virtio-net interface on an existing tap device\n"
	      "                           (ip tuntap add dev IFNAME mode tap); up to 8\n"
	      "      --rng[=pci|mmio]     a virtio-rng device fed from getrandom()\n"
	      "      --vsock cid=N,uds=PATH[,transport=pci|mmio]\n"
	      "                           a virtio-vsock device (guest CID N >= 3); host\n"
	      "                           programs connect to PATH and send CONNECT PORT\n"
	      "                           (Firecracker's way), guest connections go to PATH_PORT\n"
	      "      --console-device DEV serial (default) or virtio: which device gets the\n"
	      "                           console (virtio: the guest uses console=hvc0)\n"
	      "      --virtio-transport T pci (default) or mmio, for devices that don't say;\n"
	      "                           mmio devices are added to the kernel command line\n"
	      "      --api-sock PATH      the control API's Unix socket (default: the runtime\n"
	      "                           directory's NAME.sock, which `landlord ls` finds)\n"
	      "      --config-file FILE   Firecracker's JSON VM configuration (boot-source,\n"
	      "                           machine-config, drives, ...), then start at once\n"
	      "      --detach             run the VM in the background and return once it\n"
	      "                           serves its API (needs --console none or file:PATH)\n"
	      "  -h, --help               this help\n"
	      "\n"
	      "exit status: 0 guest powered off (or rebooted with --on-reboot=exit),\n"
	      "1 bad arguments or set-up failure, 2 guest crashed (triple fault, KVM\n"
	      "error), 128+N stopped by signal N.\n"
	      "\n"
	      "cpu features:\n   ", f);
	for (; *names; names++) {
		int w = (int)strlen(*names) + 1;

		if (col + w > 78) {
			fputs("\n   ", f);
			col = 4;
		}
		fprintf(f, " %s", *names);
		col += w;
	}
	fputc('\n', f);
}

static int parse_option(struct vm_config *cfg, int opt, char *arg, char *err, size_t errlen)
{
	switch (opt) {
	case 'k': cfg->kernel_path = arg; return 0;
	case 'i': cfg->initrd_path = arg; return 0;
	case 'c': cfg->cmdline = arg; return 0;
	case 'm': return vm_config_set_memory(cfg, arg, err, errlen);
	case 'p': return vm_config_set_cpus(cfg, arg, err, errlen);
	case 'n': return vm_config_set_name(cfg, arg, err, errlen);
	case 's': return vm_config_set_console(cfg, arg, err, errlen);
	case OPT_ON_REBOOT: return vm_config_set_on_reboot(cfg, arg, err, errlen);
	case OPT_CPU_FEATURES: return cpuid_parse_features(arg, &cfg->cpu_mask, err, errlen);
	case 'd': return vm_config_add_disk(cfg, arg, err, errlen);
	case OPT_RNG: return vm_config_set_rng(cfg, arg, err, errlen);
	case OPT_NET: return vm_config_parse_net(cfg, arg, err, errlen);
	case OPT_VSOCK: return vm_config_parse_vsock(cfg, arg, err, errlen);
	case OPT_CONSOLE_DEVICE: return vm_config_set_console_device(cfg, arg, err, errlen);
	case OPT_TRANSPORT: return vm_config_set_transport(cfg, arg, err, errlen);
	case OPT_API_SOCK: cfg->api_sock = arg; return 0;
	case OPT_CONFIG_FILE: cfg->config_file = arg; return 0;
	}
	snprintf(err, errlen, "see landlord run --help");
	return -1;
}

/* The VM's process: its own session, no terminal; what it would print on
 * stderr before it is up goes to errfd, which the parent reads. */
static void detached_child(struct vm_config *cfg, int errfd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	setsid();
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	dup2(errfd, STDERR_FILENO);
	close(errfd);
	_exit(vm_run(cfg));
}

/* Wait (bounded) until the detached VM answers on its API socket, or dies. */
static int wait_detached(pid_t pid, const char *sock, int errfd)
{
	char buf[1024], err[256];
	struct api_response r;
	int status;
	ssize_t n;

	for (int i = 0; i < DETACH_WAIT_MS / 50; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			while ((n = read(errfd, buf, sizeof(buf))) > 0)
				(void)!write(STDERR_FILENO, buf, (size_t)n);
			warnx("run: the VM exited while starting (status %d)",
			      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			return EXIT_SETUP_ERROR;
		}
		if (api_request(sock, "GET", "/landlord/info", NULL, 1000, &r, err, sizeof(err)) == 0) {
			api_response_free(&r);
			return 0;
		}
		usleep(50 * 1000);
	}
	warnx("run: the VM (pid %d) did not answer on %s within %d s", (int)pid, sock,
	      DETACH_WAIT_MS / 1000);
	return EXIT_SETUP_ERROR;
}

/* --detach: the VM runs in a child process; this one returns once the VM
 * serves its API, printing its name, so scripts can go on with it. */
static int run_detached(struct vm_config *cfg)
{
	char sock[4096], err[256];
	struct api_response r;
	int pipefd[2], rc;
	pid_t pid;

	if (cfg->console == CONSOLE_STDIO) {
		warnx("run: --detach needs --console none or --console file:PATH");
		return EXIT_SETUP_ERROR;
	}
	if (cfg->api_sock)
		snprintf(sock, sizeof(sock), "%s", cfg->api_sock);
	else if (runtime_socket_path(cfg->name, sock, sizeof(sock), 1, err, sizeof(err)) < 0) {
		warnx("run: %s", err);
		return EXIT_SETUP_ERROR;
	}
	/* Otherwise the wait below would take that VM's answer for ours. */
	if (api_request(sock, "GET", "/landlord/info", NULL, 1000, &r, err, sizeof(err)) == 0) {
		api_response_free(&r);
		warnx("run: a VM named %s is already running (socket %s)", cfg->name, sock);
		return EXIT_SETUP_ERROR;
	}
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0 || (pid = fork()) < 0) {
		warn("run: --detach");
		return EXIT_SETUP_ERROR;
	}
	if (pid == 0) {
		close(pipefd[0]);
		detached_child(cfg, pipefd[1]);
	}
	close(pipefd[1]);
	rc = wait_detached(pid, sock, pipefd[0]);
	close(pipefd[0]);
	if (rc == 0)
		printf("%s\n", cfg->name);
	return rc;
}

int cli_run(int argc, char **argv)
{
	struct vm_config cfg;
	char err[256];
	bool detach = false;
	int opt, rc;

	vm_config_defaults(&cfg);
	opterr = 0;   /* report bad options ourselves, in one line */
	while ((opt = getopt_long(argc, argv, "+k:i:c:m:p:n:s:d:h", options, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt == OPT_DETACH) {
			detach = true;
			continue;
		}
		if (opt == '?' || opt == ':') {
			if (optopt && optopt < 256)
				warnx("run: bad or incomplete option '-%c' (see landlord run --help)", optopt);
			else
				warnx("run: bad or incomplete option '%s' (see landlord run --help)",
				      argv[optind - 1]);
			return EXIT_SETUP_ERROR;
		}
		if (parse_option(&cfg, opt, optarg, err, sizeof(err)) < 0) {
			warnx("run: %s", err);
			return EXIT_SETUP_ERROR;
		}
	}
	if (optind < argc) {
		warnx("run: unexpected argument '%s' (see landlord run --help)", argv[optind]);
		return EXIT_SETUP_ERROR;
	}
	if (!cfg.kernel_path && !cfg.api_sock && !cfg.config_file) {
		warnx("run: no kernel: use --kernel FILE (or --api-sock PATH to configure "
		      "the VM through the API, or --config-file FILE)");
		return EXIT_SETUP_ERROR;
	}
	/* A VM configured later (API, config file) is checked when it starts. */
	if ((cfg.kernel_path ? vm_config_validate(&cfg, err, sizeof(err)) :
			       vm_config_validate_virtio(&cfg, err, sizeof(err))) < 0) {
		warnx("run: %s", err);
		return EXIT_SETUP_ERROR;
	}
	rc = detach ? run_detached(&cfg) : vm_run(&cfg);
	vm_config_free(&cfg);
	return rc;
}
