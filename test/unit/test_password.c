/* Unit tests for auth/password.c: round trips, a known stored string, the rehash flag, and
 * every way a stored string can be malformed. */
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "check.h"
#include "core/rand.h"

/* Computed independently with Python: hashlib.pbkdf2_hmac('sha256', b'password',
 * b'saltSALTsaltSALT', 1000, 32); S is the salt and H the hash in unpadded base64url. */
#define S "c2FsdFNBTFRzYWx0U0FMVA"
#define H "RviVuqoYXwJlwdpwjXmZU95ZL1dsRTi366mc7XAO51s"
static const char known[] = "pbkdf2-sha256$1000$" S "$" H;
/* the same with an empty password */
static const char known_empty[] =
    "pbkdf2-sha256$1000$" S "$Qw63x-CYByjkU22-DuzuXm7we-n3T9V7ZX9AJCRFPR4";

static int verify(const char *pw, const char *stored, unsigned want, bool *ok, bool *rehash)
{
	return password_verify(pw, strlen(pw), stored, want, ok, rehash);
}

static void test_known(void)
{
	bool ok = false, rehash = true;
	CHECK(verify("password", known, 1000, &ok, &rehash) == 0);
	CHECK(ok && !rehash);
	CHECK(verify("Password", known, 1000, &ok, &rehash) == 0);
	CHECK(!ok && !rehash);
	CHECK(verify("", known_empty, 1000, &ok, &rehash) == 0);
	CHECK(ok);
	CHECK(verify("", known, 1000, &ok, &rehash) == 0);
	CHECK(!ok);
	/* the password's length is the truth, not a NUL */
	CHECK(password_verify("pass\0word", 9, known, 1000, &ok, &rehash) == 0);
	CHECK(!ok);
	/* A known property of HMAC, hence of PBKDF2: a key shorter than the block is padded
	 * with zeros, so trailing NULs do not change the result. Documented in password.h. */
	CHECK(password_verify("password\0", 9, known, 1000, &ok, &rehash) == 0);
	CHECK(ok);
}

static void test_round_trip(void)
{
	struct buf a = BUF_INIT(PASSWORD_STORED_MAX), b = BUF_INIT(PASSWORD_STORED_MAX);
	bool ok = false, rehash = true;
	CHECK(password_hash("correct horse", 13, 1000, &a) == 0);
	CHECK(strncmp(buf_str(&a), "pbkdf2-sha256$1000$", 19) == 0);
	CHECK(a.len == 19 + 22 + 1 + 43);
	CHECK(verify("correct horse", a.ptr, 1000, &ok, &rehash) == 0 && ok && !rehash);
	CHECK(verify("correct horsf", a.ptr, 1000, &ok, &rehash) == 0 && !ok);
	CHECK(verify("correct hors", a.ptr, 1000, &ok, &rehash) == 0 && !ok);
	/* same password, fresh salt: a different string */
	CHECK(password_hash("correct horse", 13, 1000, &b) == 0);
	CHECK(strcmp(a.ptr, b.ptr) != 0);
	CHECK(verify("correct horse", b.ptr, 1000, &ok, &rehash) == 0 && ok);

	/* the app's default work factor */
	buf_reset(&a);
	CHECK(password_hash("s3cret!", 7, PASSWORD_ITERATIONS, &a) == 0);
	CHECK(strncmp(buf_str(&a), "pbkdf2-sha256$600000$", 21) == 0);
	CHECK(verify("s3cret!", a.ptr, PASSWORD_ITERATIONS, &ok, &rehash) == 0 && ok && !rehash);

	/* empty passwords are this layer's business to hash, not to forbid */
	buf_reset(&a);
	CHECK(password_hash("", 0, 1000, &a) == 0);
	CHECK(verify("", a.ptr, 1000, &ok, &rehash) == 0 && ok);
	CHECK(verify(" ", a.ptr, 1000, &ok, &rehash) == 0 && !ok);

	/* binary bytes and embedded NULs are part of the password */
	buf_reset(&a);
	CHECK(password_hash("a\0b\xff", 4, 1000, &a) == 0);
	CHECK(password_verify("a\0b\xff", 4, a.ptr, 1000, &ok, &rehash) == 0 && ok);
	CHECK(password_verify("a\0c\xff", 4, a.ptr, 1000, &ok, &rehash) == 0 && !ok);
	buf_free(&a);
	buf_free(&b);
}

static void test_rehash(void)
{
	bool ok = false, rehash = false;
	CHECK(verify("password", known, 1001, &ok, &rehash) == 0);
	CHECK(ok && rehash);
	CHECK(verify("password", known, PASSWORD_ITERATIONS, &ok, &rehash) == 0);
	CHECK(ok && rehash);
	CHECK(verify("password", known, 999, &ok, &rehash) == 0);
	CHECK(ok && !rehash); /* stronger than wanted is fine */
	/* a wrong password never asks for a rehash */
	CHECK(verify("wrong", known, PASSWORD_ITERATIONS, &ok, &rehash) == 0);
	CHECK(!ok && !rehash);
}

static void test_limits(void)
{
	char big[PASSWORD_MAX_LEN + 1];
	memset(big, 'x', sizeof big);
	struct buf b = BUF_INIT(PASSWORD_STORED_MAX);
	bool ok = true, rehash = true;
	CHECK(password_hash(big, sizeof big, 1000, &b) == ERR_TOOBIG && b.len == 0);
	CHECK(password_hash(big, sizeof big - 1, 1000, &b) == 0);
	CHECK(password_verify(big, sizeof big - 1, b.ptr, 1000, &ok, &rehash) == 0 && ok);
	CHECK(password_verify(big, sizeof big, b.ptr, 1000, &ok, &rehash) == ERR_TOOBIG);
	CHECK(!ok && !rehash);
	buf_reset(&b);
	CHECK(password_hash("pw", 2, 0, &b) == ERR_INVAL);
	CHECK(password_hash("pw", 2, PASSWORD_MAX_ITERATIONS + 1, &b) == ERR_INVAL);
	CHECK(b.len == 0);
	buf_free(&b);
	/* the output's limit is respected and a failed hash appends nothing */
	struct buf s = BUF_INIT(80);
	CHECK(buf_adds(&s, "x") == 0);
	CHECK(password_hash("pw", 2, 1000, &s) == ERR_TOOBIG);
	CHECK_STR(buf_str(&s), "x");
	buf_free(&s);
}

static void test_malformed(void)
{
	static const char *bad[] = {
	    "",
	    "pbkdf2-sha256",
	    "pbkdf2-sha256$",
	    "pbkdf2-sha256$1000",
	    "pbkdf2-sha256$1000$" S,
	    "pbkdf2-sha256$1000$" S "$",
	    "pbkdf2-sha256$$" S "$" H,
	    /* other schemes and spellings */
	    "pbkdf2-sha512$1000$" S "$" H,
	    "PBKDF2-SHA256$1000$" S "$" H,
	    "$pbkdf2-sha256$1000$" S "$" H,
	    /* iterations */
	    "pbkdf2-sha256$0$" S "$" H,
	    "pbkdf2-sha256$01000$" S "$" H,
	    "pbkdf2-sha256$+1000$" S "$" H,
	    "pbkdf2-sha256$-1000$" S "$" H,
	    "pbkdf2-sha256$ 1000$" S "$" H,
	    "pbkdf2-sha256$1e3$" S "$" H,
	    "pbkdf2-sha256$10000001$" S "$" H,
	    "pbkdf2-sha256$4294968296$" S "$" H,
	    /* salt: padded, standard alphabet, too short, bad trailing bits, empty */
	    "pbkdf2-sha256$1000$" S "==$" H,
	    "pbkdf2-sha256$1000$c2FsdFNBTFRz/Wx0U0FMVA$" H,
	    "pbkdf2-sha256$1000$c2FsdFNBTFQ$" H,
	    "pbkdf2-sha256$1000$c2FsdFNBTFRzYWx0U0FMVB$" H,
	    "pbkdf2-sha256$1000$$" H,
	    /* hash: one byte short, one too many, padded, stray characters */
	    "pbkdf2-sha256$1000$" S "$RviVuqoYXwJlwdpwjXmZU95ZL1dsRTi366mc7XAO5w",
	    "pbkdf2-sha256$1000$" S "$" H "AAA",
	    "pbkdf2-sha256$1000$" S "$" H "=",
	    "pbkdf2-sha256$1000$" S "$" H "\n",
	    "pbkdf2-sha256$1000$" S "$" H "$",
	    "pbkdf2-sha256$1000$" S "$$" H,
	    " pbkdf2-sha256$1000$" S "$" H,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		bool ok = true, rehash = true;
		int rc = verify("password", bad[i], 1000, &ok, &rehash);
		if (rc != ERR_INVAL)
			fprintf(stderr, "accepted malformed #%zu \"%s\" (%d)\n", i, bad[i], rc);
		CHECK(rc == ERR_INVAL && !ok && !rehash);
	}
	/* an absurdly long stored string is malformed, not read to its end */
	char *huge = malloc(100001);
	CHECK(huge != NULL);
	if (huge) {
		memset(huge, 'A', 100000);
		huge[100000] = '\0';
		memcpy(huge, known, sizeof known - 1);
		bool ok = true, rehash = true;
		CHECK(verify("password", huge, 1000, &ok, &rehash) == ERR_INVAL && !ok);
		free(huge);
	}
	/* a longer salt (here 24 bytes) is still accepted */
	bool ok = false, rehash = true;
	CHECK(verify("password", "pbkdf2-sha256$1000$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxU$" H, 1000,
	             &ok, &rehash) == 0);
	CHECK(!ok); /* well-formed, but the hash belongs to another salt */
}

int main(void)
{
	test_known();
	test_round_trip();
	test_rehash();
	test_limits();
	test_malformed();
	rand_shutdown();
	return check_done("password");
}
