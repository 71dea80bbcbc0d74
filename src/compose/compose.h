/*
 * compose.h - the HTTP API's sending requests turned into mail, as pure
 * functions: a parsed JSON request (jansson) in, a checked envelope and
 * the message's bytes out, or a refusal naming the field and the stable
 * error code of the API (docs/api.md, "Message fields").
 *
 *	POST /v1/messages	compose_message()
 *	POST /v1/messages/raw	compose_raw()
 *	POST /v1/messages/batch	compose_batch_new(), then compose_batch_build() per recipient
 *
 * Messages are built with GMime (RFC 5322, RFC 2045-2047, RFC 2231, RFC 2387):
 * multipart/alternative for text and html, multipart/related for inline
 * parts, multipart/mixed for attachments; encoded words for non-ASCII
 * header text; each part in 7bit, quoted-printable or base64 as GMime
 * judges best, so that every built message is 7-bit with lines of at most
 * 998 bytes. Addresses are judged by the SMTP server's parser
 * (smtp_addr_parse) and written as RCPT TO takes them.
 *
 * No sockets, no event loop, no globals but GMime's set-up (mime_init):
 * any thread may call these, one thread at a time per batch. The caller
 * (the HTTP handlers) owns the request; nothing here changes it.
 */
#ifndef STERNA_COMPOSE_COMPOSE_H
#define STERNA_COMPOSE_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/buf.h"

/* What the configuration bounds; compose_limits_init() sets the defaults. */
struct compose_limits {
	const char *hostname;		/* Message-ID's right side (server.hostname); borrowed */
	size_t max_rcpts;		/* to, cc and bcc entries of one message together: 50 */
	size_t max_batch;		/* recipients of a batch: 1,000 */
	uint64_t max_message_bytes;	/* a message as built or given: 35 MiB (smtp.max_message_bytes) */
	int64_t max_send_ahead_s;	/* send_at at most this far ahead: 30 days */
};

/* Fixed bounds of a request (docs/api.md tells them). */
#define COMPOSE_MAX_ATTACHMENTS 100
#define COMPOSE_MAX_HEADERS 50
#define COMPOSE_MAX_HEADER_VALUE 4096	/* bytes of one extra header field's value */
#define COMPOSE_MAX_SUBJECT 998		/* bytes, as given */
#define COMPOSE_MAX_NAME 256		/* bytes of a display name */
#define COMPOSE_MAX_TAGS 10
#define COMPOSE_MAX_TAG 128		/* bytes of one tag */
#define COMPOSE_MAX_METADATA 20		/* keys */
#define COMPOSE_MAX_METADATA_KEY 64
#define COMPOSE_MAX_METADATA_VALUE 1024
#define COMPOSE_MAX_VARS 100		/* distinct {{NAME}}s of a batch, and names per recipient */
#define COMPOSE_MAX_SUBST_BYTES 65536	/* the substitution values of one recipient together */
#define COMPOSE_PAST_SLACK_S 60		/* a send_at this close behind now means now (clock skew) */

void compose_limits_init(struct compose_limits *lim);

/*
 * A refusal, as the API answers it: {"error": {"code", "message"}} with
 * http_status, and the field named. Codes (static strings, never changing
 * for the same cause): "invalid_request" (400: the body is no JSON
 * object), "invalid_field" (422: field names the JSON path, e.g.
 * "to[2].email", "attachments[0].content", "headers.X-Campaign"),
 * "too_many_recipients" (422: field "to" or "recipients"),
 * "body_too_large" (413: the message built or given is over
 * max_message_bytes).
 */
struct compose_err {
	int http_status;
	const char *code;
	char field[128];	/* "" when the request as a whole is meant */
	char message[256];	/* for a person; field values quoted at most in part */
};

/*
 * One message ready for the queue. Strings and the message are owned by
 * the result (compose_result_clear frees them).
 */
struct compose_result {
	char *sender;		/* the envelope sender, formatted as MAIL FROM takes it */
	char **rcpts;		/* formatted, deduplicated (ASCII case ignored), to then cc then bcc */
	size_t nrcpts;
	int is_8bitmime;	/* raw only: the message holds bytes >= 0x80 (built ones never do) */
	int is_smtputf8;	/* an address, or a raw message's header section, is UTF-8 (RFC 6531) */
	int64_t send_at_s;	/* first attempt not before, seconds since the epoch; 0: at once */
	/*
	 * tags (array of strings) and metadata (object of strings), for the
	 * events of this message: new references to copies, NULL when absent.
	 * They are not in the message (its recipients must not see them).
	 */
	json_t *tags;
	json_t *metadata;
	struct buf message;	/* CRLF lines, the last one ended, not dot-stuffed: for msg_sub_write */
};

/* Empties r and frees what it holds; r may be cleared again. */
void compose_result_clear(struct compose_result *r);

/*
 * POST /v1/messages: req (borrowed) checked field by field and built into
 * *out, which the caller has not set up (it is overwritten). now_s is the
 * time of the request (Date, and the reference of send_at); id_left is
 * Message-ID's left side (the queue id, as the submission core makes it:
 * <QID@hostname>), borrowed. Returns 0, or -1 with *err filled and *out
 * empty (compose_result_clear is harmless either way).
 */
int compose_message(const json_t *req, const struct compose_limits *lim, int64_t now_s,
    const char *id_left, struct compose_result *out, struct compose_err *err);

/*
 * POST /v1/messages/raw: from, to, and the message as text ("message") or
 * base64 ("message_base64", for 8-bit bytes); send_at, tags, metadata as
 * for compose_message. The message is kept as given but for line ends
 * (LF, CR and CRLF each become CRLF, as for the pickup folder), after
 * checks: no NUL, lines of at most 998 bytes, a header section that opens
 * the message and holds a From field, at most max_message_bytes. The
 * submission core still adds Received, and Message-ID and Date when
 * missing. Returns as compose_message.
 */
int compose_raw(const json_t *req, const struct compose_limits *lim, int64_t now_s,
    struct compose_result *out, struct compose_err *err);

struct compose_batch;

/*
 * POST /v1/messages/batch: the fields of a message (no to, cc or bcc)
 * plus recipients, [{"to": ADDRESS, "substitutions": {NAME: VALUE}}],
 * 1 to max_batch of them, each address once. Everything is checked here,
 * once: a batch that comes back builds a message for every recipient,
 * unless one passes max_message_bytes only once encoded (the handler then
 * refuses the whole batch: nothing of it may be queued). Keeps a reference
 * to req (the values are read from it, not copied): the caller must not
 * change req until compose_batch_free. *lim is copied, its hostname
 * borrowed until then too. Returns a new batch, or NULL with *err filled.
 */
struct compose_batch *compose_batch_new(const json_t *req, const struct compose_limits *lim,
    int64_t now_s, struct compose_err *err);
/* How many recipients, hence messages. */
size_t compose_batch_count(const struct compose_batch *b);
/*
 * The message of recipient i (< count) into *out (overwritten): one
 * recipient, To naming only them, {{NAME}} replaced in subject, text and
 * html by their substitution (HTML-escaped in html; a name they lack is
 * left as written). Attachments are encoded once for the whole batch.
 * Returns 0, or -1 with *err (only "body_too_large") and *out empty.
 */
int compose_batch_build(struct compose_batch *b, size_t i, const char *id_left,
    struct compose_result *out, struct compose_err *err);
/* Frees *b (NULL allowed) and drops its reference to the request. */
void compose_batch_free(struct compose_batch **b);

#endif
