/* core/tls.c: self-signed certificates and the server PEM. Must never write a private key
 * with loose permissions, nor leave half a file behind after a crash (temp + rename). */
#include "core/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/rand.h"

#define PEM_MAX 16384

static int rng(void *ctx, unsigned char *out, size_t n)
{
	(void)ctx;
	return rand_bytes(out, n) == 0 ? 0 : MBEDTLS_ERR_ERROR_GENERIC_ERROR;
}

static void note_mbed(struct buf *msg, const char *what, int ret)
{
	char text[160];
	mbedtls_strerror(ret, text, sizeof text);
	buf_note(msg, "%s: %s", what, text);
}

/* Writes data to path through path.tmp (created with mode, never looser), then renames. */
static int write_file(const char *path, const void *data, size_t n, mode_t mode, struct buf *msg)
{
	struct buf tmp = BUF_INIT(8192);
	int rc = buf_printf(&tmp, "%s.tmp", path);
	if (rc) {
		buf_free(&tmp);
		return rc;
	}
	unlink(buf_str(&tmp));
	int fd = open(buf_str(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		buf_note(msg, "cannot write %s: %s", buf_str(&tmp), strerror(errno));
		buf_free(&tmp);
		return ERR_IO;
	}
	int ok = write(fd, data, n) == (ssize_t)n && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(buf_str(&tmp), path) != 0) {
		buf_note(msg, "cannot write %s: %s", path, strerror(errno));
		unlink(buf_str(&tmp));
		buf_free(&tmp);
		return ERR_IO;
	}
	buf_free(&tmp);
	return 0;
}

/* DER length octets for n (n < 65536). */
static int der_len(struct buf *b, size_t n)
{
	unsigned char l[3];
	if (n < 128) {
		l[0] = (unsigned char)n;
		return buf_add(b, l, 1);
	}
	if (n < 256) {
		l[0] = 0x81, l[1] = (unsigned char)n;
		return buf_add(b, l, 2);
	}
	if (n > 0xffff)
		return ERR_TOOBIG;
	l[0] = 0x82, l[1] = (unsigned char)(n >> 8), l[2] = (unsigned char)n;
	return buf_add(b, l, 3);
}

static int der_item(struct buf *b, unsigned char tag, const void *data, size_t n)
{
	int rc = buf_addc(b, (char)tag);
	rc = rc ? rc : der_len(b, n);
	return rc ? rc : buf_add(b, data, n);
}

/* subjectAltName: SEQUENCE OF GeneralName, dNSName [2] and iPAddress [7]. */
static int san_der(const char *const *extra, size_t n_extra, struct buf *out)
{
	static const unsigned char v4[4] = {127, 0, 0, 1};
	static const unsigned char v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	struct buf names = BUF_INIT(65535);
	int rc = der_item(&names, 0x82, "localhost", 9);
	rc = rc ? rc : der_item(&names, 0x87, v4, sizeof v4);
	rc = rc ? rc : der_item(&names, 0x87, v6, sizeof v6);
	for (size_t i = 0; i < n_extra && !rc; i++) {
		size_t len = strlen(extra[i]);
		if (len == 0 || len > 253 || strcspn(extra[i], " \t\r\n,/") != len)
			rc = ERR_INVAL;
		else
			rc = der_item(&names, 0x82, extra[i], len);
	}
	rc = rc ? rc : der_item(out, 0x30, names.ptr, names.len);
	buf_free(&names);
	return rc;
}

/* "YYYYMMDDhhmmss", as mbedTLS wants validity dates */
static void validity(time_t t, char out[15])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

static int make_self_signed(const char *cert_path, const char *key_path, const char *const *extra,
                            size_t n_extra, struct buf *msg)
{
	mbedtls_pk_context key;
	mbedtls_x509write_cert crt;
	mbedtls_mpi serial;
	unsigned char *pem = malloc(PEM_MAX);
	struct buf san = BUF_INIT(65535);
	int rc = ERR_CRYPTO, ret;
	mbedtls_pk_init(&key);
	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&serial);
	if (!pem) {
		rc = ERR_NOMEM;
		goto out;
	}
	if ((ret = mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
	    (ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key), rng, NULL)) != 0) {
		note_mbed(msg, "cannot generate a key", ret);
		goto out;
	}
	unsigned char sn[16];
	if (rand_bytes(sn, sizeof sn) != 0)
		goto out;
	sn[0] &= 0x7f; /* positive */
	sn[0] |= 0x40; /* and a full 16 bytes long */
	char not_before[15], not_after[15];
	time_t now = time(NULL);
	validity(now - 86400, not_before);
	validity(now + 10L * 365 * 86400, not_after);
	if (san_der(extra, n_extra, &san) != 0) {
		buf_note(msg, "TLS_HOSTNAMES must be DNS names separated by commas");
		rc = ERR_INVAL;
		goto out;
	}
	static const unsigned char eku[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01,
	                                    0x05, 0x05, 0x07, 0x03, 0x01}; /* serverAuth */
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &key);
	mbedtls_x509write_crt_set_issuer_key(&crt, &key);
	if ((ret = mbedtls_mpi_read_binary(&serial, sn, sizeof sn)) != 0 ||
	    (ret = mbedtls_x509write_crt_set_serial(&crt, &serial)) != 0 ||
	    (ret = mbedtls_x509write_crt_set_subject_name(&crt, "CN=localhost,O=app")) != 0 ||
	    (ret = mbedtls_x509write_crt_set_issuer_name(&crt, "CN=localhost,O=app")) != 0 ||
	    (ret = mbedtls_x509write_crt_set_validity(&crt, not_before, not_after)) != 0 ||
	    /* its own trust anchor: clients are given this certificate to trust */
	    (ret = mbedtls_x509write_crt_set_basic_constraints(&crt, 1, 0)) != 0 ||
	    (ret = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) != 0 ||
	    (ret = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
	                                               MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
	                                               (const unsigned char *)san.ptr, san.len)) != 0 ||
	    (ret = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
	                                               MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
	                                               eku, sizeof eku)) != 0) {
		note_mbed(msg, "cannot build the certificate", ret);
		goto out;
	}
	/* the key first: a certificate without its key would be useless */
	if ((ret = mbedtls_pk_write_key_pem(&key, pem, PEM_MAX)) != 0) {
		note_mbed(msg, "cannot encode the key", ret);
		goto out;
	}
	rc = write_file(key_path, pem, strlen((char *)pem), 0600, msg);
	if (rc)
		goto out;
	if ((ret = mbedtls_x509write_crt_pem(&crt, pem, PEM_MAX, rng, NULL)) != 0) {
		note_mbed(msg, "cannot sign the certificate", ret);
		unlink(key_path);
		rc = ERR_CRYPTO;
		goto out;
	}
	rc = write_file(cert_path, pem, strlen((char *)pem), 0644, msg);
	if (rc)
		unlink(key_path);
out:
	if (pem) {
		memset(pem, 0, PEM_MAX);
		free(pem);
	}
	buf_free(&san);
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
	return rc;
}

int tls_ensure_self_signed(const char *dir, const char *const *extra_dns, size_t n_extra,
                           struct buf *msg)
{
	struct buf cert = BUF_INIT(8192), key = BUF_INIT(8192);
	int rc = buf_printf(&cert, "%s/cert.pem", dir);
	rc = rc ? rc : buf_printf(&key, "%s/key.pem", dir);
	if (rc)
		goto out;
	bool have_cert = access(buf_str(&cert), F_OK) == 0;
	bool have_key = access(buf_str(&key), F_OK) == 0;
	if (have_cert && have_key)
		goto out;
	if (have_cert != have_key) {
		buf_note(msg, "%s has only one of cert.pem and key.pem; restore the other or remove both",
		         dir);
		rc = ERR_INVAL;
		goto out;
	}
	rc = make_self_signed(buf_str(&cert), buf_str(&key), extra_dns, n_extra, msg);
out:
	buf_free(&cert);
	buf_free(&key);
	return rc;
}

/* Reads a whole (small) file into b. */
static int read_file(const char *path, struct buf *b, struct buf *msg)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		buf_note(msg, "cannot read %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	char chunk[4096];
	size_t n;
	int rc = 0;
	while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		rc = buf_add(b, chunk, n);
	fclose(f);
	if (rc)
		buf_note(msg, "%s is too large for a PEM file", path);
	return rc;
}

int tls_server_pem(const char *cert_path, const char *key_path, const char *out_path,
                   struct buf *msg)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	struct buf out = BUF_INIT(1 << 20);
	int rc = ERR_CRYPTO, ret;
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	if ((ret = mbedtls_x509_crt_parse_file(&crt, cert_path)) != 0) {
		note_mbed(msg, cert_path, ret);
		goto out;
	}
	if ((ret = mbedtls_pk_parse_keyfile(&key, key_path, NULL)) != 0) {
		note_mbed(msg, key_path, ret);
		goto out;
	}
	if ((ret = mbedtls_pk_check_pair(&crt.pk, &key)) != 0) {
		buf_note(msg, "%s is not the key of the certificate in %s", key_path, cert_path);
		goto out;
	}
	rc = read_file(key_path, &out, msg);
	rc = rc ? rc : buf_addc(&out, '\n');
	rc = rc ? rc : read_file(cert_path, &out, msg);
	rc = rc ? rc : write_file(out_path, out.ptr, out.len, 0600, msg);
out:
	if (out.ptr)
		memset(out.ptr, 0, out.cap);
	buf_free(&out);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
	return rc;
}
