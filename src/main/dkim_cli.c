/*
 * dkim_cli.c - sterna dkim keygen [-c FILE] [-t rsa|ed25519] [-b BITS]
 * [-d DIR] DOMAIN SELECTOR: makes a DKIM signing key (docs/operations.md,
 * "DKIM signing").
 *
 * The key goes to "<dkim.key_dir>/<DOMAIN>.<SELECTOR>.key" (or -d DIR),
 * PEM (PKCS #8), mode 0600, owned by server.user when run as root, so
 * that only the daemon reads it. An existing key is never replaced: mail
 * signed with it may still be in flight, and its DNS record must stay
 * until that mail has been read. The DNS TXT record to publish is printed
 * on standard output, cut into strings of at most 255 bytes (RFC 1035).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config/config.h"
#include "dkim/dkim.h"
#include "main/verbs.h"
#include "util/ascii.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: sterna dkim keygen [-c FILE] [-t rsa|ed25519] [-b BITS] [-d DIR] "
	    "DOMAIN SELECTOR\n");
}

/* The user the daemon runs as, when we are root and it is named: 0 with ids, 1 none, -1. */
static int
daemon_owner(const struct config *cfg, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *found = NULL;
	char buf[4096];

	if (geteuid() != 0 || cfg == NULL || cfg->user == NULL || cfg->user[0] == '\0')
		return 1;
	if (getpwnam_r(cfg->user, &pw, buf, sizeof(buf), &found) != 0 || found == NULL) {
		fprintf(stderr, "sterna dkim: server.user %s: no such user\n", cfg->user);
		return -1;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

/* Writes key to path, 0600 (owned by uid/gid when owned is 0), never over an existing file. */
static int
write_key(EVP_PKEY *key, const char *path, int owned, uid_t uid, gid_t gid)
{
	char tmp[4200];
	FILE *f = NULL;
	int fd, ok = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.new%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, "sterna dkim: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if ((owned == 0 && fchown(fd, uid, gid) == -1) || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "sterna dkim: %s: %s\n", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1 && fflush(f) == 0 &&
	    fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		fprintf(stderr, "sterna dkim: cannot write %s\n", tmp);
		goto out;
	}
	/* link, not rename: an existing key stays, and the command fails */
	if (link(tmp, path) == -1) {
		fprintf(stderr, "sterna dkim: %s: %s%s\n", path, strerror(errno),
		    errno == EEXIST ? " (a key is never replaced: choose a new selector)" : "");
		ok = 0;
	}
out:
	(void)unlink(tmp);
	return ok ? 0 : -1;
}

/* The record for the zone file: "SEL._domainkey.DOMAIN. IN TXT ( "..." "..." )". */
static void
print_record(const char *domain, const char *selector, struct buf *txt)
{
	printf("%s._domainkey.%s. IN TXT (", selector, domain);
	for (size_t off = 0; off < txt->len; off += 250)
		printf(" \"%.*s\"", (int)(txt->len - off < 250 ? txt->len - off : 250),
		    (const char *)txt->data + off);
	printf(" )\n");
}

static int
is_label_list(const char *s, int allow_dots)
{
	size_t label = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.' && allow_dots && label > 0)
			label = 0;
		else if (ascii_isalnum((unsigned char)*s) || (*s == '-' && label > 0))
			label++;
		else
			return 0;
		if (label > 63)
			return 0;
	}
	return label > 0;
}

int
verb_dkim(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *type = "rsa", *dir = NULL;
	struct config *cfg = NULL;
	char err[1024], path[4096], domain[256];
	EVP_PKEY *key = NULL;
	struct buf txt;
	long bits = 2048;
	uid_t uid = 0;
	gid_t gid = 0;
	int ch, owned, rc = 1;

	if (argc < 2 || strcmp(argv[1], "keygen") != 0) {
		usage(stderr);
		return 2;
	}
	argc--, argv++;
	while ((ch = getopt_long(argc, argv, "c:t:b:d:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': conf = optarg; break;
		case 't': type = optarg; break;
		case 'b': bits = strtol(optarg, NULL, 10); break;
		case 'd': dir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind != 2 || (strcmp(type, "rsa") != 0 && strcmp(type, "ed25519") != 0) ||
	    bits < 2048 || bits > 8192) {
		usage(stderr);
		if (bits < 2048 || bits > 8192)
			fprintf(stderr, "sterna dkim: RSA keys have 2048 to 8192 bits\n");
		return 2;
	}
	snprintf(domain, sizeof(domain), "%s", argv[optind]);
	ascii_lower(domain);
	if (!is_label_list(domain, 1) || !is_label_list(argv[optind + 1], 0)) {
		fprintf(stderr, "sterna dkim: '%s' '%s': a domain name and a selector (a DNS label) "
		    "are needed\n", argv[optind], argv[optind + 1]);
		return 2;
	}
	if ((cfg = config_load(conf != NULL ? conf : verb_config_default(), err, sizeof(err))) ==
	    NULL && dir == NULL) {
		fprintf(stderr, "sterna dkim: %s\n", err);
		return 1;
	}
	if (dir == NULL)
		dir = cfg->dkim_key_dir;
	if ((owned = daemon_owner(cfg, &uid, &gid)) == -1)
		goto out;
	if (mkdir_p(dir, 0750) == -1) {
		fprintf(stderr, "sterna dkim: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	if (owned == 0 && chown(dir, 0, gid) == -1) {
		fprintf(stderr, "sterna dkim: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	key = strcmp(type, "rsa") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits) :
	    EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (key == NULL) {
		fprintf(stderr, "sterna dkim: cannot make the key\n");
		goto out;
	}
	if (dkim_key_path(dir, domain, argv[optind + 1], path, sizeof(path)) == -1 ||
	    write_key(key, path, owned, uid, gid) == -1)
		goto out;
	buf_init(&txt, 8192);
	if (dkim_dns_record(key, &txt) == -1) {
		buf_clear(&txt);
		goto out;
	}
	fprintf(stderr, "sterna dkim: key written to %s; publish this record, then add "
	    "\"%s %s\" to dkim.keys\n", path, domain, argv[optind + 1]);
	print_record(domain, argv[optind + 1], &txt);
	buf_clear(&txt);
	rc = 0;
out:
	EVP_PKEY_free(key);
	config_free(&cfg);
	return rc;
}
