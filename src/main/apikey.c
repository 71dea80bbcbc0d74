/*
 * apikey.c - sterna apikey new [-c FILE | -f KEYS_FILE] --scopes LIST
 * [--rate RATE] [--name NAME]: makes an API key (docs/api.md, "Keys").
 * The key is printed once, on standard output, and never kept: what is
 * kept is its line (its id and the SHA-256 of its secret), added to the
 * keys file that -f names, or else the configuration's http.keys_file.
 * The file is replaced whole, by a rename, so that the daemon, which reads
 * it again when it changes, never sees half a line; its owner and mode are
 * kept. With neither, the line is printed for the operator to add.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "http/http.h"
#include "main/verbs.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

#define KEYS_FILE_MAX (16u * 1024u * 1024u)

static void
usage(FILE *f)
{
	fprintf(f, "usage: sterna apikey new [-c FILE | -f KEYS_FILE] --scopes send,read,admin\n"
	    "                        [--rate N/s|N/min|N/h|none] [--name NAME]\n");
}

/* The file's bytes (none if it does not exist), checked as the daemon would: 0, or -1. */
static int
read_existing(const char *path, struct buf *data, struct stat *st, int *exists_out)
{
	struct http_key *keys;
	size_t n;
	char why[256], err[1024];
	int rc;

	*exists_out = 0;
	rc = fs_read_file(path, data, st, why, sizeof(why));
	if (rc == -1 && access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (rc == -1) {
		fprintf(stderr, "sterna apikey: %s: %s\n", path, why);
		return -1;
	}
	if (rc == -2) {
		fprintf(stderr, "sterna apikey: %s: larger than %u MiB\n", path, KEYS_FILE_MAX >> 20);
		return -1;
	}
	*exists_out = 1;
	/* a file the daemon refuses is not made worse: it is fixed first */
	if (http_keys_parse(path, data->data, data->len, &keys, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "sterna apikey: %s\n", err);
		return -1;
	}
	free(keys);
	return 0;
}

/* path's bytes with line added, written beside it and renamed over it: 0, or -1. */
static int
replace(const char *path, const struct buf *old, const struct stat *st, int exists,
    const char *line)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, n, ret = -1;

	n = snprintf(tmp, sizeof(tmp), "%s.new.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp) || (fd = mkstemp(tmp)) == -1) {
		fprintf(stderr, "sterna apikey: %s: cannot make a file beside it: %s\n", path,
		    strerror(errno));
		return -1;
	}
	/* the daemon's user reads it: its owner and mode stay; a new file is 0640 */
	if ((exists && (fchown(fd, st->st_uid, st->st_gid) == -1 ||
	    fchmod(fd, st->st_mode & 07777) == -1)) || (!exists && fchmod(fd, 0640) == -1))
		goto out;
	if (write_all(fd, old->data, old->len) == -1 ||
	    (old->len > 0 && old->data[old->len - 1] != '\n' && write_all(fd, "\n", 1) == -1) ||
	    write_all(fd, line, strlen(line)) == -1 || fsync(fd) == -1 ||
	    rename(tmp, path) == -1)
		goto out;
	snprintf(dir, sizeof(dir), "%s", path);
	(void)fsync_dir(dirname(dir));
	ret = 0;
out:
	if (ret == -1) {
		fprintf(stderr, "sterna apikey: %s: %s\n", path, strerror(errno));
		(void)unlink(tmp);
	}
	close(fd);
	return ret;
}

static int
apikey_new(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scopes", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *file = NULL, *scopes = NULL, *rate = NULL, *name = NULL;
	char key[HTTP_KEY_LEN + 1], line[512], err[1024], shown[32];
	struct config *c = NULL;
	struct http_key k;
	struct buf data;
	struct stat st;
	int ch, exists, status = 1;

	while ((ch = getopt_long(argc, argv, "c:f:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 'f': file = optarg; break;
		case 's': scopes = optarg; break;
		case 'r': rate = optarg; break;
		case 'n': name = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || scopes == NULL || (conf != NULL && file != NULL)) {
		usage(stderr);
		return 2;
	}
	if (http_key_generate(key, &k) == -1) {
		fprintf(stderr, "sterna apikey: no random bytes to make a key of\n");
		return 1;
	}
	if (http_scopes_parse(scopes, &k.scopes) == -1) {
		fprintf(stderr, "sterna apikey: --scopes: '%s' is not a list of send, read, admin\n",
		    scopes);
		return 2;
	}
	if (rate != NULL) {
		if (http_rate_parse(rate, &k.rate, &k.rate_window_ms) == -1) {
			fprintf(stderr, "sterna apikey: --rate: '%s' is not N/s, N/min or N/h (N from "
			    "1 to 1000000), or none\n", rate);
			return 2;
		}
		k.has_rate = 1;
	}
	if (name != NULL) {
		size_t len = strlen(name);

		if (len == 0 || len > HTTP_KEY_NAME_MAX ||
		    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
		    != len) {
			fprintf(stderr, "sterna apikey: --name: 1 to %d of A-Z a-z 0-9 . _ -\n",
			    HTTP_KEY_NAME_MAX);
			return 2;
		}
		memcpy(k.name, name, len + 1);
	}
	ASSERT(http_key_line(&k, line, sizeof(line)) == 0);
	if (file == NULL) {
		if ((c = config_load(conf != NULL ? conf : verb_config_default(), err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		if (c->http_keys_file[0] != '\0')
			file = c->http_keys_file;
	}
	buf_init(&data, (size_t)KEYS_FILE_MAX + 1);
	if (file != NULL) {
		if (read_existing(file, &data, &st, &exists) == -1 ||
		    replace(file, &data, &st, exists, line) == -1)
			goto out;
		fprintf(stderr, "key %s (scopes %s) added to %s\n", k.id,
		    http_scopes_str(k.scopes, shown), file);
	} else {
		fprintf(stderr, "no http.keys_file in the configuration: add this line to the keys "
		    "file:\n%s", line);
	}
	/* the key itself, once: on standard output alone, for a script to take */
	printf("%s\n", key);
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	explicit_bzero(key, sizeof(key));
	buf_clear(&data);
	config_free(&c);
	return status;
}

int
verb_apikey(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "new") == 0)
		return apikey_new(argc - 1, argv + 1);
	usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
	return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
