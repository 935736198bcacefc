/* auth/otp.c: sign-in with a code sent by SMS: 6 digits, 5 minutes, 5 tries, stored only
 * as an HMAC under the secret key. The first verified sign-in creates the account. */
#include <stdio.h>
#include <string.h>

#include "auth/internal.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/datadir.h"
#include "core/log.h"
#include "core/rand.h"
#include "core/time.h"
#include "mail/mail.h"
#include "store/db.h"

#define OTP_TTL_S 300
#define OTP_TRIES 5

/* HMAC(secret key, phone ":" code): a leaked table does not give the codes away. */
static int code_mac(const char *phone, const char *code, unsigned char mac[32])
{
	size_t klen;
	const unsigned char *key = datadir_key(&klen);
	char msg[64];
	int n = snprintf(msg, sizeof msg, "%s:%s", phone, code);
	if (!key || n < 0 || (size_t)n >= sizeof msg)
		return ERR_CRYPTO;
	return crypto_hmac_sha256(key, klen, msg, (size_t)n, mac);
}

/* Six uniformly random digits (rejection sampling: no modulo bias). */
static int new_code(char code[7])
{
	uint32_t v;
	do {
		if (rand_bytes(&v, sizeof v))
			return ERR_CRYPTO;
	} while (v >= 4294000000u);
	snprintf(code, 7, "%06u", v % 1000000u);
	return 0;
}

static int read_phone(struct req *r, struct json **body, const char **phone)
{
	int rc = req_object(r, body);
	if (rc || (rc = req_str(r, *body, "phone", true, 16, phone)))
		return rc;
	if (!users_phone_ok(*phone))
		return http_error(r, E_INVALID_INPUT, "phone must be in E.164 form, e.g. +5491122334455", "phone");
	return 0;
}

int otp_request_post(struct req *r)
{
	struct json *body;
	const char *phone;
	int rc = read_phone(r, &body, &phone);
	if (rc || (rc = auth_limit(r, rl_otp_ip, r->remote_ip)) || (rc = auth_limit(r, rl_otp_phone, phone)))
		return rc;
	char code[7], now[TIME_RFC3339_LEN], exp[TIME_RFC3339_LEN];
	unsigned char mac[32];
	if (new_code(code) || code_mac(phone, code, mac))
		return http_error(r, E_INTERNAL, "no code could be made", NULL);
	int64_t now_us = time_now_us();
	time_rfc3339(now_us, now);
	time_rfc3339(now_us + OTP_TTL_S * 1000000LL, exp);
	struct buf text = BUF_INIT(256);
	if ((rc = db_begin()) == 0) {
		rc = otp_code_put(phone, mac, exp, OTP_TRIES, now);
		if (!rc && buf_printf(&text, "Your app code is %s. It expires in 5 minutes.", code))
			rc = ERR_TOOBIG;
		if (!rc)
			rc = mail_queue_sms(phone, buf_str(&text), code);
		if (!rc)
			rc = db_commit();
		if (rc)
			db_rollback();
	}
	buf_free(&text);
	memset(code, 0, sizeof code);
	if (rc)
		return rc;
	mail_wake();
	struct jw w;
	res_json(r, 202, &w);
	jw_obj(&w);
	bool can = mail_can_sms();
	jw_kbool(&w, "sent", can);
	if (!can)
		jw_kstr(&w, "note", config_dev() ? "no SMS provider is configured: the code is in the server log (dev mode)"
		                                 : "no SMS provider is configured: the code waits in the outbox");
	jw_obj_end(&w);
	return res_end(r, &w);
}

static int wrong_code(struct req *r)
{
	return http_error(r, E_UNAUTHORIZED, "wrong or expired code", "code");
}

int otp_verify_post(struct req *r)
{
	struct json *body;
	const char *phone, *code;
	int rc = read_phone(r, &body, &phone);
	if (rc || (rc = req_str(r, body, "code", true, 6, &code)))
		return rc;
	if ((rc = auth_limit(r, rl_verify_ip, r->remote_ip)) || (rc = auth_limit(r, rl_verify_phone, phone)))
		return rc;
	unsigned char mac[32];
	char now[TIME_RFC3339_LEN];
	time_rfc3339(time_now_us(), now);
	if (strlen(code) != 6 || strspn(code, "0123456789") != 6 || code_mac(phone, code, mac))
		return wrong_code(r);
	if ((rc = db_begin()))
		return rc;
	struct otp_code stored;
	rc = otp_code_find(&r->arena, phone, &stored);
	bool found = rc == 0;
	bool live = found && strcmp(stored.expires_at, now) > 0 && stored.tries_left > 0;
	bool match = found && live && crypto_equal(mac, stored.code_hash, 32);
	/* a code that matched or is dead goes; a wrong guess spends a try */
	if (found)
		rc = match || !live ? otp_code_delete(phone) : otp_code_spend(phone);
	if (rc && rc != ERR_NOTFOUND) {
		db_rollback();
		return rc;
	}
	if (!match) {
		/* the spent try is kept even though the answer is an error */
		if (db_commit())
			db_rollback();
		return wrong_code(r);
	}
	struct user u;
	char id[UUID_STR_LEN];
	rc = users_by_phone(&r->arena, phone, &u);
	bool created = rc == ERR_NOTFOUND;
	if (created && (rc = users_create(NULL, phone, NULL, "", "user", id)) == 0)
		rc = users_by_id(&r->arena, id, &u);
	if (!rc && u.disabled)
		rc = http_error(r, E_UNAUTHORIZED, "this account is disabled", NULL);
	if (!rc)
		rc = auth_issue(r, created ? 201 : 200, &u, NULL);
	if (!rc)
		rc = db_commit();
	if (rc)
		db_rollback();
	return rc;
}
