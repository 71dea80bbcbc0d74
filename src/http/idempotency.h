/*
 * idempotency.h - the Idempotency-Key table of the HTTP API's sending
 * endpoints (idempotency.c): loop thread only.
 */
#ifndef STERNA_HTTP_IDEMPOTENCY_H
#define STERNA_HTTP_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

enum idem_result {
	IDEM_NEW,	/* not seen: go on, and call idem_end() with the reply */
	IDEM_REPLAY,	/* seen with this body: give *status_out and *reply_out again */
	IDEM_CONFLICT,	/* seen with another body: 409 */
	IDEM_BUSY,	/* the first request with it has not been answered yet: 409 */
};

struct idem;

struct idem *idem_new(size_t max_entries);
void idem_free(struct idem **t);
/*
 * The client's key client_key of API key key_id, for a body whose SHA-256
 * (hex) is body_hash, at now_s; entries older than 24 hours are gone.
 * With IDEM_REPLAY, *reply_out is a new reference.
 */
enum idem_result idem_begin(struct idem *t, const char *key_id, const char *client_key,
    const char *body_hash, uint64_t now_s, int *status_out, json_t **reply_out);
/* The reply to keep for it (reply borrowed); NULL forgets the key (nothing was accepted). */
void idem_end(struct idem *t, const char *key_id, const char *client_key, int status,
    json_t *reply);

#endif
