/* Request bodies, checked strictly: a body that is not JSON, a field of the
 * wrong type, a missing, unknown or duplicate field is 400 with a
 * fault_message that names it; and the fault bodies themselves. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api/api_internal.h"

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

static bool type_ok(json_t *v, json_type want)
{
	if (want == JSON_TRUE)
		return json_is_boolean(v);
	return json_typeof(v) == want;
}

json_t *api_parse_body(const char *body, size_t len, const struct api_field *fields,
			  size_t nr_fields, struct api_reply *r)
{
	json_error_t e;
	const char *key;
	json_t *root, *v;

	if (len == 0 || strspn(body, " \t\r\n") == len) {
		api_fault(r, HTTP_BAD_REQUEST, "the request needs a JSON body");
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (!root) {
		api_fault(r, HTTP_BAD_REQUEST, "invalid JSON body (line %d, column %d): %s",
			  e.line, e.column, e.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		api_fault(r, HTTP_BAD_REQUEST, "the body must be a JSON object, not %s",
			  type_name(json_typeof(root)));
		goto bad;
	}
	json_object_foreach(root, key, v) {
		size_t i;

		for (i = 0; i < nr_fields; i++)
			if (!strcmp(key, fields[i].name))
				break;
		if (i == nr_fields) {
			api_fault(r, HTTP_BAD_REQUEST, "unknown field \"%s\"", key);
			goto bad;
		}
		if (!type_ok(v, fields[i].type)) {
			api_fault(r, HTTP_BAD_REQUEST, "field \"%s\" must be %s, not %s",
				  key, type_name(fields[i].type), type_name(json_typeof(v)));
			goto bad;
		}
	}
	for (size_t i = 0; i < nr_fields; i++) {
		if (fields[i].required && !json_object_get(root, fields[i].name)) {
			api_fault(r, HTTP_BAD_REQUEST, "missing field \"%s\"", fields[i].name);
			goto bad;
		}
	}
	return root;
bad:
	json_decref(root);
	return NULL;
}

const char *api_one_string(const char *body, size_t len, const char *name,
			      json_t **root, struct api_reply *r)
{
	const struct api_field f[] = { { name, JSON_STRING, true } };
	const char *val = NULL;
	json_error_t e;

	*root = api_parse_body(body, len, f, 1, r);
	if (!*root)
		return NULL;
	if (json_unpack_ex(*root, &e, JSON_STRICT, "{s:s}", name, &val) < 0) {
		api_fault(r, HTTP_BAD_REQUEST, "field \"%s\": %s", name, e.text);
		json_decref(*root);
		*root = NULL;
		return NULL;
	}
	return val;
}

void api_fault(struct api_reply *r, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(r->body);
	r->status = status;
	r->body = json_pack("{s:s}", "fault_message", msg);
	if (!r->body) {
		/* Not UTF-8 (a client's path, say): keep it ASCII. */
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		r->body = json_pack("{s:s}", "fault_message", msg);
	}
}
