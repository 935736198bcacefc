/* auth/seed.c: `app seed users N [PREFIX]`, verified accounts with ready access tokens for
 * benchmarks and tests, made without the public doors and their rate limits. Must never
 * give a seeded account a password anybody knows, nor print anything but the account lines
 * on its output. */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/internal.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/time.h"
#include "store/db.h"

#define BATCH      500 /* accounts per transaction: few transactions, none holding the writer long */
#define PREFIX_MAX 40

static bool prefix_ok(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > PREFIX_MAX)
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* One password hash for the whole run, at the configured cost, of 256 random bits that are
 * forgotten at once: nobody can sign in with it, and hashing once keeps seeding fast. */
static int unknown_password_hash(struct buf *hash)
{
	struct buf pw = BUF_INIT(128);
	int rc = crypto_token(&pw, 32);
	if (!rc)
		rc = password_hash(pw.ptr, pw.len, (unsigned)config_int("PASSWORD_ITERATIONS"),
		                   hash);
	if (pw.ptr)
		memset(pw.ptr, 0, pw.len);
	buf_free(&pw);
	return rc;
}

/* Accounts first..last (1-based) in one transaction: created, or found when they exist. */
static int seed_batch(struct arena *a, long first, long last, const char *prefix, const char *hash,
                      struct user *users)
{
	int rc = db_begin();
	for (long i = first; !rc && i <= last; i++) {
		struct user *u = &users[i - first];
		char *email = arena_printf(a, "%s-%ld@seed.test", prefix, i);
		char *name = arena_printf(a, "Seed %ld", i);
		char id[UUID_STR_LEN];
		if (!email || !name) {
			rc = ERR_NOMEM;
			break;
		}
		rc = users_by_email(a, email, u);
		if (rc == ERR_NOTFOUND &&
		    (rc = users_create(email, NULL, hash, name, "user", id)) == 0 &&
		    (rc = users_mark_email_verified(id)) == 0)
			rc = users_by_id(a, id, u);
	}
	if (rc) {
		db_rollback();
		return rc;
	}
	return db_commit();
}

int auth_seed_users(long n, const char *prefix, FILE *out, struct buf *msg)
{
	if (n < 1 || !prefix_ok(prefix)) {
		buf_note(msg,
		         "seed users wants N >= 1 and a PREFIX of letters, digits, '.', '_' or '-' "
		         "(at most %d)",
		         PREFIX_MAX);
		return ERR_INVAL;
	}
	struct buf hash = BUF_INIT(256), jwt = BUF_INIT(JWT_MAX_LEN);
	struct user users[BATCH];
	int rc = unknown_password_hash(&hash);
	if (rc)
		buf_note(msg, "the password hash could not be made: %s", err_str(rc));
	for (long first = 1; !rc && first <= n; first += BATCH) {
		long last = first + BATCH - 1 < n ? first + BATCH - 1 : n;
		struct arena a;
		arena_init(&a, 16 << 20, NULL, 0);
		if ((rc = seed_batch(&a, first, last, prefix, buf_str(&hash), users)))
			buf_note(msg, "accounts %ld to %ld could not be stored: %s", first, last,
			         err_str(rc));
		/* printed once committed: every line names an account that exists. The tokens
		 * belong to no session (no refresh token is made): they end with ACCESS_TTL, a
		 * sign-out everywhere or a password reset. */
		int64_t now_s = time_now_us() / 1000000;
		for (long i = first; !rc && i <= last; i++) {
			const struct user *u = &users[i - first];
			buf_reset(&jwt);
			if ((rc = auth_access_token(NULL, u, NULL, now_s, &jwt)))
				buf_note(msg, "an access token could not be signed: %s",
				         err_str(rc));
			else if (fprintf(out, "%s\t%s\t%s\n", u->email, u->id, buf_str(&jwt)) < 0)
				rc = ERR_IO;
		}
		arena_free(&a);
	}
	if (!rc && fflush(out) != 0)
		rc = ERR_IO;
	if (rc == ERR_IO)
		buf_note(msg, "the output could not be written");
	buf_free(&hash);
	buf_free(&jwt);
	return rc;
}
