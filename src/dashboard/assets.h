/*
 * assets.h - the dashboard's page, style and script, built into the
 * binary (scripts/embed_assets.py turns src/dashboard/assets/ into
 * dashboard_assets.c at build time): nothing to install beside it and
 * nothing fetched from elsewhere, so the page works on a host with no
 * internet.
 */
#ifndef STERNA_DASHBOARD_ASSETS_H
#define STERNA_DASHBOARD_ASSETS_H

#include <stddef.h>

struct dash_asset {
	const char *name;		/* the file's name: "app.js" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
};

extern const struct dash_asset dash_assets[];
extern const size_t dash_nassets;

#endif
