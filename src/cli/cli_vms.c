/* `landlord ls|info|pause|resume|stop|kill`: manage running VMs, each only
 * through its API socket in the runtime directory (see base/runtime_dir.h). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/runtime_dir.h"
#include "cli/api_client.h"
#include "cli/cli.h"
#include "vmm/config.h"

#define STOP_WAIT_MS	10000

/* Same rule as `run --name`: the name can't leave the runtime directory. */
int cli_check_name(const char *s)
{
	if (vm_name_valid(s))
		return 0;
	fprintf(stderr, "landlord: invalid VM name '%s': use 1 to %d letters, digits, '.', '_' "
		"or '-', not starting with '.' or '-'\n", s, VM_NAME_MAX);
	return -1;
}

static int sock_path(const char *name, char *buf, size_t len)
{
	char err[256];

	if (runtime_socket_path(name, buf, len, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "landlord: %s\n", err);
		return -1;
	}
	return 0;
}

/* Remove path only if it is (still) a socket: a dead VM's leftover. */
static void remove_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
}

/* One request; on ECONNREFUSED try once more a moment later (a VM between
 * bind and listen), then treat the socket as stale and remove it. */
static int request(const char *path, const char *method, const char *url, const char *body,
		   struct api_response *resp, char *err, size_t errlen)
{
	int rc = api_request(path, method, url, body, API_CLIENT_TIMEOUT_MS, resp, err, errlen);

	if (rc == -ECONNREFUSED) {
		usleep(100000);
		rc = api_request(path, method, url, body, API_CLIENT_TIMEOUT_MS, resp, err, errlen);
		if (rc == -ECONNREFUSED)
			remove_stale(path);
	}
	return rc;
}

/* GET /landlord/info: 0 with the object, -ENOENT when there is no such VM
 * (absent or stale), another -errno with a reason in err. */
static int get_info(const char *path, json_t **info, char *err, size_t errlen)
{
	struct api_response r;
	json_error_t je;
	int rc = request(path, "GET", "/landlord/info", NULL, &r, err, errlen);

	*info = NULL;
	if (rc == -ECONNREFUSED)
		rc = -ENOENT;
	if (rc)
		return rc;
	if (r.status != 200) {
		snprintf(err, errlen, "GET /landlord/info: HTTP status %d", r.status);
		api_response_free(&r);
		return -EPROTO;
	}
	*info = json_loadb(r.body, r.body_len, 0, &je);
	api_response_free(&r);
	if (!*info || !json_is_object(*info)) {
		snprintf(err, errlen, "GET /landlord/info: not a JSON object");
		json_decref(*info);
		*info = NULL;
		return -EPROTO;
	}
	return 0;
}

static long long jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* A number (the server may send uptime_s with a fraction), floored; -1 if absent. */
static long long jnum(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	double d = json_is_number(v) ? json_number_value(v) : -1;

	return d >= 0 && d < 9e18 ? (long long)d : -1;
}

static const char *jstr(const json_t *o, const char *key, const char *dflt)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static void fmt_memory(char *buf, size_t len, long long mib)
{
	if (mib < 0)
		snprintf(buf, len, "-");
	else if (mib >= 1024 && mib % 1024 == 0)
		snprintf(buf, len, "%lldG", mib / 1024);
	else
		snprintf(buf, len, "%lldM", mib);
}

static void fmt_uptime(char *buf, size_t len, long long s)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

static void fmt_int(char *buf, size_t len, long long v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%lld", v);
}

/* Parse [--json] (and -h) for a command taking want_name names. */
static int parse_args(int argc, char **argv, int allow_json, int *json, const char **name,
		      const char *usage_line)
{
	int names = 0;

	*json = 0;
	for (int i = 1; i < argc; i++) {
		if (allow_json && strcmp(argv[i], "--json") == 0) {
			*json = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n", usage_line);
			return 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "landlord: %s: unknown option '%s' (usage: %s)\n",
				argv[0], argv[i], usage_line);
			return -1;
		} else if (name && names == 0) {
			*name = argv[i];
			names++;
		} else {
			fprintf(stderr, "landlord: %s: unexpected argument '%s' (usage: %s)\n",
				argv[0], argv[i], usage_line);
			return -1;
		}
	}
	if (name && !names) {
		fprintf(stderr, "landlord: %s: missing VM name (usage: %s)\n", argv[0], usage_line);
		return -1;
	}
	if (name && cli_check_name(*name) < 0)
		return -1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_ls(int argc, char **argv)
{
	char dir[4096], err[512];
	char **names = NULL;
	size_t n = 0, cap = 0;
	int json, rc;
	DIR *d;
	struct dirent *de;

	rc = parse_args(argc, argv, 1, &json, NULL, "landlord ls [--json]");
	if (rc)
		return rc < 0 ? 1 : 0;
	if (runtime_dir(dir, sizeof(dir), 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "landlord: %s\n", err);
		return 1;
	}
	d = opendir(dir);
	if (!d && errno != ENOENT && errno != ENOTDIR) {
		fprintf(stderr, "landlord: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l <= 5 || strcmp(de->d_name + l - 5, ".sock") != 0)
			continue;
		char *nm = strndup(de->d_name, l - 5);

		if (!nm || !vm_name_valid(nm)) {
			free(nm);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = realloc(names, cap * sizeof(*names));

			if (!nn) {
				free(nm);
				break;
			}
			names = nn;
		}
		names[n++] = nm;
	}
	if (d)
		closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);

	json_t *all = json_array();
	int width = 4;

	for (size_t i = 0; i < n; i++) {
		char path[4096 + 80];
		struct stat st;
		json_t *info = NULL;

		if (snprintf(path, sizeof(path), "%s/%s.sock", dir, names[i]) >= (int)sizeof(path))
			continue;
		if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		rc = get_info(path, &info, err, sizeof(err));
		if (rc == -ENOENT)
			continue;
		if (rc) {
			/* Alive but not answering (or answering nonsense). */
			info = json_pack("{s:s, s:s}", "name", names[i], "state", "unknown");
		}
		/* The file name is the VM's name in the table. */
		if (!json_is_string(json_object_get(info, "name")))
			json_object_set_new(info, "name", json_string(names[i]));
		json_array_append_new(all, info);
	}
	if (json) {
		char *s = json_dumps(all, JSON_INDENT(2));

		printf("%s\n", s ? s : "[]");
		free(s);
	} else {
		size_t i;
		json_t *info;

		json_array_foreach(all, i, info) {
			if ((int)strlen(jstr(info, "name", "?")) > width)
				width = (int)strlen(jstr(info, "name", "?"));
		}
		printf("%-*s  %-11s  %5s  %7s  %8s  %s\n", width, "NAME", "STATE", "VCPUS",
		       "MEMORY", "UPTIME", "PID");
		json_array_foreach(all, i, info) {
			char vcpus[24], mem[32], up[32], pid[24];

			fmt_int(vcpus, sizeof(vcpus), jint(info, "vcpus"));
			fmt_memory(mem, sizeof(mem), jint(info, "memory_mib"));
			fmt_uptime(up, sizeof(up), jnum(info, "uptime_s"));
			fmt_int(pid, sizeof(pid), jint(info, "pid"));
			printf("%-*s  %-11s  %5s  %7s  %8s  %s\n", width, jstr(info, "name", "?"),
			       jstr(info, "state", "unknown"), vcpus, mem, up, pid);
		}
	}
	json_decref(all);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return 0;
}

/* The arguments NAME [--json] and the VM's /landlord/info.  Returns -1 with
 * *info set when the caller should go on, else the exit status. */
static int named_info(int argc, char **argv, int allow_json, const char *usage,
		      const char **name, int *json, json_t **info)
{
	char path[4096 + 80], err[512];
	int rc;

	rc = parse_args(argc, argv, allow_json, json, name, usage);
	if (rc)
		return rc < 0 ? 1 : 0;
	if (sock_path(*name, path, sizeof(path)) < 0)
		return 1;
	rc = get_info(path, info, err, sizeof(err));
	if (rc == -ENOENT) {
		fprintf(stderr, "landlord: no VM named %s\n", *name);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "landlord: %s: %s\n", *name, err);
		return 1;
	}
	return -1;
}

int cli_info(int argc, char **argv)
{
	const char *name = NULL;
	json_t *info;
	int json, rc;

	rc = named_info(argc, argv, 1, "landlord info NAME [--json]", &name, &json, &info);
	if (rc >= 0)
		return rc;
	if (json) {
		char *s = json_dumps(info, JSON_INDENT(2));

		printf("%s\n", s ? s : "{}");
		free(s);
	} else {
		char mem[32], up[32], vcpus[24], pid[24];
		const json_t *devs = json_object_get(info, "devices");

		fmt_int(vcpus, sizeof(vcpus), jint(info, "vcpus"));
		fmt_memory(mem, sizeof(mem), jint(info, "memory_mib"));
		fmt_uptime(up, sizeof(up), jnum(info, "uptime_s"));
		fmt_int(pid, sizeof(pid), jint(info, "pid"));
		printf("name:    %s\n", jstr(info, "name", name));
		printf("state:   %s\n", jstr(info, "state", "unknown"));
		printf("pid:     %s\n", pid);
		printf("vcpus:   %s\n", vcpus);
		printf("memory:  %s\n", mem);
		printf("uptime:  %s\n", up);
		if (!json_is_array(devs) || json_array_size(devs) == 0) {
			printf("devices: none\n");
		} else {
			size_t i;
			const json_t *dv;

			printf("devices:\n");
			json_array_foreach(devs, i, dv) {
				const json_t *ro = json_object_get(dv, "read_only");
				const char *p = jstr(dv, "path", NULL);

				if (p && !*p)
					p = NULL;

				printf("  %-14s %-8s %s%s%s%s\n", jstr(dv, "kind", "?"),
				       jstr(dv, "id", "-"), jstr(dv, "transport", "-"),
				       p ? "  " : "", p ? p : "", json_is_true(ro) ? " (read-only)" : "");
			}
		}
	}
	json_decref(info);
	return 0;
}

/* A request with no answer body expected: 204 is success; a 400's
 * fault_message goes to stderr. */
static int simple_request(const char *name, const char *path, const char *method,
			  const char *url, const char *body)
{
	struct api_response r;
	char err[512];
	int rc = request(path, method, url, body, &r, err, sizeof(err));

	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		fprintf(stderr, "landlord: no VM named %s\n", name);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "landlord: %s: %s\n", name, err);
		return 1;
	}
	if (r.status >= 200 && r.status < 300) {
		api_response_free(&r);
		return 0;
	}
	json_t *o = json_loadb(r.body, r.body_len, 0, NULL);
	const char *msg = jstr(o, "fault_message", NULL);

	if (msg)
		fprintf(stderr, "landlord: %s: %s\n", name, msg);
	else
		fprintf(stderr, "landlord: %s: %s %s: HTTP status %d\n", name, method, url, r.status);
	json_decref(o);
	api_response_free(&r);
	return 1;
}

static int pause_resume(int argc, char **argv, const char *state, const char *usage_line)
{
	const char *name = NULL;
	char path[4096 + 80], body[64];
	int json, rc;

	rc = parse_args(argc, argv, 0, &json, &name, usage_line);
	if (rc)
		return rc < 0 ? 1 : 0;
	if (sock_path(name, path, sizeof(path)) < 0)
		return 1;
	snprintf(body, sizeof(body), "{\"state\": \"%s\"}", state);
	return simple_request(name, path, "PATCH", "/vm", body);
}

int cli_pause(int argc, char **argv)
{
	return pause_resume(argc, argv, "Paused", "landlord pause NAME");
}

int cli_resume(int argc, char **argv)
{
	return pause_resume(argc, argv, "Resumed", "landlord resume NAME");
}

int cli_stop(int argc, char **argv)
{
	const char *name = NULL;
	char path[4096 + 80];
	struct stat st;
	int json, rc;

	rc = parse_args(argc, argv, 0, &json, &name, "landlord stop NAME");
	if (rc)
		return rc < 0 ? 1 : 0;
	if (sock_path(name, path, sizeof(path)) < 0)
		return 1;
	rc = simple_request(name, path, "PUT", "/landlord/stop", "{\"mode\": \"hard\"}");
	if (rc)
		return rc;
	/* The VM removes its socket as it exits. */
	for (int waited = 0; waited < STOP_WAIT_MS; waited += 20) {
		if (lstat(path, &st) < 0 && errno == ENOENT)
			return 0;
		usleep(20000);
	}
	fprintf(stderr, "landlord: %s: still running %d s after the stop request\n", name,
		STOP_WAIT_MS / 1000);
	return 1;
}

int cli_kill(int argc, char **argv)
{
	const char *name = NULL;
	char path[4096 + 80];
	json_t *info;
	long long pid;
	int json, rc;

	rc = named_info(argc, argv, 0, "landlord kill NAME", &name, &json, &info);
	if (rc >= 0)
		return rc;
	pid = jint(info, "pid");
	json_decref(info);
	if (pid <= 1 || pid == (long long)getpid() || (long long)(pid_t)pid != pid) {
		fprintf(stderr, "landlord: %s: the VM reports no usable pid\n", name);
		return 1;
	}
	if (kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH) {
		fprintf(stderr, "landlord: %s: kill %lld: %s\n", name, pid, strerror(errno));
		return 1;
	}
	/* A killed VM can't remove its socket. */
	if (sock_path(name, path, sizeof(path)) == 0)
		remove_stale(path);
	return 0;
}
