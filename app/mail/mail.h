/* mail/mail.h: the durable outbox for email and SMS. Other domains queue messages inside
 * their own transaction, so a message exists exactly when the change that caused it does;
 * a worker thread delivers them. The only header other domains may include from mail/. */
#ifndef MAIL_MAIL_H
#define MAIL_MAIL_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "http/route.h"

extern const struct route_table mail_routes;

/* Queue within the caller's open transaction on this thread (db_begin). secret is the part
 * of body (a link's token, a code) that is never logged or shown outside dev mode; NULL if
 * none. Recipient and subject must be one line. Call mail_wake() after committing. */
WUR int mail_queue_email(const char *to, const char *subject, const char *body, const char *secret);
WUR int mail_queue_sms(const char *to, const char *body, const char *secret);
void mail_wake(void);

/* True when a channel can deliver (SMTP_URL / SMS_URL set). */
bool mail_can_email(void);
bool mail_can_sms(void);

/* At boot, after migrations: messages caught mid-send by a crash become 'unknown'. */
WUR int mail_recover(void);
/* The delivery thread. */
WUR int mail_start(void);
void mail_stop(void);
/* Messages waiting to be sent, for /metrics. */
double mail_outbox_depth(void);

/* The outbox keeps addresses, not user ids: these two find a person's messages by the
 * account's current email (any case) and phone, so they must run while the users row still
 * exists (ERR_NOTFOUND otherwise). Messages sent to an address the person no longer has are
 * not found. */
/* Deletes every outbox row addressed to the user, whatever its state (a message being sent
 * right now still goes; its outcome is then not recorded). Runs inside the caller's open
 * write transaction (it never begins or commits one). 0, ERR_NOTFOUND or ERR_DB. */
int mail_user_deleted(const char *user_id);
/* Writes the member "outbox":[...] (rows as GET /admin/outbox shows them, the secret in a
 * body always redacted). 0, ERR_NOTFOUND, ERR_NOMEM or ERR_DB. */
int mail_user_export(struct arena *a, struct jw *w, const char *user_id);

#endif
