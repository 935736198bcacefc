/* core/tls.h: certificates for HTTPS: a self-signed one made once with mbedTLS
 * (--tls-auto), and the single key+certificate PEM civetweb's mbedTLS glue reads. */
#ifndef CORE_TLS_H
#define CORE_TLS_H

#include <stddef.h>

#include "core/buf.h"

/* Ensures dir/cert.pem and dir/key.pem exist. When neither does, makes an EC P-256 key and
 * a self-signed certificate for localhost, 127.0.0.1, ::1 and the extra DNS names, valid
 * for ten years; key.pem is created 0600 from the start. Both exist: nothing changes.
 * Only one exists: an error (nothing is overwritten). Reason appended to msg. */
WUR int tls_ensure_self_signed(const char *dir, const char *const *extra_dns, size_t n_extra,
                               struct buf *msg);
/* Writes the private key, then the certificate chain, into out_path (0600, temp + rename):
 * the one PEM civetweb reads for both. Fails when a file cannot be read or parsed, or the
 * key does not belong to the certificate. */
WUR int tls_server_pem(const char *cert_path, const char *key_path, const char *out_path,
                       struct buf *msg);

#endif
