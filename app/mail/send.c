/* mail/send.c: SMTP and SMS through the upstream client (http/upstream.h), each call bounded
 * by timeouts and behind its own breaker ("smtp", "sms"); the outbox retries, so these calls
 * do not. Must never put a secret into an error message: the reasons kept are libcurl's static
 * texts, reply codes and the client's messages, which name no host, body or credential. */
#include "mail/send.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/crypto.h"
#include "http/upstream.h"

#define CONNECT_TIMEOUT_MS 10000L
#define TOTAL_TIMEOUT_MS 60000L

/* Five failed deliveries in a row rest the server for 30 s; the outbox retries later anyway. */
static struct upstream smtp = UPSTREAM_DEFINE("smtp", "the mail server", NULL, NULL, 5, 30000);
static struct upstream sms = UPSTREAM_DEFINE("sms", "the SMS provider", NULL, NULL, 5, 30000);

/* The reason a call failed, for the outbox row and the log. */
static const char *reason(const struct upstream_res *res)
{
	return res->detail && *res->detail ? res->detail : res->message;
}

/* A header value, RFC 2047-encoded when it is not plain ASCII. */
static int header_text(struct buf *m, const char *text)
{
	bool ascii = true;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		ascii = ascii && *p >= 0x20 && *p < 0x7f;
	if (ascii)
		return buf_adds(m, text);
	int rc = buf_adds(m, "=?UTF-8?B?");
	rc = rc ? rc : crypto_b64_encode(m, text, strlen(text));
	return rc ? rc : buf_adds(m, "?=");
}

/* The RFC 5322 message: headers, a blank line, the body with CRLF line ends. */
static int compose(struct buf *m, const char *id, const char *to, const char *subject, const char *body)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	int rc = buf_printf(m, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nMessage-ID: <%s@app>\r\nSubject: ", date,
	                    config_str("SMTP_FROM"), to, id);
	rc = rc ? rc : header_text(m, subject);
	rc = rc ? rc : buf_adds(m, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	                           "Content-Transfer-Encoding: 8bit\r\n\r\n");
	for (const char *p = body; *p && !rc; p++) {
		if (*p == '\n' && (p == body || p[-1] != '\r'))
			rc = buf_addc(m, '\r');
		rc = rc ? rc : buf_addc(m, *p);
	}
	return rc ? rc : buf_adds(m, "\r\n");
}

/* "Name <addr>" or "addr" -> "<addr>" for the SMTP envelope. */
static int envelope(struct buf *out, const char *addr)
{
	const char *lt = strchr(addr, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt)
		return buf_add(out, lt, (size_t)(gt - lt + 1));
	return buf_printf(out, "<%s>", addr);
}

int send_email(const char *id, const char *to, const char *subject, const char *body, struct buf *err)
{
	struct buf msg = BUF_INIT(2 << 20), from = BUF_INIT(1024), rcpt = BUF_INIT(1024);
	int rc = ERR_IO;
	if (compose(&msg, id, to, subject, body) || envelope(&from, config_str("SMTP_FROM")) ||
	    envelope(&rcpt, to)) {
		buf_note(err, "cannot prepare the message");
		goto out;
	}
	const char *rcpts[] = {buf_str(&rcpt), NULL};
	const char *user = config_str("SMTP_USER");
	struct upstream_req rq = {
	    .up = &smtp,
	    .url = config_str("SMTP_URL"),
	    .mail_from = buf_str(&from),
	    .mail_rcpt = rcpts,
	    .body = msg.ptr,
	    .body_len = msg.len,
	    .user = *user ? user : NULL,
	    .password = config_str("SMTP_PASS"),
	    .connect_timeout_ms = CONNECT_TIMEOUT_MS,
	    .timeout_ms = TOTAL_TIMEOUT_MS,
	};
	struct upstream_res res;
	rc = upstream_perform(&rq, &res) ? ERR_IO : 0;
	if (rc)
		buf_note(err, "smtp: %s (reply %ld)", reason(&res), res.status);
	upstream_res_free(&res);
out:
	buf_free(&msg);
	buf_free(&from);
	buf_free(&rcpt);
	return rc;
}

int send_sms(const char *to, const char *body, struct buf *err)
{
	struct buf url = BUF_INIT(4096), form = BUF_INIT(8192);
	int rc = ERR_IO;
	if (buf_printf(&url, "%s/2010-04-01/Accounts/%s/Messages.json", config_str("SMS_URL"),
	               config_str("SMS_ACCOUNT")) ||
	    buf_adds(&form, "To=") || upstream_urlencode(&form, to) || buf_adds(&form, "&From=") ||
	    upstream_urlencode(&form, config_str("SMS_FROM")) || buf_adds(&form, "&Body=") ||
	    upstream_urlencode(&form, body)) {
		buf_note(err, "cannot prepare the SMS request");
		goto out;
	}
	struct upstream_req rq = {
	    .up = &sms,
	    .url = buf_str(&url),
	    .body = buf_str(&form),
	    .body_len = form.len,
	    .user = config_str("SMS_ACCOUNT"),
	    .password = config_str("SMS_TOKEN"),
	    .connect_timeout_ms = CONNECT_TIMEOUT_MS,
	    .timeout_ms = TOTAL_TIMEOUT_MS,
	    .body_max = 64 * 1024,
	};
	struct upstream_res res;
	rc = upstream_perform(&rq, &res) ? ERR_IO : 0;
	if (rc && res.status && (res.status < 200 || res.status > 299))
		buf_note(err, "sms: the provider answered %ld", res.status);
	else if (rc)
		buf_note(err, "sms: %s", reason(&res));
	upstream_res_free(&res);
out:
	buf_free(&url);
	if (form.ptr)
		memset(form.ptr, 0, form.len); /* the code in an OTP message */
	buf_free(&form);
	return rc;
}
