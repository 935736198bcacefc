/* Unit tests for core/crypto.c: published vectors for SHA-256, HMAC (RFC 4231), PBKDF2 and
 * base64 (RFC 4648), and strict decoding of everything that is not a canonical encoding. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/crypto.h"
#include "core/rand.h"

/* Hex of a digest as a C string in a static buffer, for CHECK_STR. */
static const char *hexof(const unsigned char *p, size_t n)
{
	static char text[256];
	struct buf b = BUF_INIT(sizeof text - 1);
	text[0] = '\0';
	if (crypto_hex(&b, p, n) == 0)
		memcpy(text, b.ptr, b.len + 1);
	buf_free(&b);
	return text;
}

static void test_hex(void)
{
	struct buf b = BUF_INIT(16);
	CHECK(crypto_hex(&b, "\x00\x01\xab\xff", 4) == 0);
	CHECK_STR(buf_str(&b), "0001abff");
	CHECK(crypto_hex(&b, "", 0) == 0 && b.len == 8);
	CHECK(crypto_hex(&b, "12345", 5) == ERR_TOOBIG); /* 8 + 10 > 16 */
	CHECK_STR(buf_str(&b), "0001abff");
	buf_free(&b);
}

static void test_sha256(void)
{
	unsigned char d[32];
	crypto_sha256("abc", 3, d);
	CHECK_STR(hexof(d, 32), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	crypto_sha256(NULL, 0, d);
	CHECK_STR(hexof(d, 32), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* piece by piece, with pieces that straddle the 64-byte block boundary: the same digest */
	const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	for (size_t cut = 0; cut <= 56; cut += 7) {
		struct crypto_sha256 h;
		crypto_sha256_begin(&h);
		crypto_sha256_add(&h, msg, cut);
		crypto_sha256_add(&h, msg + cut, 56 - cut);
		crypto_sha256_end(&h, d);
		CHECK_STR(hexof(d, 32), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	}
}

static void test_hmac(void)
{
	unsigned char key[131], d[32];
	/* RFC 4231 test case 1 */
	memset(key, 0x0b, 20);
	CHECK(crypto_hmac_sha256(key, 20, "Hi There", 8, d) == 0);
	CHECK_STR(hexof(d, 32), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* test case 2: a key shorter than the output */
	CHECK(crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d) == 0);
	CHECK_STR(hexof(d, 32), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* test case 6: a key longer than the block size is hashed first */
	static const char msg6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	memset(key, 0xaa, sizeof key);
	CHECK(crypto_hmac_sha256(key, sizeof key, msg6, sizeof msg6 - 1, d) == 0);
	CHECK_STR(hexof(d, 32), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_pbkdf2(void)
{
	unsigned char d[40];
	/* the widely published PBKDF2-HMAC-SHA256 vectors (also checked with Python's
	 * hashlib.pbkdf2_hmac) */
	CHECK(crypto_pbkdf2_sha256("password", 8, "salt", 4, 1, d, 32) == 0);
	CHECK_STR(hexof(d, 32), "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
	CHECK(crypto_pbkdf2_sha256("password", 8, "salt", 4, 4096, d, 32) == 0);
	CHECK_STR(hexof(d, 32), "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
	/* output longer than one HMAC block */
	static const char p[] = "passwordPASSWORDpassword";
	static const char s[] = "saltSALTsaltSALTsaltSALTsaltSALTsalt";
	CHECK(crypto_pbkdf2_sha256(p, sizeof p - 1, s, sizeof s - 1, 4096, d, 40) == 0);
	CHECK_STR(hexof(d, 40), "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1"
	                        "c635518c7dac47e9");
	CHECK(crypto_pbkdf2_sha256("password", 8, "salt", 4, 0, d, 32) == ERR_INVAL);
	CHECK(crypto_pbkdf2_sha256("password", 8, "salt", 4, 1, d, 0) == ERR_INVAL);
}

static void test_equal(void)
{
	CHECK(crypto_equal("abcd", "abcd", 4) == 1);
	CHECK(crypto_equal("abcd", "abce", 4) == 0);
	CHECK(crypto_equal("xbcd", "abcd", 4) == 0);
	CHECK(crypto_equal("a\0c", "a\0d", 3) == 0); /* not a string compare */
	CHECK(crypto_equal("a", "b", 0) == 1);
}

/* Encodes s with enc and compares with want. */
static void enc_is(int (*enc)(struct buf *, const void *, size_t), const char *s, const char *want)
{
	struct buf b = BUF_INIT(1024);
	CHECK(enc(&b, s, strlen(s)) == 0);
	CHECK_STR(buf_str(&b), want);
	buf_free(&b);
}

/* Decodes s with dec and compares with want (a C string), or expects ERR_INVAL. */
static void dec_is(int (*dec)(struct buf *, const char *, size_t), const char *s, const char *want)
{
	struct buf b = BUF_INIT(1024);
	CHECK(buf_adds(&b, "pre:") == 0);
	int rc = dec(&b, s, strlen(s));
	if (want) {
		CHECK(rc == 0);
		CHECK(b.len == 4 + strlen(want) && memcmp(b.ptr + 4, want, strlen(want)) == 0);
	} else {
		if (rc != ERR_INVAL)
			fprintf(stderr, "accepted malformed \"%s\"\n", s);
		CHECK(rc == ERR_INVAL);
		CHECK_STR(buf_str(&b), "pre:"); /* untouched on failure */
	}
	buf_free(&b);
}

static void test_b64(void)
{
	/* RFC 4648 section 10 */
	static const char *vec[][3] = {
	    {"", "", ""},
	    {"f", "Zg==", "Zg"},
	    {"fo", "Zm8=", "Zm8"},
	    {"foo", "Zm9v", "Zm9v"},
	    {"foob", "Zm9vYg==", "Zm9vYg"},
	    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		enc_is(crypto_b64_encode, vec[i][0], vec[i][1]);
		dec_is(crypto_b64_decode, vec[i][1], vec[i][0]);
		enc_is(crypto_b64url_encode, vec[i][0], vec[i][2]);
		dec_is(crypto_b64url_decode, vec[i][2], vec[i][0]);
	}
	/* the two alphabets differ in exactly 62 and 63 */
	enc_is(crypto_b64_encode, "\xfb\xff\xbf", "+/+/");
	enc_is(crypto_b64url_encode, "\xfb\xff\xbf", "-_-_");
	dec_is(crypto_b64_decode, "+/+/", "\xfb\xff\xbf");
	dec_is(crypto_b64url_decode, "-_-_", "\xfb\xff\xbf");
	dec_is(crypto_b64_decode, "-_-_", NULL);
	dec_is(crypto_b64url_decode, "+/+/", NULL);

	/* malformed standard base64, with the reason */
	static const char *bad_std[][2] = {
	    {"Zg", "padding missing"},
	    {"Zg=", "padding short"},
	    {"Zg===", "too much padding"},
	    {"Z===", "a lone symbol"},
	    {"====", "padding only"},
	    {"Zm8=Zm8=", "padding in the middle"},
	    {"Zh==", "non-zero trailing bits: Zg== is the one spelling of f"},
	    {"Zm9=", "non-zero trailing bits"},
	    {"Zm9v\n", "whitespace"},
	    {"Zm 9v", "space"},
	    {"Zm9v YmFy", "space between groups"},
	    {"Zm9*", "not in the alphabet"},
	    {"Zm9\x80", "high byte"},
	};
	for (size_t i = 0; i < sizeof bad_std / sizeof bad_std[0]; i++)
		dec_is(crypto_b64_decode, bad_std[i][0], NULL);
	/* an embedded NUL that strlen would not see */
	struct buf b = BUF_INIT(64);
	CHECK(crypto_b64_decode(&b, "Zm9\0", 4) == ERR_INVAL);
	CHECK(crypto_b64url_decode(&b, "Zm\0v", 4) == ERR_INVAL && b.len == 0);

	static const char *bad_url[][2] = {
	    {"Zg==", "padding"},
	    {"Zg=", "padding"},
	    {"Zm8=", "padding"},
	    {"Z", "4k+1 symbols"},
	    {"Zm9vY", "4k+1 symbols"},
	    {"Zh", "non-zero trailing bits"},
	    {"Zm9", "non-zero trailing bits"},
	    {"Zm9v\n", "whitespace"},
	    {"Zm/v", "standard alphabet"},
	    {"Zm+v", "standard alphabet"},
	};
	for (size_t i = 0; i < sizeof bad_url / sizeof bad_url[0]; i++)
		dec_is(crypto_b64url_decode, bad_url[i][0], NULL);

	/* all byte values survive a round trip */
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (size_t n = 0; n <= 256; n += 1) {
		struct buf e = BUF_INIT(1024), d = BUF_INIT(1024);
		CHECK(crypto_b64_encode(&e, all, n) == 0);
		CHECK(crypto_b64_decode(&d, e.ptr, e.len) == 0);
		CHECK(d.len == n && memcmp(d.ptr, all, n) == 0);
		buf_reset(&e);
		buf_reset(&d);
		CHECK(crypto_b64url_encode(&e, all, n) == 0);
		CHECK(e.len == (n * 4 + 2) / 3);
		CHECK(crypto_b64url_decode(&d, e.ptr, e.len) == 0);
		CHECK(d.len == n && memcmp(d.ptr, all, n) == 0);
		buf_free(&e);
		buf_free(&d);
	}

	/* limits: nothing is appended when the result does not fit */
	buf_reset(&b);
	b.max = 7;
	CHECK(crypto_b64_encode(&b, "foob", 4) == ERR_TOOBIG && b.len == 0);
	CHECK(crypto_b64url_encode(&b, "foob", 4) == 0);
	CHECK_STR(buf_str(&b), "Zm9vYg");
	CHECK(crypto_b64url_decode(&b, "Zm8", 3) == ERR_TOOBIG);
	CHECK_STR(buf_str(&b), "Zm9vYg");
	buf_free(&b);
}

static void test_token(void)
{
	struct buf a = BUF_INIT(4096), b = BUF_INIT(4096);
	CHECK(crypto_token(&a, 32) == 0);
	CHECK(a.len == 43);
	CHECK(crypto_token(&b, 32) == 0);
	CHECK(b.len == 43 && strcmp(a.ptr, b.ptr) != 0);
	struct buf d = BUF_INIT(64);
	CHECK(crypto_b64url_decode(&d, a.ptr, a.len) == 0 && d.len == 32);
	buf_free(&d);
	/* longer than one internal chunk */
	buf_reset(&a);
	CHECK(crypto_token(&a, 100) == 0 && a.len == 134);
	CHECK(crypto_token(&a, 0) == ERR_INVAL && a.len == 134);
	CHECK(crypto_token(&a, 1025) == ERR_INVAL && a.len == 134);
	/* a token that does not fit leaves nothing behind, not even its first chunk */
	buf_reset(&b);
	b.max = 70;
	CHECK(crypto_token(&b, 64) == ERR_TOOBIG && b.len == 0);
	buf_free(&a);
	buf_free(&b);
}

int main(void)
{
	test_hex();
	test_sha256();
	test_hmac();
	test_pbkdf2();
	test_equal();
	test_b64();
	test_token();
	rand_shutdown();
	return check_done("crypto");
}
