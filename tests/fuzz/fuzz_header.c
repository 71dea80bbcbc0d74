/*
 * fuzz_header.c - the header stage's scanner of the header section, fed
 * whole and split at a fuzzer-chosen point (byte 0 of the input picks it).
 * Both runs must reach the same verdict on every count and flag; the
 * verdicts must agree with each other (a message that needs an empty line
 * after the added fields has no field and ended at a non-field line; a
 * scan that is done has said how it ended; no scan reads past its bound).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)

static void
check_alone(const struct hdrscan *h)
{
	CHECK(h->nreceived <= h->nfields);
	CHECK(h->bytes <= (uint64_t)HDRSCAN_MAX_BYTES + 1);
	CHECK(h->is_done == (h->end != HDRSCAN_END_NONE));
	CHECK(h->is_truncated == (h->end == HDRSCAN_END_BOUND));
	if (hdrscan_needs_separator(h))
		CHECK(h->nfields == 0 && h->end == HDRSCAN_END_NOT_FIELD);
	if (h->nfields > 0 || h->is_done)
		CHECK(hdrscan_knows_first_line(h));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hdrscan whole, split;
	size_t cut;

	if (size < 1)
		return 0;
	cut = size > 1 ? data[0] % size : 0;
	data++;
	size--;
	if (cut > size)
		cut = size;
	hdrscan_init(&whole);
	(void)hdrscan_feed(&whole, data, size);
	check_alone(&whole);
	hdrscan_init(&split);
	(void)hdrscan_feed(&split, data, cut);
	check_alone(&split);
	(void)hdrscan_feed(&split, data + cut, size - cut);
	check_alone(&split);
	CHECK(whole.seen == split.seen && whole.nfields == split.nfields &&
	    whole.nreceived == split.nreceived && whole.end == split.end &&
	    whole.is_done == split.is_done && whole.bytes == split.bytes);
	return 0;
}
