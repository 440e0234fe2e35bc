/* Firecracker's JSON configuration file (`--config-file FILE`): each
 * section is applied exactly as the PUT request it stands for, through the
 * same routes, so the file and the API accept and refuse the same things. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"
#include "api/api_internal.h"

#define CONFIG_FILE_MAX (1u << 20)

/* The sections in the order they are applied: the log first, so that what
 * follows is logged there; the machine before its devices. */
static const struct section {
	const char *key;
	const char *url;        /* PUT here; NULL: landlord has no such device */
	const char *id_field;   /* for arrays: the field that is the {id} */
} sections[] = {
	{ "logger", "/logger", NULL },
	{ "metrics", "/metrics", NULL },
	{ "machine-config", "/machine-config", NULL },
	{ "boot-source", "/boot-source", NULL },
	{ "drives", "/drives/", "drive_id" },
	{ "network-interfaces", "/network-interfaces/", "iface_id" },
	{ "vsock", "/vsock", NULL },
	{ "entropy", "/entropy", NULL },
	{ "balloon", NULL, NULL },
	{ "mmds-config", NULL, NULL },
	{ "cpu-config", NULL, NULL },
};

#define NR_SECTIONS (sizeof(sections) / sizeof(sections[0]))

/* PUT one object to url; 0, or -1 with err naming where in the file. */
static int put(struct vm *vm, const char *url, json_t *obj, const char *where,
	       char *err, size_t errlen)
{
	struct api_reply r = { 0 };
	const char *fault;
	char *body;
	int rc = 0;

	if (!json_is_object(obj)) {
		snprintf(err, errlen, "%s: must be an object", where);
		return -1;
	}
	body = json_dumps(obj, JSON_COMPACT);
	if (!body) {
		snprintf(err, errlen, "%s: out of memory", where);
		return -1;
	}
	api_route(vm, "PUT", url, body, strlen(body), &r);
	if (r.status >= 300) {
		fault = json_string_value(json_object_get(r.body, "fault_message"));
		snprintf(err, errlen, "%s: %s", where, fault ? fault : "refused");
		rc = -1;
	}
	json_decref(r.body);
	free(body);
	return rc;
}

/* An array section: one PUT per element, its id taken from id_field. */
static int put_each(struct vm *vm, const struct section *s, json_t *arr,
		    char *err, size_t errlen)
{
	char url[128], where[96];
	size_t i;
	json_t *el;

	if (!json_is_array(arr)) {
		snprintf(err, errlen, "\"%s\": must be an array", s->key);
		return -1;
	}
	json_array_foreach(arr, i, el) {
		const char *id = json_string_value(json_object_get(el, s->id_field));

		snprintf(where, sizeof(where), "\"%s\"[%zu]", s->key, i);
		if (!id || !id[0] || strlen(id) > API_MAX_ID || strchr(id, '/')) {
			snprintf(err, errlen, "%s: \"%s\" must be a string of 1 to %d "
				 "characters, without '/'", where, s->id_field, API_MAX_ID);
			return -1;
		}
		snprintf(url, sizeof(url), "%s%s", s->url, id);
		if (put(vm, url, el, where, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int apply(struct vm *vm, json_t *root, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	char where[64];

	json_object_foreach(root, key, v) {
		size_t i;

		for (i = 0; i < NR_SECTIONS && strcmp(key, sections[i].key); i++)
			;
		if (i == NR_SECTIONS) {
			snprintf(err, errlen, "unknown section \"%s\"", key);
			return -1;
		}
	}
	for (size_t i = 0; i < NR_SECTIONS; i++) {
		const struct section *s = &sections[i];

		v = json_object_get(root, s->key);
		if (!v || json_is_null(v))
			continue;
		snprintf(where, sizeof(where), "\"%s\"", s->key);
		if (!s->url) {
			snprintf(err, errlen, "%s: landlord has no such device yet", where);
			return -1;
		}
		if (s->id_field ? put_each(vm, s, v, err, errlen) < 0 :
				  put(vm, s->url, v, where, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* The file's JSON, read whole (at most CONFIG_FILE_MAX bytes). */
static json_t *load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;
	json_error_t e;
	json_t *root = NULL;

	if (!f) {
		snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	n = buf ? fread(buf, 1, CONFIG_FILE_MAX + 1, f) : 0;
	if (!buf || ferror(f))
		snprintf(err, errlen, "config file %s: cannot read it", path);
	else if (n > CONFIG_FILE_MAX)
		snprintf(err, errlen, "config file %s: larger than %u KiB", path,
			 CONFIG_FILE_MAX >> 10);
	else if (!(root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &e)))
		snprintf(err, errlen, "config file %s: line %d, column %d: %s", path,
			 e.line, e.column, e.text);
	free(buf);
	fclose(f);
	return root;
}

int api_apply_config_file(struct vm *vm, const char *path, char *err, size_t errlen)
{
	char why[384];
	json_t *root;
	int rc;

	root = load(path, err, errlen);
	if (!root)
		return -1;
	if (!json_is_object(root)) {
		snprintf(err, errlen, "config file %s: must be a JSON object", path);
		json_decref(root);
		return -1;
	}
	rc = apply(vm, root, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "config file %s: %s", path, why);
	else if (!json_object_get(root, "boot-source"))
		snprintf(err, errlen, "config file %s: no \"boot-source\"", path), rc = -1;
	json_decref(root);
	return rc;
}
