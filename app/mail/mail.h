/* mail/mail.h: the durable outbox for email and SMS. Other domains queue messages inside
 * their own transaction, so a message exists exactly when the change that caused it does;
 * a worker thread delivers them. The only header other domains may include from mail/. */
#ifndef MAIL_MAIL_H
#define MAIL_MAIL_H

#include <stdbool.h>

#include "core/buf.h"
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

#endif
