/*
 * sender.c - whose envelope sender an authenticated user may use
 * (RFC 6409 6.1: a submission server may check that the sender is the
 * user's). A user may send as:
 *   - their own address at every local domain: NAME@DOMAIN, and NAME+tag@DOMAIN
 *     with local.recipient_delimiter;
 *   - each sender=ADDRESS of their line in the users file (with +tag too);
 *   - the null sender <> (bounces and automatic replies);
 *   - anything at all with any_sender.
 * Local parts are compared without regard to ASCII case, as local.c does.
 */
#include "policy/policy.h"

#include <string.h>

#include "util/ascii.h"

/* local[0..len) without its +tag (local.recipient_delimiter): the new length. */
static size_t
untagged_len(const struct config *c, const char *local, size_t len)
{
	const char *d;

	if (c->recipient_delimiter == '\0' || (d = memchr(local, c->recipient_delimiter, len)) == NULL ||
	    d == local)
		return len;
	return (size_t)(d - local);
}

static int
same_local(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && ascii_casen_eq(a, b, alen);
}

int
policy_sender_ok(const struct config *c, const char *user, const struct smtp_addr *from)
{
	const struct config_user *u = config_find_user(c, user);
	size_t len;

	if (u == NULL)
		return 0;
	if (u->may_send_as_any || from->is_null)
		return 1;
	if (from->is_bare_postmaster || from->is_literal || from->has_route || from->has_utf8)
		return 0;
	len = untagged_len(c, from->local, from->local_len);
	if (config_is_local_domain(c, from->domain) && same_local(from->local, len, u->name,
	    strlen(u->name)))
		return 1;
	for (size_t i = 0; i < u->nsenders; i++) {
		const char *s = u->senders[i], *at = strrchr(s, '@');

		if (at == NULL || strcmp(at + 1, from->domain) != 0)
			continue;
		/* the exact address, or its +tag form */
		if (same_local(from->local, from->local_len, s, (size_t)(at - s)) ||
		    same_local(from->local, len, s, (size_t)(at - s)))
			return 1;
	}
	return 0;
}
