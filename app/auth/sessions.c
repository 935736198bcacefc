/* auth/sessions.c: a person's sessions (one per sign-in: a refresh family) — list them, end
 * one, end all — and the set of ended sessions whose access tokens are refused until they
 * would have expired anyway. Must never let a session end while its access tokens still
 * work, nor show or end another person's session. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/internal.h"
#include "auth/jwt.h"
#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "store/db.h"

#define DEVICE_MAX_CHARS 200

/* ---- the revoked set ------------------------------------------------------------------
 * Access tokens are not looked up in the database (that would cost every request a read),
 * so ending a session puts its id here until the last token it issued has expired
 * (revoked_at + ACCESS_TTL); a restart reloads it from sessions.revoked_at. An open-
 * addressing table that starts small and doubles, purging expired entries first; past
 * REVOKED_MAX live entries revoked_add says so and the caller ends every session of that
 * person instead (always more sign-out, never less). Sign-ins are bounded by the KDF and
 * the rate limits, so in practice the set holds a few hundred ids. */
#define REVOKED_MIN_SLOTS 64
#define REVOKED_MAX       65536 /* live entries; the table has at most twice as many slots */
#define SID_LEN           36    /* a UUIDv7: the only session ids we make */

struct revoked {
	char sid[SID_LEN + 1]; /* "" for a free slot */
	int64_t until;         /* seconds: refused while now < until */
};

static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;
static struct revoked *set;    /* owned here; slots entries */
static size_t slots, used;     /* used: slots holding an id, expired or not */
static atomic_size_t nonempty; /* used, readable without the lock: 0 skips every lookup */

static size_t slot_of(const char *sid, size_t cap)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < SID_LEN; i++)
		h = (h ^ (unsigned char)sid[i]) * 1099511628211ull;
	return (size_t)h & (cap - 1);
}

/* Places an entry into t (cap slots, a power of two) without checks. */
static void place(struct revoked *t, size_t cap, const char *sid, int64_t until)
{
	size_t i = slot_of(sid, cap);
	while (t[i].sid[0] && strcmp(t[i].sid, sid) != 0)
		i = (i + 1) & (cap - 1);
	if (t[i].sid[0] && t[i].until > until)
		return; /* already refused for longer */
	memcpy(t[i].sid, sid, SID_LEN + 1);
	t[i].until = until;
}

/* Rebuilds the table with cap slots, dropping what expired before now. Under set_lock. */
static int rebuild(size_t cap, int64_t now)
{
	struct revoked *t = calloc(cap, sizeof *t);
	if (!t)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < slots; i++)
		if (set[i].sid[0] && set[i].until > now) {
			place(t, cap, set[i].sid, set[i].until);
			n++;
		}
	free(set);
	set = t;
	slots = cap;
	used = n;
	atomic_store(&nonempty, used);
	return 0;
}

int revoked_add(const char *sid, int64_t until_s)
{
	if (strlen(sid) != SID_LEN)
		return 0; /* not an id we issue: no token of ours carries it */
	int rc = 0;
	int64_t now = time(NULL);
	pthread_mutex_lock(&set_lock);
	if (2 * (used + 1) > slots) {
		/* purge first; grow only when what is live needs the room */
		size_t live = 0;
		for (size_t i = 0; i < slots; i++)
			live += set[i].sid[0] && set[i].until > now;
		size_t cap = slots ? slots : REVOKED_MIN_SLOTS;
		while (2 * (live + 1) > cap)
			cap *= 2;
		if (live + 1 > REVOKED_MAX)
			rc = ERR_TOOBIG;
		else
			rc = rebuild(cap, now);
	}
	if (!rc) {
		size_t before = 0;
		for (size_t i = slot_of(sid, slots); set[i].sid[0]; i = (i + 1) & (slots - 1))
			if (strcmp(set[i].sid, sid) == 0) {
				before = 1;
				break;
			}
		place(set, slots, sid, until_s);
		used += !before;
		atomic_store(&nonempty, used);
	}
	pthread_mutex_unlock(&set_lock);
	return rc;
}

bool revoked_has(const char *sid, int64_t now_s)
{
	if (atomic_load(&nonempty) == 0 || strlen(sid) != SID_LEN)
		return false;
	bool found = false;
	pthread_mutex_lock(&set_lock);
	for (size_t i = slots ? slot_of(sid, slots) : 0; slots && set[i].sid[0];
	     i = (i + 1) & (slots - 1))
		if (strcmp(set[i].sid, sid) == 0) {
			found = set[i].until > now_s;
			break;
		}
	pthread_mutex_unlock(&set_lock);
	return found;
}

static int load_one(void *ctx, const char *id, const char *revoked_at)
{
	int64_t ttl = *(const int64_t *)ctx, at;
	if (!id || !revoked_at || time_parse(revoked_at, &at) != 0)
		return 0;
	if (revoked_add(id, at / 1000000 + ttl + 1) == ERR_TOOBIG)
		log_warn("too many sessions ended lately to remember them all; the oldest stay "
		         "signed in",
		         "session", id, NULL);
	return 0;
}

int revoked_load(void)
{
	int64_t ttl = config_int("ACCESS_TTL");
	char since[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us() - (ttl + 1) * 1000000, since);
	return auth_session_revoked_since(since, load_one, &ttl);
}

void revoked_free(void)
{
	pthread_mutex_lock(&set_lock);
	free(set);
	set = NULL;
	slots = used = 0;
	atomic_store(&nonempty, 0);
	pthread_mutex_unlock(&set_lock);
}

void auth_forget_session(const char *sid, const char *user_id)
{
	/* + 1: a token issued in the second of the revocation expires within the TTL after it */
	if (revoked_add(sid, (int64_t)time(NULL) + config_int("ACCESS_TTL") + 1) == 0)
		return;
	/* the set is full: end every session of the person rather than leave this one working */
	log_warn("revoked-session set full: ending every session of the user", "user", user_id,
	         NULL);
	if (db_begin() == 0) {
		if (auth_revoke_user(user_id) == 0 && db_commit() == 0)
			return;
		db_rollback();
	}
	log_error("a signed-out session's access tokens keep working until they expire", "user",
	          user_id, NULL);
}

/* ---- handlers ------------------------------------------------------------------------ */

const char *auth_session_device(struct req *r)
{
	const char *ua = req_header(r, "User-Agent");
	if (!ua)
		return "";
	while (*ua == ' ' || *ua == '\t')
		ua++;
	size_t n = strlen(ua);
	char *out = arena_alloc(&r->arena, n + 1), *o = out;
	if (!out)
		return "";
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)ua; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			continue;
		if ((*p & 0xc0) != 0x80 && ++chars > DEVICE_MAX_CHARS)
			break; /* the start of character 201: stop before it */
		*o++ = (char)*p;
	}
	while (o > out && (o[-1] == ' ' || o[-1] == '\t'))
		o--;
	*o = '\0';
	/* a header that is not UTF-8 is kept as far as it is */
	size_t len = (size_t)(o - out);
	while (len > 0 && utf8_check(out, len) != 0)
		out[--len] = '\0';
	return out;
}

static void auth_session_json(struct jw *w, const void *p)
{
	const struct auth_session *s = p;
	jw_obj(w);
	jw_kstr(w, "id", s->id);
	jw_kstr(w, "device", s->device);
	jw_kstr(w, "created_at", s->created_at);
	jw_kstr(w, "last_used_at", s->last_used_at);
	jw_kbool(w, "current", s->current);
	jw_obj_end(w);
}

int auth_sessions_list(struct req *r)
{
	struct page pg;
	struct page_out out;
	struct jwt_claims c;
	char now[TIME_RFC3339_LEN];
	int rc = req_page_of(r, &pg);
	if (rc || (rc = auth_caller(r, &c)))
		return rc;
	time_rfc3339(time_now_us(), now);
	if ((rc = auth_session_page(&r->arena, r->user_id, now, &pg, &out)))
		return rc;
	struct auth_session *s = out.items;
	for (size_t i = 0; i < out.n; i++)
		s[i].current = c.sid[0] && strcmp(s[i].id, c.sid) == 0;
	return res_page(r, &out, sizeof(struct auth_session), auth_session_json);
}

int auth_session_delete(struct req *r)
{
	const char *id = req_param(r, "id");
	char now[TIME_RFC3339_LEN];
	struct auth_session s;
	time_rfc3339(time_now_us(), now);
	if (uuid_check(id) != 0)
		return http_error(r, E_NOT_FOUND, "no such session", NULL);
	int rc = db_begin();
	if (rc)
		return rc;
	rc = auth_session_find(&r->arena, id, r->user_id, now, &s);
	if (rc == ERR_NOTFOUND) {
		db_rollback();
		return http_error(r, E_NOT_FOUND, "no such session", NULL);
	}
	if (!rc)
		rc = refresh_family_revoke(id, now);
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		return rc;
	}
	auth_forget_session(id, r->user_id);
	r->status = 204;
	return 0;
}

int auth_sessions_delete_all(struct req *r)
{
	int rc = db_begin();
	if (rc)
		return rc;
	rc = auth_revoke_user(r->user_id);
	if (!rc)
		rc = db_commit();
	if (rc) {
		db_rollback();
		return rc;
	}
	r->status = 204;
	return 0;
}
