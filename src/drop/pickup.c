/*
 * pickup.c - the pickup folder's kind: a file is a ready-made message
 * (.eml) as application servers write them, parsed by eml.c. Who may write
 * the folder is who may send mail to anywhere: the administrator decides
 * it with the folder's owner, group and mode (docs/operations.md).
 */
#include "drop/drop_int.h"

#include <string.h>

#include "drop/eml.h"

static int
pickup_parse(const uint8_t *in, size_t len, const struct stat *st, const struct config *cfg,
    struct drop_file *out, char *err, size_t errsize)
{
	struct eml_env env;

	(void)st;	/* the owner is an application, not a local user who sent mail */
	/* bare names are qualified as sterna sendmail qualifies them, not refused one by one */
	if (eml_parse(in, len, cfg->max_text_line_bytes, cfg->max_recipients,
	    config_default_domain(cfg), &env, &out->content, err, errsize) == -1)
		return -1;
	out->sender = env.sender;
	out->rcpts = env.rcpts;
	out->nrcpts = env.nrcpts;
	out->is_8bit = env.is_8bit;
	out->uid = -1;
	return 0;
}

const struct drop_kind drop_kind_pickup = {
	.entrance = "pickup",
	.origin = SPOOL_FROM_PICKUP,
	.is_atomic = 0,
	.parse = pickup_parse,
};
