/*
 * lists_fixture.c - see lists_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/ucl_int.h"
#include "lists_fixture.h"
#include "util/buf.h"

char lt_dir[64];
uint64_t lt_now_ms;

static uint64_t
fake_clock(void *ctx)
{
	(void)ctx;
	return lt_now_ms;
}

int
lt_setup(void **state)
{
	(void)state;
	snprintf(lt_dir, sizeof(lt_dir), "/tmp/test_lists.XXXXXX");
	assert_non_null(mkdtemp(lt_dir));
	lt_now_ms = 1000000;
	return 0;
}

int
lt_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", lt_dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* lt_dir/name, in a static buffer of its own per slot (0 or 1). */
const char *
lt_path(const char *name, int slot)
{
	static char p[2][PATH_MAX];

	snprintf(p[slot], sizeof(p[slot]), "%s/%s", lt_dir, name);
	return p[slot];
}

/* Writes len bytes to lt_dir/name (replacing it) with modification time mtime_s. */
void
lt_write_file(const char *name, const void *data, size_t len, time_t mtime_s)
{
	const char *p = lt_path(name, 1);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct timespec ts[2] = { { mtime_s, 0 }, { mtime_s, 0 } };

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

/* BASE, then text with "@DIR@" replaced by the test's folder; NULL and err, or the config. */
struct config *
lt_load_text(const char *text, char *err, size_t errsize)
{
	struct buf b;
	struct ucl_doc *d;
	struct config *c = NULL;

	buf_init(&b, SIZE_MAX);
	buf_append_str(&b, BASE);
	for (const char *p = text; *p != '\0';) {
		if (strncmp(p, "@DIR@", 5) == 0) {
			buf_append_str(&b, lt_dir);
			p += 5;
		} else {
			buf_append_byte(&b, (uint8_t)*p++);
		}
	}
	d = ucl_parse_mem(b.data, b.len, "t.conf", NULL, NULL, err, errsize);
	if (d != NULL)
		c = config_load_doc(d, "t.conf", err, errsize);
	ucl_doc_free(&d);
	buf_clear(&b);
	return c;
}

/* The config and its lists from text, which must load; the clock is lt_now_ms. */
struct policy_lists *
lt_lists_from(const char *text, struct config **c_out)
{
	char err[1024] = "";
	struct policy_lists *l;

	if ((*c_out = lt_load_text(text, err, sizeof(err))) == NULL)
		fail_msg("config: %s", err);
	if ((l = policy_lists_new(*c_out, err, sizeof(err))) == NULL)
		fail_msg("lists: %s", err);
	policy_lists_set_clock(l, fake_clock, NULL);
	return l;
}

struct smtp_ask
lt_ask_connect(const char *ip)
{
	return (struct smtp_ask){ .stage = SMTP_STAGE_CONNECT, .client_ip = ip, .helo = "" };
}

struct smtp_addr
lt_addr(const char *path)
{
	struct smtp_addr a;

	assert_int_equal(smtp_addr_parse(slice_str(path), 1, &a), SMTP_ADDR_OK);
	return a;
}

