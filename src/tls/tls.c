/*
 * tls.c - OpenSSL 3 contexts. The server's: one per configured
 * certificate, all hardened the same way; the first is the default and
 * answers clients that send no name (or a name no certificate covers).
 * SIGHUP reads the files again: a connection's SSL holds a reference to
 * its context (OpenSSL counts them), so replacing a context here never
 * pulls it from under a session, and the next handshake gets the new one.
 * The outbound client's: hardened by the same function, with the trust
 * anchors that verifying a peer (RFC 6125) needs.
 */
#include "tls/tls.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "metrics/metrics.h"
#include "util/log.h"
#include "util/xalloc.h"

/* TLS 1.2: forward secrecy (ECDHE) and AEAD only, strongest first (no CBC: Lucky13, no RSA kx) */
#define CIPHERS_TLS12 \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
#define CIPHERS_TLS13 "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
#define GROUPS "X25519:P-256:P-384"
/*
 * Opportunistic TLS (RFC 7435): ours first, then whatever else OpenSSL
 * calls acceptable (CBC, RSA key exchange), never unauthenticated or
 * unencrypted suites.
 */
#define CIPHERS_OPPORTUNISTIC CIPHERS_TLS12 ":DEFAULT:!aNULL:!eNULL"

struct tls_server {
	const struct config *cfg;
	/*
	 * Sessions start and pick contexts on every receiving loop while a
	 * reload (on the main loop) replaces them: the array's slots are read
	 * under the read lock and replaced under the write lock. A session
	 * holds its own reference to the context it uses.
	 */
	pthread_rwlock_t lock;
	SSL_CTX **ctx;		/* one per cfg->certs[i]; [0] is the default */
	size_t nctx;
};

/* Where each context keeps the name of its certificate (for the log). */
static int ex_cert_name = -1;

int
tls_ctx_harden(SSL_CTX *ctx, enum tls_profile profile)
{
	int is_opportunistic = profile == TLS_PROFILE_OPPORTUNISTIC;

	/*
	 * RFC 8996: TLS 1.0 and 1.1 are deprecated; SSLv2/v3 are long broken.
	 * Opportunistic TLS keeps this floor too: the RFC forbids them for any
	 * use, and a peer with nothing newer is retried in the clear.
	 */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
		return -1;
	/*
	 * No compression (CRIME); no renegotiation of either side (a client
	 * could make us do the expensive half over and over, and RFC 8446
	 * dropped it); our cipher order, not the client's (a server's choice:
	 * a client context ignores it).
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
	/*
	 * The exceptions of opportunistic TLS, and only those: where the
	 * alternative to a handshake is the clear (RFC 7435 3), a weak cipher
	 * beats none, so TLS 1.2 also offers the CBC and RSA key exchange
	 * suites, and OpenSSL's security level 1 lets short keys through (the
	 * peer's certificate is not checked there anyway, so its key vouches
	 * for nothing). TLS 1.3's suites and the groups are the same for all.
	 */
	if (SSL_CTX_set_cipher_list(ctx, is_opportunistic ? CIPHERS_OPPORTUNISTIC :
	    CIPHERS_TLS12) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, CIPHERS_TLS13) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, GROUPS) != 1)
		return -1;
	if (is_opportunistic)
		SSL_CTX_set_security_level(ctx, 1);
	/* idle sessions are most sessions: give their read and write buffers back */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return 0;
}

const char *
tls_error_reason(unsigned long e, char *buf, size_t size)
{
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (r != NULL)
		return r;
	if (e == 0)
		return "connection closed";
	ERR_error_string_n(e, buf, size);
	return buf;
}

/* The reason of the first error OpenSSL queued, and an empty queue after. */
static const char *
ssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();
	const char *r = tls_error_reason(e, buf, size);

	if (e == 0)
		r = "unknown error";
	ERR_clear_error();
	return r;
}

static int
cert_error(char *err, size_t errsize, const char *file, unsigned line, const char *name,
    const char *which, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* "FILE:LINE: tls.cert.NAME.WHICH: ...", as config errors read. */
static int
cert_error(char *err, size_t errsize, const char *file, unsigned line, const char *name,
    const char *which, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	n = snprintf(err, errsize, "%s:%u: tls.cert.%s.%s: %s", file, line, name, which, msg);
	if ((n < 0 || (size_t)n >= errsize) && errsize > 4)
		memcpy(err + errsize - 4, "...", 4);
	return -1;
}

/*
 * 0 if path is a regular file that can be opened for reading, else -1 with
 * errno (EISDIR and friends: EINVAL). Said before OpenSSL's less telling reasons.
 */
static int
readable(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), rc = 0;

	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		rc = -1;
	else if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		rc = -1;
	}
	{
		int e = errno;

		close(fd);
		errno = e;
	}
	return rc;
}

static int
on_servername(SSL *ssl, int *alert, void *arg);

/* A new context for certificate i, or NULL with the reason in err. */
static SSL_CTX *
ctx_load(struct tls_server *ts, size_t i, char *err, size_t errsize)
{
	const struct config_cert *c = &ts->cfg->certs[i];
	SSL_CTX *ctx = NULL;
	char why[256];

	ERR_clear_error();
	if (readable(c->chain) == -1) {
		cert_error(err, errsize, c->chain_file, c->chain_line, c->name, "chain",
		    "%s: cannot read: %s", c->chain, strerror(errno));
		goto fail;
	}
	if (readable(c->key) == -1) {
		cert_error(err, errsize, c->key_file, c->key_line, c->name, "key",
		    "%s: cannot read: %s", c->key, strerror(errno));
		goto fail;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    tls_ctx_harden(ctx, TLS_PROFILE_STRICT) == -1) {
		cert_error(err, errsize, c->chain_file, c->chain_line, c->name, "chain",
		    "cannot set up TLS: %s", ssl_reason(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, c->chain) != 1) {
		cert_error(err, errsize, c->chain_file, c->chain_line, c->name, "chain",
		    "%s: not a PEM certificate chain: %s", c->chain, ssl_reason(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1) {
		unsigned long e = ERR_peek_last_error();

		/* OpenSSL compares the key with the certificate already: say which it is */
		if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
			cert_error(err, errsize, c->key_file, c->key_line, c->name, "key",
			    "%s does not match the certificate in %s", c->key, c->chain);
		else
			cert_error(err, errsize, c->key_file, c->key_line, c->name, "key",
			    "%s: not a PEM private key: %s", c->key, ssl_reason(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		cert_error(err, errsize, c->key_file, c->key_line, c->name, "key",
		    "%s does not match the certificate in %s", c->key, c->chain);
		goto fail;
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
	SSL_CTX_set_tlsext_servername_arg(ctx, ts);
	/* sessions resumed across the SNI switch must find their context's cache */
	(void)SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"sterna", 6);
	(void)SSL_CTX_set_ex_data(ctx, ex_cert_name, c->name);
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * The context for the name a client asked for: an exact name of a
 * certificate (its subjectAltName, or CN without one) before a wildcard,
 * the first certificate when none covers it. Always from the current set,
 * so a handshake that started before a reload gets the new certificate.
 */
static SSL_CTX *
ctx_for_name(const struct tls_server *ts, const char *name)
{
	static const unsigned int passes[] = { X509_CHECK_FLAG_NO_WILDCARDS, 0 };

	if (name == NULL)
		return ts->ctx[0];
	for (size_t p = 0; p < sizeof(passes) / sizeof(passes[0]); p++)
		for (size_t i = 0; i < ts->nctx; i++) {
			X509 *x = SSL_CTX_get0_certificate(ts->ctx[i]);

			if (x != NULL && X509_check_host(x, name, 0, passes[p], NULL) == 1)
				return ts->ctx[i];
		}
	return ts->ctx[0];
}

static int
on_servername(SSL *ssl, int *alert, void *arg)
{
	struct tls_server *ts = arg;
	SSL_CTX *want;
	int is_set;

	(void)alert;
	pthread_rwlock_rdlock(&ts->lock);
	want = ctx_for_name(ts, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	is_set = want == SSL_get_SSL_CTX(ssl) || SSL_set_SSL_CTX(ssl, want) != NULL;
	pthread_rwlock_unlock(&ts->lock);
	if (!is_set)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	/* an unknown name still gets the default certificate: refusing helps nobody */
	return SSL_TLSEXT_ERR_OK;
}

struct tls_server *
tls_server_new(const struct config *cfg, char *err, size_t errsize)
{
	struct tls_server *ts = xcalloc(1, sizeof(*ts));

	if (ex_cert_name == -1)
		ex_cert_name = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ts->cfg = cfg;
	pthread_rwlock_init(&ts->lock, NULL);
	ts->ctx = xcalloc(cfg->ncerts ? cfg->ncerts : 1, sizeof(*ts->ctx));
	for (size_t i = 0; i < cfg->ncerts; i++) {
		if ((ts->ctx[i] = ctx_load(ts, i, err, errsize)) == NULL) {
			tls_server_free(&ts);
			return NULL;
		}
		ts->nctx = i + 1;
	}
	return ts;
}

void
tls_server_free(struct tls_server **tsp)
{
	struct tls_server *ts = *tsp;

	if (ts == NULL)
		return;
	for (size_t i = 0; i < ts->nctx; i++)
		SSL_CTX_free(ts->ctx[i]);
	free(ts->ctx);
	pthread_rwlock_destroy(&ts->lock);
	free(ts);
	*tsp = NULL;
}

int
tls_server_has_cert(const struct tls_server *ts)
{
	return ts != NULL && ts->nctx > 0;
}

unsigned
tls_server_reload(struct tls_server *ts)
{
	unsigned nbad = 0;

	for (size_t i = 0; i < ts->nctx; i++) {
		char err[1024];
		SSL_CTX *ctx = ctx_load(ts, i, err, sizeof(err));

		if (ctx == NULL) {
			log_err("%s; keeping the certificate in use", err);
			nbad++;
			continue;
		}
		/* live connections hold their own reference to the old context */
		pthread_rwlock_wrlock(&ts->lock);
		SSL_CTX_free(ts->ctx[i]);
		ts->ctx[i] = ctx;
		pthread_rwlock_unlock(&ts->lock);
		log_info("tls: certificate %s reloaded from %s", ts->cfg->certs[i].name,
		    ts->cfg->certs[i].chain);
	}
	return nbad;
}

/* A client certificate is asked for only to be named to the filters: any, or none, will do. */
static int
take_any_client_cert(int preverify_ok, X509_STORE_CTX *store)
{
	(void)preverify_ok, (void)store;
	return 1;
}

SSL *
tls_server_ssl_new(struct tls_server *ts)
{
	SSL *ssl;
	char why[256];

	if (!tls_server_has_cert(ts))
		return NULL;
	pthread_rwlock_rdlock(&ts->lock);
	ssl = SSL_new(ts->ctx[0]);
	pthread_rwlock_unlock(&ts->lock);
	if (ssl == NULL)
		log_err("tls: cannot start a session: %s", ssl_reason(why, sizeof(why)));
	else if (ts->cfg->is_client_cert_asked)
		/* kept on the SSL, so the context SNI picks keeps it too */
		SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, take_any_client_cert);
	return ssl;
}

/* One CommonName of name into out, made printable; -1 without one. */
static int
cn_of(const X509_NAME *name, char *out, size_t size)
{
	int n;

	out[0] = '\0';
	if (name == NULL || size < 2 || size > INT_MAX)
		return -1;
	n = X509_NAME_get_text_by_NID((X509_NAME *)name, NID_commonName, out, (int)size);
	if (n < 0) {
		out[0] = '\0';
		return -1;
	}
	for (int i = 0; i < n && (size_t)i < size - 1; i++)
		if ((uint8_t)out[i] < 0x20 || (uint8_t)out[i] > 0x7e)
			out[i] = '?';
	return 0;
}

int
tls_peer_cert_names(const SSL *ssl, char *subject, size_t subject_size, char *issuer,
    size_t issuer_size)
{
	X509 *cert = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;

	subject[0] = issuer[0] = '\0';
	if (cert == NULL)
		return -1;
	(void)cn_of(X509_get_subject_name(cert), subject, subject_size);
	(void)cn_of(X509_get_issuer_name(cert), issuer, issuer_size);
	return 0;
}

const char *
tls_ssl_cert_name(const SSL *ssl)
{
	const char *name = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_cert_name);

	return name != NULL ? name : "-";
}

/* ---- the outbound client ---- */

SSL_CTX *
tls_client_ctx_new(enum tls_profile profile, const char *ca_file, char *err, size_t errsize)
{
	SSL_CTX *ctx = NULL;
	char why[256];

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    tls_ctx_harden(ctx, profile) == -1) {
		snprintf(err, errsize, "cannot set up TLS: %s", ssl_reason(why, sizeof(why)));
		goto fail;
	}
	/* checking nothing is the default; tls_client_verify_peer() asks per connection */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* RFC 6125 6.4.3: a wildcard stands for a whole left-most label, never part of one */
	X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(ctx),
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (ca_file == NULL)
		return ctx;
	if (ca_file[0] == '\0') {
		/* Debian: /usr/lib/ssl/cert.pem, read now, and the hashed /usr/lib/ssl/certs */
		if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			snprintf(err, errsize, "cannot read the system's trust store: %s",
			    ssl_reason(why, sizeof(why)));
			goto fail;
		}
		return ctx;
	}
	if (readable(ca_file) == -1) {
		snprintf(err, errsize, "%s: cannot read: %s", ca_file, strerror(errno));
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		snprintf(err, errsize, "%s: not a PEM file of certificates: %s", ca_file,
		    ssl_reason(why, sizeof(why)));
		goto fail;
	}
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx_required(const struct config *cfg, char *err, size_t errsize)
{
	const char *ca = NULL;
	SSL_CTX *ctx;
	char why[768];

	if (cfg->out_tls_ca_file[0] != '\0')
		ca = cfg->out_tls_ca_file;	/* read even if nothing verifies: a typo shows now */
	else if (config_uses_verify(cfg))
		ca = "";
	if ((ctx = tls_client_ctx_new(TLS_PROFILE_STRICT, ca, why, sizeof(why))) != NULL)
		return ctx;
	if (cfg->out_tls_ca_file_at.file != NULL)
		snprintf(err, errsize, "%s:%u: outbound.tls_ca_file: %s",
		    cfg->out_tls_ca_file_at.file, cfg->out_tls_ca_file_at.line, why);
	else
		snprintf(err, errsize, "outbound: %s", why);
	return NULL;
}

int
tls_client_verify_peer(SSL *ssl, const char *host)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);

	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	/* RFC 6125 6.2.1: an address is matched against iPAddress names, a name against DNS names */
	if (X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1)
		return 0;
	ERR_clear_error();
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

const char *
tls_client_verify_error(const SSL *ssl)
{
	long r = SSL_get_verify_result(ssl);

	if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) == 0 || r == X509_V_OK)
		return NULL;
	return X509_verify_cert_error_string(r);
}

int
tls_client_is_verified(const SSL *ssl)
{
	return (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0 &&
	    SSL_get0_peer_certificate(ssl) != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
}

struct metric *
tls_handshakes_metric(struct metrics *m)
{
	return metrics_counter(m, "sterna_tls_handshakes_total",
	    "TLS handshakes done, inbound (SMTP clients) and outbound (the servers mail is "
	    "delivered to), by protocol version.", "direction,version");
}
