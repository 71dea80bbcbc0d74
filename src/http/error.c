/*
 * error.c - the API's errors (docs/api.md, "Errors"): each cause has one
 * code that never changes and one HTTP status, and every refusal, the
 * server's own included, is the one shape {"error": {"code", "message"}}.
 * Pure: tests/unit/test_http.c checks the table against the docs' list.
 */
#include "http/http_int.h"

#include "util/xalloc.h"

static const struct {
	const char *code;
	int status;
} errs[HTTP_NERRS] = {
	[HTTP_ERR_INVALID_JSON] = { "invalid_json", 400 },
	[HTTP_ERR_INVALID_REQUEST] = { "invalid_request", 400 },
	[HTTP_ERR_UNAUTHORIZED] = { "unauthorized", 401 },
	[HTTP_ERR_FORBIDDEN] = { "forbidden", 403 },
	[HTTP_ERR_NOT_FOUND] = { "not_found", 404 },
	[HTTP_ERR_METHOD_NOT_ALLOWED] = { "method_not_allowed", 405 },
	[HTTP_ERR_REQUEST_TIMEOUT] = { "request_timeout", 408 },
	[HTTP_ERR_IDEMPOTENCY_CONFLICT] = { "idempotency_conflict", 409 },
	[HTTP_ERR_BODY_TOO_LARGE] = { "body_too_large", 413 },
	[HTTP_ERR_UNSUPPORTED_MEDIA_TYPE] = { "unsupported_media_type", 415 },
	[HTTP_ERR_EXPECTATION_FAILED] = { "expectation_failed", 417 },
	[HTTP_ERR_INVALID_FIELD] = { "invalid_field", 422 },
	[HTTP_ERR_TOO_MANY_RECIPIENTS] = { "too_many_recipients", 422 },
	[HTTP_ERR_RATE_LIMITED] = { "rate_limited", 429 },
	[HTTP_ERR_HEADERS_TOO_LARGE] = { "headers_too_large", 431 },
	[HTTP_ERR_NOT_IMPLEMENTED] = { "not_implemented", 501 },
	[HTTP_ERR_UNAVAILABLE] = { "unavailable", 503 },
};

const char *
http_err_code(enum http_err e)
{
	ASSERT((unsigned)e < HTTP_NERRS);
	return errs[e].code;
}

int
http_err_status(enum http_err e)
{
	ASSERT((unsigned)e < HTTP_NERRS);
	return errs[e].status;
}

json_t *
http_error_json(enum http_err e, const char *message, const char *field)
{
	json_t *inner = json_pack("{s:s,s:s}", "code", http_err_code(e), "message", message);

	/* a message built from a client's bytes may not be UTF-8: say so rather than fail */
	if (inner == NULL)
		inner = json_pack("{s:s,s:s}", "code", http_err_code(e), "message",
		    "(the message held bytes that are not UTF-8)");
	ASSERT(inner != NULL);
	if (field != NULL && json_object_set_new(inner, "field", json_string(field)) == -1)
		json_object_set_new(inner, "field", json_string("?"));
	return json_pack("{s:o}", "error", inner);
}

const char *
http_status_text(int status)
{
	static const struct { int status; const char *text; } texts[] = {
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" }, { 204, "No Content" },
		{ 303, "See Other" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 409, "Conflict" }, { 413, "Content Too Large" }, { 415, "Unsupported Media Type" },
		{ 417, "Expectation Failed" }, { 422, "Unprocessable Content" },
		{ 429, "Too Many Requests" }, { 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 503, "Service Unavailable" },
	};

	for (size_t i = 0; i < NELEM(texts); i++)
		if (texts[i].status == status)
			return texts[i].text;
	return "Unknown";
}
