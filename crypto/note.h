/* crypto/note.h: C2SP signed-note, with ECDSA P-256 keys (signature type
 * 0x02), the form the egress log's checkpoints are served in
 * (docs/LOG.md).
 *
 *   note      = text "\n" 1*(sigline)
 *   text      = lines, each ending "\n" (empty lines allowed); the text
 *               ends at the note's LAST empty line
 *   sigline   = U+2014 " " name " " base64(key_id[4] || signature) "\n"
 *
 * Notes are UTF-8 with no control characters but newline; key names are
 * non-empty with no Unicode space and no '+'.
 *
 * Type 0x02 ("ECDSA as implemented by github.com/transparency-dev/witness"):
 *   key ID    = SHA-256(DER SubjectPublicKeyInfo)[:4], big-endian; unlike
 *               the generic recommendation (and Ed25519's), neither the
 *               name nor the type byte is hashed
 *   signature = ASN.1 DER ECDSA-Sig-Value over SHA-256(text)
 *   vkey      = name "+" hex8(key ID) "+" base64(0x02 || DER SPKI)
 *
 * Verification follows the spec's rules: lines from other keys (name or
 * ID differs) are skipped, a line from our key that does not verify
 * fails the note, and at least one must verify.
 */
#ifndef DSHIELD_CRYPTO_NOTE_H
#define DSHIELD_CRYPTO_NOTE_H

#include <bearssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTE_MAX_LEN        65536   /* a whole signed note */
#define NOTE_MAX_SIGS       64      /* the spec asks for at least 16 */
#define NOTE_NAME_MAX       255
#define NOTE_SIG_MAX        (4 + 5120)  /* key ID and signature, decoded */
#define NOTE_TYPE_ECDSA     0x02
#define NOTE_P256_SPKI_LEN  91
#define NOTE_ECDSA_SIG_MAX  72      /* DER of two 33-byte integers */
/* A type-0x02 vkey, NUL included: name, "+", 8, "+", base64 of 92. */
#define NOTE_VKEY_MAX       (NOTE_NAME_MAX + 1 + 8 + 1 + 124 + 1)
/* One signature line of ours, NUL included. */
#define NOTE_SIGLINE_MAX    (4 + NOTE_NAME_MAX + 1 + 104 + 1 + 1)

/* An ECDSA P-256 note key (public part). */
struct note_key {
	char name[NOTE_NAME_MAX + 1];
	size_t name_len;
	uint8_t pub[65];                       /* 0x04 || X || Y */
	uint8_t spki[NOTE_P256_SPKI_LEN];      /* its DER SubjectPublicKeyInfo */
	uint32_t id;
};

/* Fills k from a name and an uncompressed P-256 point (checked on the
 * curve). 0 or -EINVAL. */
int note_key_init(struct note_key *k, const char *name, size_t name_len, const uint8_t pub[65]);
/* Parses a type-0x02 vkey strictly (the ID must be SHA-256(SPKI)[:4] and
 * lowercase). 0 or -EINVAL with a reason in err. */
int note_key_from_vkey(struct note_key *k, const char *vkey, size_t len, char *err, size_t errcap);
/* Writes k's vkey. Its length, or -ENOSPC. */
long note_key_vkey(const struct note_key *k, char *out, size_t cap);

/* True when text[0..len) is a valid note text: non-empty, ends in a
 * newline, UTF-8, no control characters but newline. */
bool note_text_valid(const char *text, size_t len);

/* Writes the signed note text || "\n" || one signature line by sk (which
 * must be k's private key; RFC 6979 deterministic ECDSA, so no RNG).
 * Returns its length, -EINVAL (bad text, key mismatch), -ENOSPC. */
long note_sign(char *out, size_t cap, const char *text, size_t text_len,
	       const struct note_key *k, const br_ec_private_key *sk);

/* One signature line of a note, as read. */
struct note_sig {
	const char *name;
	size_t name_len;
	uint32_t id;
	uint8_t sig[NOTE_SIG_MAX - 4];
	size_t sig_len;                  /* >= 1 */
};

struct note_reader {
	const char *p, *end;
	unsigned count;
};

/* Checks a note's shape (size, UTF-8, controls, the blank line, the
 * final newline) and finds its text: note[0..*text_len). r then reads
 * the signature lines. 0 or -EBADMSG with a reason. */
int note_open(const char *note, size_t len, size_t *text_len, struct note_reader *r,
	      char *err, size_t errcap);
/* The next signature line: 1, 0 after the last, or -EBADMSG. */
int note_next_sig(struct note_reader *r, struct note_sig *s, char *err, size_t errcap);

/* Verifies note[0..len) against k. Returns 0 and the text's length in
 * *text_len; -EBADMSG (malformed, or a line of k's that does not
 * verify) or -ENOKEY (no line of k's), with a reason in err. */
int note_verify(const char *note, size_t len, const struct note_key *k, size_t *text_len,
		char *err, size_t errcap);

#endif
