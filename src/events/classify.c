/*
 * classify.c - what a failed delivery means to the sender, from the reply
 * alone: the enhanced status code first (RFC 3463: its subject and detail
 * say what failed), then words of the text for replies without one, or
 * whose code is too general (5.7.1 "blocked" is as often spam as policy).
 * Pure.
 */
#include "events/events.h"

#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "util/ascii.h"
#include "util/xalloc.h"

/* Parses "C.S.D" (RFC 3463 2): 0, or -1 when dsn is none. */
static int
dsn_parse(const char *dsn, unsigned *class_out, unsigned *subject_out, unsigned *detail_out)
{
	char tail;

	if (dsn == NULL || sscanf(dsn, "%u.%u.%u%c", class_out, subject_out, detail_out, &tail) != 3)
		return -1;
	return *class_out == 2 || *class_out == 4 || *class_out == 5 ? 0 : -1;
}

/* 1 if text holds one of words, without regard to ASCII case. */
static int
says(const char *text, const char *const *words, size_t n)
{
	char lower[512];
	size_t len = 0;

	for (; text != NULL && text[len] != '\0' && len + 1 < sizeof(lower); len++)
		lower[len] = (char)ascii_tolower((unsigned char)text[len]);
	lower[len] = '\0';
	for (size_t i = 0; i < n; i++)
		if (strstr(lower, words[i]) != NULL)
			return 1;
	return 0;
}

static const char *const spam_words[] = {
	"spam", "blocklist", "blacklist", "block list", "black list", "listed", "reputation",
	"rbl", "spamhaus", "barracuda", "junk",
};
static const char *const mailbox_words[] = {
	"user unknown", "unknown user", "no such user", "no such mailbox", "does not exist",
	"mailbox unavailable", "invalid recipient", "recipient rejected", "address rejected",
	"not found", "unknown recipient", "mailbox disabled", "account disabled",
};
static const char *const full_words[] = {
	"quota", "mailbox full", "mailbox is full", "insufficient storage", "over limit",
};

/* The category by the enhanced status; NONE when it does not say. */
static enum bounce_category
by_status(unsigned subject, unsigned detail)
{
	switch (subject) {
	case 1:	/* addressing */
		if (detail == 2 || detail == 10)	/* bad destination system; null MX, RFC 7505 */
			return BOUNCE_DNS;
		if (detail == 1 || detail == 3 || detail == 6)
			return BOUNCE_BAD_MAILBOX;
		return BOUNCE_CAT_NONE;
	case 2:	/* mailbox */
		if (detail == 2)
			return BOUNCE_MAILBOX_FULL;
		if (detail == 1)
			return BOUNCE_BAD_MAILBOX;	/* disabled, not accepting messages */
		if (detail == 3)
			return BOUNCE_POLICY;		/* message length exceeds a limit */
		return BOUNCE_CAT_NONE;
	case 3:	/* mail system */
		return detail == 4 ? BOUNCE_POLICY : BOUNCE_CAT_NONE;	/* too big for the system */
	case 4:	/* network and routing */
		return detail == 4 ? BOUNCE_DNS : BOUNCE_CAT_NONE;		/* unable to route */
	case 7:	/* security and policy */
		return BOUNCE_POLICY;
	default:
		return BOUNCE_CAT_NONE;
	}
}

void
events_classify(int code, const char *dsn, const char *text, enum bounce_class *class_out,
    enum bounce_category *category_out)
{
	unsigned class = 0, subject = 0, detail = 0;
	enum bounce_category cat = BOUNCE_CAT_NONE;

	if (dsn_parse(dsn, &class, &subject, &detail) == 0)
		cat = by_status(subject, detail);
	else
		class = code >= 500 && code <= 599 ? 5 : code >= 400 && code <= 499 ? 4 : 0;
	/* the words refine what the code leaves open: a policy refusal may be spam's */
	if ((cat == BOUNCE_CAT_NONE || cat == BOUNCE_POLICY) &&
	    says(text, spam_words, NELEM(spam_words)))
		cat = BOUNCE_SPAM_BLOCK;
	else if (cat == BOUNCE_CAT_NONE && says(text, full_words, NELEM(full_words)))
		cat = BOUNCE_MAILBOX_FULL;
	else if (cat == BOUNCE_CAT_NONE && says(text, mailbox_words, NELEM(mailbox_words)))
		cat = BOUNCE_BAD_MAILBOX;
	if (cat == BOUNCE_CAT_NONE)
		cat = BOUNCE_OTHER;
	*category_out = cat;
	/* the address or the domain is bad: sending again is pointless; else it may pass later */
	*class_out = class == 5 && (cat == BOUNCE_BAD_MAILBOX || cat == BOUNCE_DNS ||
	    cat == BOUNCE_OTHER) ? BOUNCE_HARD : BOUNCE_SOFT;
}

int
bounce_categories_parse(const char *s, unsigned *bits_out)
{
	return config_names_parse(s, config_bounce_categories, CONFIG_BOUNCE_CATEGORIES, bits_out);
}
