/* mail/internal.h: what mail/'s files share; private to mail/. */
#ifndef MAIL_INTERNAL_H
#define MAIL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/page.h"
#include "http/req.h"

/* An outbox row; strings in the arena it was read into (or borrowed, where said), NULL when
 * unset. secret is the part of body never shown outside dev mode. */
struct outbox_row {
	const char *id, *channel, *recipient, *subject, *body, *secret, *state;
	long long attempts;
	const char *next_attempt_at, *last_error, *created_at, *sent_at;
};

/* ---- store.c: 0, ERR_NOTFOUND, ERR_DB, ERR_NOMEM -------------------------------------- */
/* Inserts a queued message inside the caller's open transaction. */
int outbox_insert(const char *id, const char *channel, const char *to, const char *subject,
                  const char *body, const char *secret, const char *now);
/* Marks every row left 'sending' by a crash 'unknown' (never resent); *n counts them. */
int outbox_recover(int *n);
/* How many rows are queued. */
int outbox_depth(long long *n);
/* The next queued row due at now on a channel that can deliver, without claiming it: a plain
 * read, so an idle poll never waits for the writer. ERR_NOTFOUND when there is none. */
int outbox_next(struct arena *a, const char *now, bool email, bool sms, struct outbox_row *m);
/* Claims a queued row ('sending', one more attempt) and commits: 0 only once the claim is
 * durable; ERR_NOTFOUND when the row is no longer queued. */
int outbox_claim(const char *id);
/* Records a delivery, or a failure and when to try again (state 'queued' or 'failed').
 * ERR_NOTFOUND when the row is gone (its recipient's account was deleted meanwhile). */
int outbox_sent(const char *id, const char *now);
int outbox_retry(const char *id, const char *state, const char *next, const char *error);
/* A page of rows, newest first, all or in one state. */
int outbox_list(struct arena *a, const char *state, const struct page *pg, struct page_out *out);
/* Calls fn with each row addressed to email (any case) or phone (either may be NULL),
 * oldest first; the row's strings are valid only during the call, and a nonzero return
 * stops the walk. */
int outbox_each_to(const char *email, const char *phone,
                   int (*fn)(void *ctx, const struct outbox_row *m), void *ctx);
/* Deletes the rows addressed to email or phone, inside the caller's open transaction. */
int outbox_delete_to(const char *email, const char *phone);

/* ---- outbox.c ------------------------------------------------------------------------ */
/* body with every occurrence of secret replaced by [redacted], in a; NULL when out of
 * memory. A NULL or empty secret gives body itself. */
const char *outbox_redact(struct arena *a, const char *body, const char *secret);

/* ---- admin.c ------------------------------------------------------------------------- */
/* A row as the API shows it: m->body must already be what may be shown (outbox_redact). */
void outbox_json(struct jw *w, const struct outbox_row *m);
int outbox_list_get(struct req *r);

#endif
