/* relay/store.c: every SQL statement on relay_accounts, relay_devices, relay_keys and
 * relay_queue, through store/db.h's engine-neutral calls only. Must never build SQL from
 * values, never hand one one-time prekey to two fetches (each is taken and deleted in the
 * fetch's write transaction), and never publish a message before the commit that keeps it. */
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/time.h"
#include "hub/hub.h"
#include "relay/internal.h"
#include "store/db.h"

static const char sql_devices[] =
	"SELECT device_id, registration_id, name, created_at, last_seen_at FROM relay_devices"
	" WHERE user_id = ?1 ORDER BY device_id";
static const char sql_device_count[] = "SELECT count(*) FROM relay_devices WHERE user_id = ?1";
/* ids are never reused: the account remembers the last one given */
static const char sql_next_device[] =
	"INSERT INTO relay_accounts(user_id, last_device_id) VALUES(?1, 1)"
	" ON CONFLICT(user_id) DO UPDATE SET last_device_id = relay_accounts.last_device_id + 1"
	" RETURNING last_device_id";
static const char sql_device_insert[] =
	"INSERT INTO relay_devices(user_id, device_id, registration_id, name, created_at) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char sql_device_reg[] =
	"SELECT registration_id FROM relay_devices WHERE user_id = ?1 AND device_id = ?2";
static const char sql_device_seen[] =
	"UPDATE relay_devices SET last_seen_at = ?3 WHERE user_id = ?1 AND device_id = ?2";
static const char sql_device_keys_delete[] = "DELETE FROM relay_keys WHERE user_id = ?1 AND device_id = ?2";
static const char sql_device_queue_delete[] = "DELETE FROM relay_queue WHERE user_id = ?1 AND device_id = ?2";
static const char sql_device_delete[] = "DELETE FROM relay_devices WHERE user_id = ?1 AND device_id = ?2";

static const char sql_identity[] = "SELECT identity_key FROM relay_accounts WHERE user_id = ?1";
static const char sql_identity_set[] = "UPDATE relay_accounts SET identity_key = ?2 WHERE user_id = ?1";
static const char sql_keys_clear[] = "DELETE FROM relay_keys WHERE user_id = ?1 AND device_id = ?2 AND kind = ?3";
static const char sql_key_insert[] =
	"INSERT INTO relay_keys(user_id, device_id, kind, key_id, public_key, signature) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_keys_count[] =
	"SELECT count(CASE WHEN kind = 2 THEN 1 END), count(CASE WHEN kind = 3 THEN 1 END) FROM relay_keys"
	" WHERE user_id = ?1 AND device_id = ?2";
static const char sql_key_first[] =
	"SELECT key_id, public_key, signature FROM relay_keys WHERE user_id = ?1 AND device_id = ?2 AND kind = ?3"
	" ORDER BY key_id LIMIT 1";
static const char sql_key_delete[] =
	"DELETE FROM relay_keys WHERE user_id = ?1 AND device_id = ?2 AND kind = ?3 AND key_id = ?4";

/* at most limit rows counted: the check costs the same for a full queue as for a long one */
static const char sql_depth[] =
	"SELECT count(*) FROM (SELECT 1 FROM relay_queue WHERE user_id = ?1 AND device_id = ?2 LIMIT ?3) q";
static const char sql_enqueue[] =
	"INSERT INTO relay_queue(user_id, device_id, message_id, sender_id, sender_device, envelope_type, content,"
	" created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING seq";
static const char sql_queue[] =
	"SELECT seq, message_id, sender_id, sender_device, envelope_type, content, created_at FROM relay_queue"
	" WHERE user_id = ?1 AND device_id = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4";
static const char sql_ack[] =
	"DELETE FROM relay_queue WHERE user_id = ?1 AND device_id = ?2 AND message_id = ?3"
	" RETURNING sender_id";
/* the oldest rows by seq, of which those past their time: a bounded probe when none is */
static const char sql_prune[] =
	"DELETE FROM relay_queue WHERE seq IN (SELECT seq FROM (SELECT seq, created_at FROM relay_queue"
	" ORDER BY seq LIMIT ?2) oldest WHERE created_at < ?1)";
static const char sql_forget_queue[] = "DELETE FROM relay_queue WHERE user_id = ?1";
static const char sql_forget_keys[] = "DELETE FROM relay_keys WHERE user_id = ?1";
static const char sql_forget_devices[] = "DELETE FROM relay_devices WHERE user_id = ?1";
static const char sql_forget_account[] = "DELETE FROM relay_accounts WHERE user_id = ?1";

/* A statement on one device (?1 user, ?2 device, ?3 n when n >= 0), run to its end. */
static int run_device(const char *sql, const char *user, int64_t device, int64_t n, const char *context)
{
	db_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user);
	db_bind_int(st, 2, device);
	if (n >= 0)
		db_bind_int(st, 3, n);
	return db_exec(st, context);
}

/* The first column of a one-row query on one device as an integer: 0, ERR_NOTFOUND, ERR_DB. */
static int int_of(const char *sql, const char *user, int64_t device, int64_t n, int64_t *out, const char *context)
{
	db_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user);
	if (device >= 0)
		db_bind_int(st, 2, device);
	if (n >= 0)
		db_bind_int(st, 3, n);
	int rc = db_step(st, context);
	if (rc == DB_ROW)
		*out = db_col_int(st, 0);
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_NOTFOUND : rc;
}

/* ---- devices --------------------------------------------------------------------------- */

int relay_store_devices(struct arena *a, const char *user, struct relay_device *out, int *n)
{
	*n = 0;
	db_stmt *st = db_prep(sql_devices);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user);
	int rc;
	while ((rc = db_step(st, "relay devices")) == DB_ROW && *n < RELAY_DEVICES_MAX) {
		struct relay_device *d = &out[(*n)++];
		d->id = db_col_int(st, 0);
		d->registration_id = db_col_int(st, 1);
		d->name = db_col_null(st, 2) ? NULL : db_text(a, st, 2);
		d->created_at = db_text(a, st, 3);
		d->last_seen_at = db_col_null(st, 4) ? NULL : db_text(a, st, 4);
		if (!d->created_at) {
			rc = ERR_NOMEM;
			break;
		}
	}
	db_done(st);
	return rc == DB_DONE || rc == DB_ROW ? 0 : rc;
}

struct device_add {
	const char *user, *name;
	int64_t registration_id, device_id;
};

static int device_add_txn(void *ctx)
{
	struct device_add *x = ctx;
	int64_t count = 0;
	int rc = int_of(sql_device_count, x->user, -1, -1, &count, "relay device count");
	if (rc)
		return rc;
	if (count >= RELAY_DEVICES_MAX)
		return ERR_BUSY;
	db_stmt *st = db_prep(sql_next_device);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, x->user);
	rc = db_step(st, "relay next device");
	if (rc == DB_ROW)
		x->device_id = db_col_int(st, 0);
	db_done(st);
	if (rc != DB_ROW)
		return rc == DB_DONE ? ERR_DB : rc;
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	if (!(st = db_prep(sql_device_insert)))
		return ERR_DB;
	db_bind_text(st, 1, x->user);
	db_bind_int(st, 2, x->device_id);
	db_bind_int(st, 3, x->registration_id);
	db_bind_text(st, 4, x->name);
	db_bind_text(st, 5, now);
	return db_exec(st, "relay device insert");
}

int relay_store_device_add(const char *user, int64_t registration_id, const char *name, int64_t *device_id)
{
	struct device_add x = {user, name, registration_id, 0};
	int rc = db_write(device_add_txn, &x);
	*device_id = x.device_id;
	return rc;
}

struct device_ref {
	const char *user;
	int64_t device_id;
};

static int device_remove_txn(void *ctx)
{
	struct device_ref *x = ctx;
	int64_t reg;
	int rc = int_of(sql_device_reg, x->user, x->device_id, -1, &reg, "relay device");
	if (!rc)
		rc = run_device(sql_device_queue_delete, x->user, x->device_id, -1, "relay device queue delete");
	if (!rc)
		rc = run_device(sql_device_keys_delete, x->user, x->device_id, -1, "relay device keys delete");
	return rc ? rc : run_device(sql_device_delete, x->user, x->device_id, -1, "relay device delete");
}

int relay_store_device_remove(const char *user, int64_t device_id)
{
	struct device_ref x = {user, device_id};
	return db_write(device_remove_txn, &x);
}

static int device_seen_txn(void *ctx)
{
	struct device_ref *x = ctx;
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	db_stmt *st = db_prep(sql_device_seen);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, x->user);
	db_bind_int(st, 2, x->device_id);
	db_bind_text(st, 3, now);
	int rc = db_exec(st, "relay device seen");
	return rc ? rc : db_changes() == 1 ? 0 : ERR_NOTFOUND;
}

int relay_store_device_seen(const char *user, int64_t device_id)
{
	struct device_ref x = {user, device_id};
	return db_write(device_seen_txn, &x);
}

/* ---- keys ------------------------------------------------------------------------------ */

static int key_insert(const char *user, int64_t device, int kind, const struct relay_key *k)
{
	db_stmt *st = db_prep(sql_key_insert);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user);
	db_bind_int(st, 2, device);
	db_bind_int(st, 3, kind);
	db_bind_int(st, 4, k->key_id);
	db_bind_blob(st, 5, k->pub, k->pub_len);
	if (k->sig)
		db_bind_blob(st, 6, k->sig, k->sig_len);
	else
		db_bind_null(st, 6);
	return db_exec(st, "relay key insert");
}

/* Replaces the device's keys of kind with keys[0..n). */
static int keys_replace(const char *user, int64_t device, int kind, const struct relay_key *keys, int n)
{
	int rc = run_device(sql_keys_clear, user, device, kind, "relay keys clear");
	for (int i = 0; !rc && i < n; i++)
		rc = key_insert(user, device, kind, &keys[i]);
	return rc;
}

static int counts(const char *user, int64_t device, int64_t *count, int64_t *kyber_count)
{
	db_stmt *st = db_prep(sql_keys_count);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user);
	db_bind_int(st, 2, device);
	int rc = db_step(st, "relay key count");
	if (rc == DB_ROW) {
		*count = db_col_int(st, 0);
		*kyber_count = db_col_int(st, 1);
	}
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? ERR_DB : rc;
}

struct keys_put {
	const char *user;
	const struct relay_upload *u;
	int64_t count, kyber_count;
};

/* The account's identity key: the first upload sets it; afterwards only device 1 changes it. */
static int identity_check(const char *user, const struct relay_upload *u)
{
	db_stmt *st = db_prep(sql_identity);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user);
	int rc = db_step(st, "relay identity");
	bool known = rc == DB_ROW && !db_col_null(st, 0), same = false;
	if (known && u->identity) {
		size_t n;
		const void *p = db_col_blob(st, 0, &n);
		same = n == RELAY_EC_KEY && memcmp(p, u->identity, n) == 0;
	}
	db_done(st);
	if (rc != DB_ROW)
		return rc == DB_DONE ? ERR_DB : rc; /* a device's account row exists */
	if (!u->identity)
		return known ? 0 : ERR_INVAL;
	if (same)
		return 0;
	if (known && u->device_id != 1)
		return ERR_EXISTS;
	if (!(st = db_prep(sql_identity_set)))
		return ERR_DB;
	db_bind_text(st, 1, user);
	db_bind_blob(st, 2, u->identity, RELAY_EC_KEY);
	return db_exec(st, "relay identity set");
}

static int keys_put_txn(void *ctx)
{
	struct keys_put *x = ctx;
	const struct relay_upload *u = x->u;
	int64_t reg;
	int rc = int_of(sql_device_reg, x->user, u->device_id, -1, &reg, "relay device");
	if (!rc)
		rc = identity_check(x->user, u);
	if (!rc && u->has_signed)
		rc = keys_replace(x->user, u->device_id, KIND_SIGNED, &u->signed_key, 1);
	if (!rc && u->has_last_resort)
		rc = keys_replace(x->user, u->device_id, KIND_LAST_RESORT, &u->last_resort, 1);
	if (!rc && u->n_ec >= 0)
		rc = keys_replace(x->user, u->device_id, KIND_EC, u->ec, u->n_ec);
	if (!rc && u->n_kyber >= 0)
		rc = keys_replace(x->user, u->device_id, KIND_KYBER, u->kyber, u->n_kyber);
	return rc ? rc : counts(x->user, u->device_id, &x->count, &x->kyber_count);
}

int relay_store_keys_put(const char *user, const struct relay_upload *u, int64_t *count, int64_t *kyber_count)
{
	struct keys_put x = {user, u, 0, 0};
	int rc = db_write(keys_put_txn, &x);
	*count = x.count;
	*kyber_count = x.kyber_count;
	return rc;
}

int relay_store_keys_count(const char *user, int64_t device_id, int64_t *count, int64_t *kyber_count)
{
	int64_t reg;
	int rc = int_of(sql_device_reg, user, device_id, -1, &reg, "relay device");
	return rc ? rc : counts(user, device_id, count, kyber_count);
}

static const void *copy(struct arena *a, const void *p, size_t n)
{
	void *q = arena_alloc(a, n ? n : 1);
	if (q && n)
		memcpy(q, p, n);
	return q;
}

/* The device's first key of kind into k (copied into a); taken: deleted. ERR_NOTFOUND. */
static int key_first(struct arena *a, const char *user, int64_t device, int kind, bool take, struct relay_key *k)
{
	db_stmt *st = db_prep(sql_key_first);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user);
	db_bind_int(st, 2, device);
	db_bind_int(st, 3, kind);
	int rc = db_step(st, "relay key");
	if (rc == DB_ROW) {
		size_t n = 0;
		const void *p;
		k->key_id = db_col_int(st, 0);
		p = db_col_blob(st, 1, &n);
		k->pub = copy(a, p, n);
		k->pub_len = n;
		k->sig = NULL;
		k->sig_len = 0;
		if (!db_col_null(st, 2)) {
			p = db_col_blob(st, 2, &n);
			k->sig = copy(a, p, n);
			k->sig_len = n;
		}
		if (!k->pub || (k->sig_len && !k->sig))
			rc = ERR_NOMEM;
	}
	db_done(st);
	if (rc != DB_ROW)
		return rc == DB_DONE ? ERR_NOTFOUND : rc;
	if (!take)
		return 0;
	if (!(st = db_prep(sql_key_delete)))
		return ERR_DB;
	db_bind_text(st, 1, user);
	db_bind_int(st, 2, device);
	db_bind_int(st, 3, kind);
	db_bind_int(st, 4, k->key_id);
	rc = db_exec(st, "relay key take");
	return rc ? rc : db_changes() == 1 ? 0 : ERR_DB;
}

struct keys_take {
	struct arena *a;
	const char *user;
	int64_t device_id;
	const unsigned char *identity;
	struct relay_bundle *out;
	int n;
};

static int keys_low(const char *user, int64_t device, int64_t count, int64_t kyber_count)
{
	char data[160];
	snprintf(data, sizeof data, "{\"device_id\":%lld,\"count\":%lld,\"kyber_count\":%lld}", (long long)device,
	         (long long)count, (long long)kyber_count);
	return hub_user_event(user, "keys.low", data, NULL);
}

/* One device's bundle into b: 0, ERR_NOTFOUND (it has no signed prekey or no Kyber key). */
static int bundle_take(struct keys_take *x, const struct relay_device *d, struct relay_bundle *b)
{
	memset(b, 0, sizeof *b);
	b->device_id = d->id;
	b->registration_id = d->registration_id;
	int rc = key_first(x->a, x->user, d->id, KIND_SIGNED, false, &b->signed_key);
	if (rc)
		return rc;
	/* the Kyber key first: without one there is no bundle, and no EC key is spent */
	bool took_kyber = (rc = key_first(x->a, x->user, d->id, KIND_KYBER, true, &b->kyber)) == 0;
	if (rc == ERR_NOTFOUND)
		rc = key_first(x->a, x->user, d->id, KIND_LAST_RESORT, false, &b->kyber);
	if (rc)
		return rc;
	rc = key_first(x->a, x->user, d->id, KIND_EC, true, &b->prekey);
	b->has_prekey = rc == 0;
	if (rc && rc != ERR_NOTFOUND)
		return rc;
	if (!b->has_prekey && !took_kyber)
		return 0;
	int64_t count, kyber_count;
	if ((rc = counts(x->user, d->id, &count, &kyber_count)))
		return rc;
	if ((b->has_prekey && count < RELAY_KEYS_LOW) || (took_kyber && kyber_count < RELAY_KEYS_LOW))
		return keys_low(x->user, d->id, count, kyber_count);
	return 0;
}

static int keys_take_txn(void *ctx)
{
	struct keys_take *x = ctx;
	struct relay_device devs[RELAY_DEVICES_MAX];
	int n = 0;
	int rc = relay_store_devices(x->a, x->user, devs, &n);
	x->n = 0;
	for (int i = 0; !rc && i < n; i++) {
		if (x->device_id && devs[i].id != x->device_id)
			continue;
		rc = bundle_take(x, &devs[i], &x->out[x->n]);
		if (rc == ERR_NOTFOUND)
			rc = 0; /* a device without keys yet: not in the bundle */
		else if (!rc)
			x->n++;
	}
	if (rc)
		return rc;
	if (x->n == 0)
		return ERR_NOTFOUND;
	db_stmt *st = db_prep(sql_identity);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, x->user);
	rc = db_step(st, "relay identity");
	size_t len = 0;
	const void *p = rc == DB_ROW && !db_col_null(st, 0) ? db_col_blob(st, 0, &len) : NULL;
	x->identity = p && len == RELAY_EC_KEY ? copy(x->a, p, len) : NULL;
	db_done(st);
	if (rc != DB_ROW)
		return rc == DB_DONE ? ERR_NOTFOUND : rc;
	return x->identity ? 0 : p ? ERR_NOMEM : ERR_NOTFOUND;
}

int relay_store_keys_take(struct arena *a, const char *user, int64_t device_id, const unsigned char **identity,
                          struct relay_bundle *out, int *n)
{
	struct keys_take x = {a, user, device_id, NULL, out, 0};
	int rc = db_write(keys_take_txn, &x);
	*identity = x.identity;
	*n = rc ? 0 : x.n;
	return rc;
}

/* ---- the queue ------------------------------------------------------------------------- */

static bool has_id(const int64_t *ids, int n, int64_t id)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* The device set of x against the recipient's devices (Signal's rules). */
static int devices_check(struct relay_accept *x)
{
	char first[1024];
	struct arena a;
	arena_init(&a, 16 * 1024, first, sizeof first);
	struct relay_device devs[RELAY_DEVICES_MAX];
	int n = 0;
	int rc = relay_store_devices(&a, x->recipient, devs, &n);
	arena_free(&a);
	if (rc)
		return rc;
	/* the inbox of an account without devices takes the simple form, while it has none */
	if (x->n == 1 && x->env[0].device_id == 0 && x->env[0].type == 0) {
		x->refusal = n ? REFUSED_MISMATCH : REFUSED_NOT;
		return n ? ERR_INVAL : 0;
	}
	if (n == 0)
		return ERR_NOTFOUND;
	bool self = strcmp(x->sender, x->recipient) == 0;
	int64_t want[RELAY_DEVICES_MAX];
	int nwant = 0;
	for (int i = 0; i < n; i++)
		if (!self || devs[i].id != x->sender_device)
			want[nwant++] = devs[i].id;
	int64_t given[RELAY_DEVICES_MAX + 1];
	for (int i = 0; i < x->n; i++)
		given[i] = x->env[i].device_id;
	x->nmissing = x->nextra = x->nstale = 0;
	for (int i = 0; i < nwant; i++)
		if (!has_id(given, x->n, want[i]))
			x->missing[x->nmissing++] = want[i];
	for (int i = 0; i < x->n; i++)
		if (!has_id(want, nwant, given[i]))
			x->extra[x->nextra++] = given[i];
	if (x->nmissing || x->nextra) {
		x->refusal = REFUSED_MISMATCH;
		return ERR_INVAL;
	}
	for (int i = 0; i < x->n; i++)
		for (int j = 0; j < n; j++)
			if (devs[j].id == x->env[i].device_id && devs[j].registration_id != x->env[i].registration_id)
				x->stale[x->nstale++] = devs[j].id;
	if (x->nstale) {
		x->refusal = REFUSED_STALE;
		return ERR_INVAL;
	}
	return 0;
}

static void deliveries_post(void *arg)
{
	for (struct relay_delivery *d = arg, *next; d; d = next) {
		next = d->next;
		relay_delivery_post(d);
	}
}

static void deliveries_keep(void *arg)
{
	(void)arg; /* not kept: the caller frees them when db_write fails */
}

struct accept_ctx {
	struct relay_accept *x;
	int64_t queue_max;
};

static int accept_txn(void *ctx)
{
	struct accept_ctx *c = ctx;
	struct relay_accept *x = c->x;
	x->refusal = REFUSED_NOT;
	int64_t v;
	int rc = 0;
	if (x->sender_device > 0 &&
	    (rc = int_of(sql_device_reg, x->sender, x->sender_device, -1, &v, "relay sender device"))) {
		if (rc == ERR_NOTFOUND) {
			x->refusal = REFUSED_SENDER;
			rc = ERR_INVAL;
		}
		return rc;
	}
	if ((rc = devices_check(x)))
		return rc;
	for (int i = 0; i < x->n; i++) {
		const struct relay_envelope *e = &x->env[i];
		if ((rc = int_of(sql_depth, x->recipient, e->device_id, c->queue_max, &v, "relay queue depth")))
			return rc;
		if (v >= c->queue_max) {
			x->refusal = REFUSED_FULL;
			x->full_device = e->device_id;
			return ERR_INVAL;
		}
	}
	for (int i = 0; i < x->n; i++) {
		struct relay_envelope *e = &x->env[i];
		db_stmt *st = db_prep(sql_enqueue);
		if (!st)
			return ERR_DB;
		db_bind_text(st, 1, x->recipient);
		db_bind_int(st, 2, e->device_id);
		db_bind_text(st, 3, x->message_id);
		db_bind_text(st, 4, x->sender);
		db_bind_int(st, 5, x->sender_device);
		db_bind_int(st, 6, e->type);
		db_bind_blob(st, 7, e->content, e->len);
		db_bind_text(st, 8, x->created_at);
		rc = db_step(st, "relay enqueue");
		if (rc == DB_ROW)
			e->delivery->seq = db_col_int(st, 0);
		db_done(st);
		if (rc != DB_ROW)
			return rc == DB_DONE ? ERR_DB : rc;
		e->delivery->next = i + 1 < x->n ? x->env[i + 1].delivery : NULL;
	}
	return db_after_commit(deliveries_post, deliveries_keep, x->env[0].delivery);
}

int relay_store_accept(struct relay_accept *x, int64_t queue_max)
{
	struct accept_ctx c = {x, queue_max};
	return x->n > 0 ? db_write(accept_txn, &c) : ERR_INVAL;
}

int relay_store_queue(const char *user, int64_t device_id, int64_t after, int max, size_t max_bytes,
                      int (*each)(void *ctx, const struct relay_row *row), void *ctx, bool *full)
{
	*full = false;
	db_stmt *st = db_prep(sql_queue);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user);
	db_bind_int(st, 2, device_id);
	db_bind_int(st, 3, after);
	db_bind_int(st, 4, max);
	int rc, rows = 0;
	size_t bytes = 0;
	while ((rc = db_step(st, "relay queue")) == DB_ROW) {
		struct relay_row row = {
			.seq = db_col_int(st, 0),
			.message_id = db_col(st, 1),
			.sender = db_col(st, 2),
			.sender_device = db_col_int(st, 3),
			.type = (int)db_col_int(st, 4),
			.created_at = db_col(st, 6),
		};
		row.content = db_col_blob(st, 5, &row.len);
		if (!row.message_id || !row.sender || !row.created_at) {
			rc = ERR_DB;
			break;
		}
		if ((rc = each(ctx, &row)))
			break;
		rows++;
		bytes += row.len;
		if (rows >= max || bytes >= max_bytes) {
			*full = true;
			rc = DB_DONE;
			break;
		}
	}
	db_done(st);
	return rc == DB_DONE ? 0 : rc == DB_ROW ? ERR_DB : rc;
}

struct ack {
	const char *user;
	int64_t device_id;
	const char *const *ids;
	int n, acked;
};

static int ack_txn(void *ctx)
{
	struct ack *x = ctx;
	char data[256];
	x->acked = 0;
	for (int i = 0; i < x->n; i++) {
		db_stmt *st = db_prep(sql_ack);
		if (!st)
			return ERR_DB;
		db_bind_text(st, 1, x->user);
		db_bind_int(st, 2, x->device_id);
		db_bind_text(st, 3, x->ids[i]);
		char sender[RELAY_ID_MAX] = "";
		int rc;
		/* RETURNING gives a row per deleted row (one at most: message ids are unique per device) */
		while ((rc = db_step(st, "relay ack")) == DB_ROW) {
			const char *s = db_col(st, 0);
			snprintf(sender, sizeof sender, "%s", s ? s : "");
		}
		db_done(st);
		if (rc != DB_DONE)
			return rc;
		if (!*sender)
			continue; /* acked before, or never queued here */
		x->acked++;
		struct buf b = BUF_INIT(sizeof data);
		struct jw w;
		jw_init(&w, &b);
		jw_obj(&w);
		jw_kstr(&w, "message_id", x->ids[i]);
		jw_kstr(&w, "to", x->user);
		jw_kint(&w, "device_id", x->device_id);
		jw_obj_end(&w);
		rc = jw_finish(&w);
		if (!rc)
			rc = hub_user_event(sender, "delivered", buf_str(&b), NULL);
		buf_free(&b);
		if (rc)
			return rc;
	}
	return 0;
}

int relay_store_ack(const char *user, int64_t device_id, const char *const *ids, int n, int *acked)
{
	struct ack x = {user, device_id, ids, n, 0};
	int rc = db_write(ack_txn, &x);
	*acked = rc ? 0 : x.acked;
	return rc;
}

struct prune {
	const char *before;
	int limit;
	long rows;
};

static int prune_txn(void *ctx)
{
	struct prune *x = ctx;
	db_stmt *st = db_prep(sql_prune);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, x->before);
	db_bind_int(st, 2, x->limit);
	int rc = db_exec(st, "relay prune");
	x->rows = rc ? 0 : db_changes();
	return rc;
}

int relay_store_prune(const char *before, int limit, long *rows)
{
	struct prune x = {before, limit, 0};
	int rc = db_write(prune_txn, &x);
	*rows = x.rows;
	return rc;
}

int relay_store_forget(const char *user)
{
	const char *const sql[] = {sql_forget_queue, sql_forget_keys, sql_forget_devices, sql_forget_account};
	int rc = 0;
	for (size_t i = 0; !rc && i < sizeof sql / sizeof sql[0]; i++)
		rc = db_run(sql[i], "relay forget", 1, &user);
	return rc;
}
