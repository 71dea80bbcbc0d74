/*
 * tls.h - OpenSSL contexts: the hardening every context gets; the
 * server's certificates (tls { cert "NAME" { chain; key } }), one context
 * per certificate, chosen by the name the client asks for (SNI, RFC 6066 3);
 * the outbound client's contexts and the check of a peer's certificate.
 * No sockets here: src/server and src/deliver give the SSL objects to
 * bufferevent_openssl.
 */
#ifndef STERNA_TLS_TLS_H
#define STERNA_TLS_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config/config.h"

/* How strict a context is: see tls_ctx_harden(). */
enum tls_profile {
	TLS_PROFILE_STRICT,		/* the server; a client where TLS is required */
	TLS_PROFILE_OPPORTUNISTIC,	/* a client that would otherwise send in the clear */
};

/*
 * Applies the settings every context of sterna gets, server or client:
 * TLS 1.2 and 1.3 only (RFC 8996), ECDHE with AEAD ciphers for TLS 1.2,
 * no compression (CRIME), no renegotiation, the server's cipher order.
 * TLS_PROFILE_OPPORTUNISTIC makes the exceptions that opportunistic TLS
 * (RFC 7435) needs, and only those (tls.c says which and why).
 * 0, or -1 if OpenSSL refused a setting.
 */
int tls_ctx_harden(SSL_CTX *ctx, enum tls_profile profile);

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

/*
 * The CommonNames of the subject and the issuer of the certificate the
 * client gave (tls.ask_client_cert), as Postfix names them to filters, cut
 * at the sizes and with any byte but printable ASCII and space made '?'
 * (they are the client's words). 0, or -1 when it gave none (both "").
 */
int tls_peer_cert_names(const SSL *ssl, char *subject, size_t subject_size, char *issuer,
    size_t issuer_size);

/* The name of the configured certificate an SSL answered with, for logs. */
const char *tls_ssl_cert_name(const SSL *ssl);

/* The reason of an OpenSSL error code for a log line: never NULL. */
const char *tls_error_reason(unsigned long e, char *buf, size_t size);

/*
 * A new client context, hardened for profile, that checks no peer until
 * tls_client_verify_peer() asks it to for a connection. ca_file says what
 * it trusts then: NULL nothing (a context that never verifies), "" the
 * system's trust store, else the certificates of that PEM file only (read
 * now). NULL on failure, with the reason in err (errsize bytes), as
 * "PATH: cannot read: ..." for a CA file.
 */
SSL_CTX *tls_client_ctx_new(enum tls_profile profile, const char *ca_file, char *err,
    size_t errsize);
/*
 * The outbound client's context for destinations that require TLS
 * (encrypt, verify: TLS_PROFILE_STRICT), trusting outbound.tls_ca_file,
 * or the system's trust store when that is "" and some destination of cfg
 * (borrowed) verifies. NULL on failure, with "FILE:LINE:
 * outbound.tls_ca_file: reason" (or "outbound: reason") in err.
 */
SSL_CTX *tls_client_ctx_required(const struct config *cfg, char *err, size_t errsize);
/*
 * Makes the handshake of ssl (a client's) fail unless the peer's chain
 * leads to a trust anchor of its context and its certificate names host
 * (a domain name, or an IPv4 or IPv6 address; RFC 6125). 0, or -1.
 */
int tls_client_verify_peer(SSL *ssl, const char *host);
/*
 * Why the peer's certificate was refused ("self-signed certificate",
 * "hostname mismatch"), or NULL when that is not what broke the handshake.
 */
const char *tls_client_verify_error(const SSL *ssl);
/* 1 if ssl was asked to verify its peer and did. */
int tls_client_is_verified(const SSL *ssl);

struct metrics;
/*
 * The family in m that counts TLS handshakes done, by direction
 * ("inbound": SMTP clients; "outbound": the servers we deliver to) and
 * version (SSL_get_version's "TLSv1.3"): one family, whoever counts.
 */
struct metric *tls_handshakes_metric(struct metrics *m);

#endif
