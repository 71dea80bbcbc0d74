/*
 * tls.h - OpenSSL contexts: the hardening every context gets, and the
 * server's certificates (tls { cert "NAME" { chain; key } }), one context
 * per certificate, chosen by the name the client asks for (SNI, RFC 6066 3).
 * No sockets here: src/server gives the SSL objects to bufferevent_openssl.
 */
#ifndef STERNA_TLS_TLS_H
#define STERNA_TLS_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config/config.h"

/*
 * Applies the settings every context of sterna gets, server or client:
 * TLS 1.2 and 1.3 only (RFC 8996), ECDHE with AEAD ciphers for TLS 1.2,
 * no compression (CRIME), no renegotiation, the server's cipher order.
 * 0, or -1 if OpenSSL refused a setting.
 */
int tls_ctx_harden(SSL_CTX *ctx);

struct tls_server;

/*
 * Reads every certificate of cfg (borrowed; it must outlive the result).
 * Returns a new tls_server, or NULL with "FILE:LINE: tls.cert.NAME.chain:
 * reason" (no newline) in err, which holds errsize bytes. With no
 * certificate configured it returns a tls_server that offers nothing
 * (tls_server_has_cert() is 0).
 */
struct tls_server *tls_server_new(const struct config *cfg, char *err, size_t errsize);
/* Frees *ts and sets it to NULL; ts may point to NULL. Connections keep their contexts. */
void tls_server_free(struct tls_server **ts);
/* 1 if at least one certificate is loaded. */
int tls_server_has_cert(const struct tls_server *ts);

/*
 * Reads each certificate's files again (SIGHUP: renewed certificates).
 * A certificate whose new files are bad keeps the one in use, with a log
 * line that says FILE:LINE and why. Handshakes already done keep their
 * certificate; new ones get the new files. Returns the number that failed.
 */
unsigned tls_server_reload(struct tls_server *ts);

/*
 * A new server-side SSL for one connection, or NULL (logged) when OpenSSL
 * cannot make one. The caller owns it (bufferevent_openssl takes it over).
 */
SSL *tls_server_ssl_new(struct tls_server *ts);

/* The name of the configured certificate an SSL answered with, for logs. */
const char *tls_ssl_cert_name(const SSL *ssl);

/* The reason of an OpenSSL error code for a log line: never NULL. */
const char *tls_error_reason(unsigned long e, char *buf, size_t size);

#endif
