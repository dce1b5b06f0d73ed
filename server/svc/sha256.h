/* sha256: SHA-256 (FIPS 180-4), incremental, for the checksum of uploaded datasets.
 * No dependency; streams, so a body of any size is hashed as it arrives.
 *
 *   sha256_ctx c; sha256_init(&c);
 *   sha256_update(&c, chunk, len);   // any number of times
 *   char hex[65]; sha256_final_hex(&c, hex);
 */
#ifndef DC_SHA256_H
#define DC_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t len;          /* bytes hashed so far */
    unsigned char buf[64]; /* pending partial block */
    size_t nbuf;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
/* Finishes: out receives the 32-byte digest. c must be re-initialised to reuse. */
void sha256_final(sha256_ctx *c, unsigned char out[32]);
/* The same as 64 lowercase hex digits and a NUL. */
void sha256_final_hex(sha256_ctx *c, char hex[65]);

#endif
