/* mail/send.c: SMTP and SMS through libcurl. Must never put a secret in an error message
 * (curl's messages name hosts, not bodies) and never wait without a timeout. */
#include "mail/send.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/crypto.h"

#define CONNECT_TIMEOUT_MS 10000L
#define TOTAL_TIMEOUT_MS 60000L

struct upload {
	const char *p;
	size_t left;
};

static size_t read_cb(char *dst, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t want = size * n, take = u->left < want ? u->left : want;
	memcpy(dst, u->p, take);
	u->p += take;
	u->left -= take;
	return take;
}

static size_t discard_cb(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
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
	struct curl_slist *rcpts = NULL;
	CURL *c = curl_easy_init();
	int rc = ERR_IO;
	if (!c || compose(&msg, id, to, subject, body) || envelope(&from, config_str("SMTP_FROM")) ||
	    envelope(&rcpt, to) || !(rcpts = curl_slist_append(NULL, buf_str(&rcpt)))) {
		buf_note(err, "cannot prepare the message");
		goto out;
	}
	struct upload up = {msg.ptr, msg.len};
	const char *url = config_str("SMTP_URL");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, buf_str(&from));
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &up);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg.len);
	/* smtp:// upgrades with STARTTLS when the server offers it; smtps:// is TLS from the start */
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	if (*config_str("SMTP_USER")) {
		curl_easy_setopt(c, CURLOPT_USERNAME, config_str("SMTP_USER"));
		curl_easy_setopt(c, CURLOPT_PASSWORD, config_str("SMTP_PASS"));
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode res = curl_easy_perform(c);
	if (res == CURLE_OK) {
		rc = 0;
	} else {
		long code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		buf_note(err, "smtp: %s (reply %ld)", curl_easy_strerror(res), code);
	}
out:
	curl_slist_free_all(rcpts);
	if (c)
		curl_easy_cleanup(c);
	buf_free(&msg);
	buf_free(&from);
	buf_free(&rcpt);
	return rc;
}

int send_sms(const char *to, const char *body, struct buf *err)
{
	struct buf url = BUF_INIT(4096), form = BUF_INIT(8192), auth = BUF_INIT(1024);
	CURL *c = curl_easy_init();
	int rc = ERR_IO;
	if (!c)
		goto out;
	char *eto = curl_easy_escape(c, to, 0), *efrom = curl_easy_escape(c, config_str("SMS_FROM"), 0);
	char *ebody = curl_easy_escape(c, body, 0);
	int bad = !eto || !efrom || !ebody ||
	          buf_printf(&url, "%s/2010-04-01/Accounts/%s/Messages.json", config_str("SMS_URL"),
	                     config_str("SMS_ACCOUNT")) ||
	          buf_printf(&form, "To=%s&From=%s&Body=%s", eto, efrom, ebody) ||
	          buf_printf(&auth, "%s:%s", config_str("SMS_ACCOUNT"), config_str("SMS_TOKEN"));
	curl_free(eto);
	curl_free(efrom);
	curl_free(ebody);
	if (bad) {
		buf_note(err, "cannot prepare the SMS request");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, buf_str(&url));
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, buf_str(&form));
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(c, CURLOPT_USERPWD, buf_str(&auth));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode res = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (res == CURLE_OK && code >= 200 && code < 300)
		rc = 0;
	else if (res != CURLE_OK)
		buf_note(err, "sms: %s", curl_easy_strerror(res));
	else
		buf_note(err, "sms: the provider answered %ld", code);
out:
	if (c)
		curl_easy_cleanup(c);
	buf_free(&url);
	if (form.ptr)
		memset(form.ptr, 0, form.len);
	buf_free(&form);
	if (auth.ptr)
		memset(auth.ptr, 0, auth.len);
	buf_free(&auth);
	return rc;
}
