/* mail/routes.c: the mail domain's route table, and GET /admin/outbox. An admin sees what
 * was sent and why something was not, never the secret in a message (links, codes) outside
 * dev mode: an admin must not be able to take over another account from here. */
#include <string.h>

#include "core/config.h"
#include "http/req.h"
#include "mail/mail.h"
#include "store/db.h"

static const char sql_list[] =
	"SELECT id, channel, recipient, subject, body, secret, state, attempts, next_attempt_at, last_error,"
	" created_at, sent_at FROM outbox WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR state = ?2)"
	" ORDER BY id DESC LIMIT ?3";

static void outbox_row(struct jw *w, sqlite3_stmt *st, void *ctx)
{
	struct req *r = ctx;
	const char *col[12];
	for (int i = 0; i < 12; i++)
		col[i] = (const char *)sqlite3_column_text(st, i);
	jw_obj(w);
	jw_kstr(w, "id", col[0]);
	jw_kstr(w, "channel", col[1]);
	jw_kstr(w, "recipient", col[2]);
	jw_kstr(w, "subject", col[3]);
	/* the body with its secret cut out */
	const char *body = col[4], *secret = col[5], *hit = secret && *secret && !config_dev() ? strstr(body, secret) : NULL;
	if (hit) {
		char *shown = arena_printf(&r->arena, "%.*s[redacted]%s", (int)(hit - body), body, hit + strlen(secret));
		jw_kstr(w, "body", shown);
	} else {
		jw_kstr(w, "body", body);
	}
	jw_kstr(w, "state", col[6]);
	jw_kint(w, "attempts", sqlite3_column_int(st, 7));
	jw_kstr(w, "next_attempt_at", col[8]);
	jw_kstr(w, "last_error", col[9]);
	jw_kstr(w, "created_at", col[10]);
	jw_kstr(w, "sent_at", col[11]);
	jw_obj_end(w);
}

static int outbox_list(struct req *r)
{
	int limit;
	const char *cursor, *state = req_query(r, "state");
	int rc = req_page(r, &limit, &cursor);
	if (rc)
		return rc;
	static const char *const states[] = {"queued", "sending", "sent", "failed", "unknown"};
	bool state_ok = !state;
	for (size_t i = 0; state && i < 5; i++)
		state_ok = state_ok || strcmp(state, states[i]) == 0;
	if (!state_ok)
		return http_error(r, E_INVALID_INPUT, "state must be queued, sending, sent, failed or unknown", "state");
	sqlite3_stmt *st = db_prep(sql_list);
	if (!st)
		return ERR_DB;
	if (cursor)
		sqlite3_bind_text(st, 1, cursor, -1, SQLITE_STATIC);
	if (state)
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit + 1);
	return res_rows(r, st, limit, outbox_row, r);
}

static const char outbox_schema[] =
	"{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"properties\":{\"id\":{\"type\":\"string\"},\"channel\":{\"enum\":[\"email\",\"sms\"]},"
	"\"recipient\":{\"type\":\"string\"},\"subject\":{\"type\":\"string\"},\"body\":{\"type\":\"string\"},"
	"\"state\":{\"enum\":[\"queued\",\"sending\",\"sent\",\"failed\",\"unknown\"]},\"attempts\":{\"type\":\"integer\"},"
	"\"last_error\":{\"type\":[\"string\",\"null\"]}}}},\"next_cursor\":{\"type\":[\"string\",\"null\"]}}}";

static const struct route routes[] = {
	{"GET", "/api/v1/admin/outbox", outbox_list, ACCESS_ADMIN, 0,
	 "Mail and SMS, newest first (?state= filters); secrets are redacted outside dev mode", NULL,
	 outbox_schema, 200, NULL},
};

const struct route_table mail_routes = ROUTE_TABLE("mail", routes,
						   "The durable outbox of mail and text messages (admins)");
