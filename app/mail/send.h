/* mail/send.h: delivery over the wire, private to mail/: SMTP(S) and a Twilio-compatible
 * SMS API, both through the upstream client (http/upstream.h), each call bounded by timeouts. */
#ifndef MAIL_SEND_H
#define MAIL_SEND_H

#include "core/buf.h"

/* 0 when the server accepted the message; otherwise the reason is in err. */
int send_email(const char *id, const char *to, const char *subject, const char *body, struct buf *err);
int send_sms(const char *to, const char *body, struct buf *err);

#endif
