/*
 * dkim.h - DKIM signing (RFC 6376; Ed25519, RFC 8463), as the last step of
 * the content step's chain (msg/filter.h).
 *
 * The pure part (canon.c, sign.c; in core_lib, unit-tested): relaxed
 * canonicalization of header fields and, streaming, of the body with its
 * SHA-256; the choice of signed fields with oversigning; the
 * DKIM-Signature field, signed with OpenSSL's EVP (rsa-sha256,
 * ed25519-sha256). The daemon's part (filter.c, keys.c): the keys of
 * dkim.keys read at start, and the filter that signs what is eligible.
 */
#ifndef STERNA_DKIM_DKIM_H
#define STERNA_DKIM_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "msg/header_list.h"
#include "util/buf.h"

/* ---- canonicalization (canon.c), RFC 6376 3.4.2 and 3.4.4, "relaxed" ---- */

/* The body's relaxed form, streamed into a SHA-256. */
struct dkim_body {
	EVP_MD_CTX *md;
	uint8_t out[4096];	/* canonical bytes not yet hashed: the hash is fed in blocks */
	size_t nout;
	uint64_t crlfs;		/* line ends held back: trailing empty lines are dropped */
	int has_wsp;		/* white space held back: dropped at a line end, else one SP */
	int has_cr;		/* a CR held back: a line end if LF follows */
	int has_any;		/* any content at all */
};

/* Sets up b with a new SHA-256 context. */
void dkim_body_init(struct dkim_body *b);
/* Canonicalizes and hashes n more body bytes (pieces may split the body anywhere). */
void dkim_body_feed(struct dkim_body *b, const uint8_t *p, size_t n);
/* The body hash (32 bytes) into out; b is cleared. */
void dkim_body_final(struct dkim_body *b, uint8_t out[32]);
/* Frees b's context (after final too; b may be cleared twice). */
void dkim_body_clear(struct dkim_body *b);

/*
 * Appends the relaxed form of one whole header field (raw "Name:value"
 * with folds and final CRLF) to out: name lowercased, folds undone, white
 * space runs made one SP, none around the colon or at the end, CRLF.
 * with_crlf 0 leaves the final CRLF out (the signature's own field).
 * 0, or -1 if out is full or raw has no colon.
 */
int dkim_canon_header(const uint8_t *raw, size_t len, int with_crlf, struct buf *out);

/* ---- signing (sign.c) ---- */

enum dkim_alg { DKIM_RSA_SHA256, DKIM_ED25519_SHA256 };

/* The fields signed, and which of them are signed once more than they occur (oversigned). */
struct dkim_fields {
	const char *const *names;	/* lowercase, in h= order */
	size_t n;
	const char *const *oversigned;
	size_t noversigned;
};
/* The default: RFC 6376 5.4.1's list and the bulk sender's fields; From, To, Subject, Date oversigned. */
extern const struct dkim_fields dkim_default_fields;

/*
 * Signs the header section l with key (of alg) for domain d= and
 * selector s= at time t=, over a body whose hash is bh: appends
 * "DKIM-Signature: ...CRLF" (folded, ready to go on top) to out. 0, or -1
 * with why in err (the key cannot sign, out is full).
 */
int dkim_sign(const struct header_list *l, const struct dkim_fields *fields, EVP_PKEY *key,
    enum dkim_alg alg, const char *domain, const char *selector, int64_t t,
    const uint8_t bh[32], struct buf *out, char *err, size_t errsize);
/*
 * The same in three steps, so that the signing itself (an RSA signature
 * costs about a millisecond) runs on a worker thread, never on the loop:
 * prepare (the field up to "b=" and the canonical data it signs), sign
 * (dkim_sign_data of data into b64), finish (the field with its folded b=
 * appended to out).
 */
struct dkim_sig {
	enum dkim_alg alg;
	struct buf field;	/* "DKIM-Signature: ... b=" */
	struct buf data;	/* what is signed: the fields of h=, relaxed, then field's */
	size_t col;		/* the field's last line's length */
	char b64[1500];		/* the signature, base64 */
};
void dkim_sig_init(struct dkim_sig *sg);
void dkim_sig_clear(struct dkim_sig *sg);
/* 0, or -1 if the field or data do not fit their bounds. */
int dkim_sig_prepare(struct dkim_sig *sg, const struct header_list *l,
    const struct dkim_fields *fields, enum dkim_alg alg, const char *domain,
    const char *selector, int64_t t, const uint8_t bh[32]);
/* 0, or -1 if out is full. */
int dkim_sig_finish(struct dkim_sig *sg, struct buf *out);
/*
 * The signature b= of canonical header text data[0..n) with key: base64
 * into out (NUL-terminated). rsa-sha256: RSASSA-PKCS1-v1_5 over SHA-256;
 * ed25519-sha256: Ed25519 over the SHA-256 of the data (RFC 8463 3).
 * 0, or -1 with why in err.
 */
int dkim_sign_data(EVP_PKEY *key, enum dkim_alg alg, const uint8_t *data, size_t n,
    char *out, size_t outsize, char *err, size_t errsize);
/* The algorithm of key (RSA of 2048 bits or more, or Ed25519): 0, or -1 with why in err. */
int dkim_key_alg(EVP_PKEY *key, enum dkim_alg *alg_out, char *err, size_t errsize);
/* The DNS TXT record's text for key's public half ("v=DKIM1; k=...; p=..."): 0, or -1. */
int dkim_dns_record(EVP_PKEY *key, struct buf *out);

/* ---- the daemon's side (keys.c, filter.c) ---- */

struct config;
struct msg_core;

/* One signing key: a domain, a selector, and the key read from its file. */
struct dkim_key {
	char *domain;		/* lowercase, A-labels */
	char *selector;
	EVP_PKEY *pkey;
	enum dkim_alg alg;
};

struct dkim_keyring {
	struct dkim_key *v;
	size_t n;
	const struct config *cfg;	/* set by dkim_signer_add */
	unsigned sources;		/* dkim.sign: bits of config_dkim_sources */
};

/*
 * "<dir>/<domain>.<selector>.key", where keygen writes a key and the
 * daemon reads it: 0, or -1 if it does not fit out.
 */
int dkim_key_path(const char *dir, const char *domain, const char *selector, char *out,
    size_t outsize);
/*
 * Reads every key of cfg's dkim.keys (PEM files in dkim.key_dir; RSA of
 * 2048 bits or more, or Ed25519). Returns 0, or -1 with the file and
 * what is wrong in err (at start: the daemon stops).
 */
int dkim_keyring_load(struct dkim_keyring *kr, const struct config *cfg, char *err,
    size_t errsize);
void dkim_keyring_clear(struct dkim_keyring *kr);

/*
 * Adds DKIM signing to the core's chain, as its signer (MSG_FILTER_SIGN):
 * the mail dkim.sign names whose From domain has keys in kr is signed
 * with each of them, on threads of the signer's own. cfg and kr are
 * borrowed and must outlive the signer. Returns NULL (nothing added) when
 * kr holds no key. Call it after the sandbox: it starts threads.
 */
struct event_base;
struct dkim_signer;
struct dkim_signer *dkim_signer_new(struct msg_core *core, struct event_base *base,
    const struct config *cfg, struct dkim_keyring *kr);
/* Stops the signing threads and frees *sg (after the core: messages abort their jobs first). */
void dkim_signer_free(struct dkim_signer **sg);

#endif
