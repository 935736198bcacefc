/* Unit tests for core/tls.c: the self-signed certificate (names, key mode, made once) and
 * the combined PEM civetweb reads, including a key that does not match. */
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/rand.h"
#include "core/tls.h"

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char data[16384];
	*n = fread(data, 1, sizeof data, f);
	fclose(f);
	char *copy = malloc(*n + 1);
	memcpy(copy, data, *n);
	return copy;
}

static void path(char *out, const char *dir, const char *name)
{
	snprintf(out, 256, "%s/%s", dir, name);
}

int main(void)
{
	char dir[] = "/tmp/app-tls-XXXXXX", other[] = "/tmp/app-tls2-XXXXXX";
	CHECK(mkdtemp(dir) && mkdtemp(other));
	char cert[256], key[256], pem[256], key2[256];
	path(cert, dir, "cert.pem");
	path(key, dir, "key.pem");
	path(pem, dir, "server.pem");
	path(key2, other, "key.pem");
	struct buf msg = BUF_INIT(1024);
	const char *extra[] = {"app.example.org"};

	CHECK(tls_ensure_self_signed(dir, extra, 1, &msg) == 0);
	struct stat st;
	CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);

	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	CHECK(mbedtls_x509_crt_parse_file(&crt, cert) == 0);
	char subject[256];
	CHECK(mbedtls_x509_dn_gets(subject, sizeof subject, &crt.subject) > 0);
	CHECK(strstr(subject, "CN=localhost") != NULL);
	/* the SAN extension carries localhost, 127.0.0.1 and the extra name */
	CHECK(crt.ext_types & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME);
	const unsigned char v4[] = {0x87, 4, 127, 0, 0, 1};
	int has_v4 = 0;
	for (size_t i = 0; i + sizeof v4 <= crt.raw.len; i++)
		if (memcmp(crt.raw.p + i, v4, sizeof v4) == 0)
			has_v4 = 1;
	CHECK(has_v4);
	int has_dns = 0, has_extra = 0;
	for (const mbedtls_x509_sequence *s = &crt.subject_alt_names; s && s->buf.p; s = s->next) {
		if (s->buf.len == 9 && memcmp(s->buf.p, "localhost", 9) == 0)
			has_dns = 1;
		if (s->buf.len == 15 && memcmp(s->buf.p, "app.example.org", 15) == 0)
			has_extra = 1;
	}
	CHECK(has_dns && has_extra);
	CHECK(crt.valid_to.year >= crt.valid_from.year + 9);
	mbedtls_x509_crt_free(&crt);

	/* a second call changes nothing */
	size_t n1, n2;
	char *before = slurp(cert, &n1);
	CHECK(tls_ensure_self_signed(dir, NULL, 0, &msg) == 0);
	char *after = slurp(cert, &n2);
	CHECK(before && after && n1 == n2 && memcmp(before, after, n1) == 0);
	free(before);
	free(after);

	/* the combined PEM parses as both key and certificate, and is private */
	CHECK(tls_server_pem(cert, key, pem, &msg) == 0);
	CHECK(stat(pem, &st) == 0 && (st.st_mode & 0777) == 0600);
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	mbedtls_x509_crt_init(&crt);
	CHECK(mbedtls_pk_parse_keyfile(&pk, pem, NULL) == 0);
	CHECK(mbedtls_x509_crt_parse_file(&crt, pem) == 0);
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&crt);

	/* a key from another certificate is refused */
	CHECK(tls_ensure_self_signed(other, NULL, 0, &msg) == 0);
	buf_reset(&msg);
	CHECK(tls_server_pem(cert, key2, pem, &msg) != 0);
	CHECK(strstr(buf_str(&msg), "not the key") != NULL);
	/* only one of the two files: refused, nothing overwritten */
	CHECK(unlink(key) == 0);
	buf_reset(&msg);
	CHECK(tls_ensure_self_signed(dir, NULL, 0, &msg) != 0);
	CHECK(access(key, F_OK) != 0);
	/* a missing file is a clear error */
	buf_reset(&msg);
	CHECK(tls_server_pem("/nonexistent/cert.pem", key2, pem, &msg) != 0 && msg.len > 0);

	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, other);
	CHECK(system(cmd) == 0);
	buf_free(&msg);
	rand_shutdown();
	return check_done("tls");
}
