/* core/config.c: the table of every setting the binary reads, and the precedence rules.
 * Must never log a setting's value (some are secrets), only its name and source. */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STR, K_INT, K_BOOL, K_ENUM, K_RATE };

struct setting {
	const char *name;
	enum kind kind;
	const char *def;
	long long min, max; /* K_INT range */
	const char *choices; /* K_ENUM: "|a|b|c|" */
	/* filled by config_load; value is owned by the table */
	char *value;
	const char *source;
};

static struct setting settings[] = {
	{"APP_LISTEN", K_STR, "127.0.0.1:8080", 0, 0, NULL, NULL, NULL},
	{"APP_THREADS", K_INT, "50", 2, 1024, NULL, NULL, NULL},
	{"APP_ENV", K_ENUM, "production", 0, 0, "|production|dev|test|", NULL, NULL},
	{"LOG_FORMAT", K_ENUM, "text", 0, 0, "|text|json|", NULL, NULL},
	{"LOG_LEVEL", K_ENUM, "info", 0, 0, "|debug|info|warn|error|", NULL, NULL},
	{"TLS_CERT", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"TLS_KEY", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"TLS_AUTO", K_BOOL, "0", 0, 0, NULL, NULL, NULL},
	{"TLS_HOSTNAMES", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"CORS_ORIGINS", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"DB_SYNCHRONOUS", K_ENUM, "full", 0, 0, "|full|normal|", NULL, NULL},
	{"REQUEST_TIMEOUT_MS", K_INT, "30000", 100, 3600000, NULL, NULL, NULL},
	{"CONN_MAX", K_INT, "20000", 16, 1000000, NULL, NULL, NULL},
	{"CONN_PER_ADDRESS", K_INT, "256", 1, 1000000, NULL, NULL, NULL},
	{"HEAD_TIMEOUT_MS", K_INT, "10000", 100, 600000, NULL, NULL, NULL},
	{"CONN_SEND_QUEUE_BYTES", K_INT, "1048576", 4096, 1LL << 30, NULL, NULL, NULL},
	{"TRUSTED_PROXIES", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"SHUTDOWN_GRACE_MS", K_INT, "10000", 0, 600000, NULL, NULL, NULL},
	{"PUBLIC_URL", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"PASSWORD_ITERATIONS", K_INT, "600000", 1000, 10000000, NULL, NULL, NULL},
	{"ACCESS_TTL", K_INT, "900", 1, 86400, NULL, NULL, NULL},
	{"REFRESH_TTL", K_INT, "604800", 60, 31536000, NULL, NULL, NULL},
	{"SMTP_URL", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"SMTP_USER", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"SMTP_PASS", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"SMTP_FROM", K_STR, "app <noreply@localhost>", 0, 0, NULL, NULL, NULL},
	{"SMS_URL", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"SMS_ACCOUNT", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"SMS_TOKEN", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"SMS_FROM", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"MAIL_RETRY_MS", K_INT, "30000", 10, 3600000, NULL, NULL, NULL},
	{"MEDIA_MAX_BYTES", K_INT, "26214400", 1, 1LL << 40, NULL, NULL, NULL},
	{"MEDIA_GC_INTERVAL_S", K_INT, "3600", 1, 604800, NULL, NULL, NULL},
	/* an upload's file is written, renamed into place and then referenced within seconds */
	{"MEDIA_ORPHAN_AGE_S", K_INT, "3600", 60, 31536000, NULL, NULL, NULL},
	{"LLM_BASE_URL", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"LLM_API_KEY", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"LLM_MODEL", K_STR, "gpt-4o-mini", 0, 0, NULL, NULL, NULL},
	{"LLM_CONTEXT_MESSAGES", K_INT, "20", 1, 1000, NULL, NULL, NULL},
	{"LLM_CONNECT_TIMEOUT_MS", K_INT, "5000", 100, 600000, NULL, NULL, NULL},
	{"LLM_IDLE_TIMEOUT_MS", K_INT, "60000", 100, 3600000, NULL, NULL, NULL},
	{"LLM_RETRIES", K_INT, "2", 0, 10, NULL, NULL, NULL},
	{"LLM_BREAKER_FAILURES", K_INT, "5", 1, 1000, NULL, NULL, NULL},
	{"LLM_BREAKER_OPEN_MS", K_INT, "30000", 0, 3600000, NULL, NULL, NULL},
	{"LLM_DEMO_DELAY_MS", K_INT, "60", 0, 10000, NULL, NULL, NULL},
	{"CHAT_DAILY_LIMIT", K_INT, "200", 0, 1000000, NULL, NULL, NULL},
	{"RAG_URL", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"PORTFOLIO_URL", K_STR, "", 0, 0, NULL, NULL, NULL},
	{"COPILOT_TIMEOUT_MS", K_INT, "30000", 100, 600000, NULL, NULL, NULL},
	{"COPILOT_BREAKER_FAILURES", K_INT, "5", 1, 1000, NULL, NULL, NULL},
	{"COPILOT_BREAKER_OPEN_MS", K_INT, "30000", 0, 3600000, NULL, NULL, NULL},
	/* seconds the real-time event logs keep an event (a client away longer resyncs) */
	{"EVENTS_RETENTION", K_INT, "604800", 60, 31536000, NULL, NULL, NULL},
	/* messages waiting for one relay device; a sender to a full queue is told rate_limited */
	{"RELAY_QUEUE_MAX", K_INT, "5000", 1, 1000000, NULL, NULL, NULL},
	/* seconds an unacknowledged relay message is kept */
	{"RELAY_RETENTION", K_INT, "2592000", 60, 31536000, NULL, NULL, NULL},
	/* rate limits: COUNT/UNIT[:BURST] (UNIT s, min, h or d; BURST defaults to COUNT), or off */
	{"RATE_LOGIN_IP", K_RATE, "30/min", 0, 0, NULL, NULL, NULL},
	{"RATE_LOGIN_ACCOUNT", K_RATE, "1/min:10", 0, 0, NULL, NULL, NULL},
	{"RATE_REGISTER_IP", K_RATE, "20/h", 0, 0, NULL, NULL, NULL},
	{"RATE_OTP_IP", K_RATE, "20/h:10", 0, 0, NULL, NULL, NULL},
	{"RATE_OTP_PHONE", K_RATE, "5/h:3", 0, 0, NULL, NULL, NULL},
	{"RATE_VERIFY_IP", K_RATE, "30/min", 0, 0, NULL, NULL, NULL},
	{"RATE_VERIFY_PHONE", K_RATE, "2/min:10", 0, 0, NULL, NULL, NULL},
	{"RATE_RESET_IP", K_RATE, "20/h:10", 0, 0, NULL, NULL, NULL},
	{"RATE_RESET_ACCOUNT", K_RATE, "3/h", 0, 0, NULL, NULL, NULL},
	{"RATE_RELAY_SEND", K_RATE, "20/s:200", 0, 0, NULL, NULL, NULL},
	{"RATE_KEYS_FETCH", K_RATE, "300/h:60", 0, 0, NULL, NULL, NULL},
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

static struct setting *find(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

static struct setting *must_find(const char *name)
{
	struct setting *s = find(name);
	if (!s) {
		fprintf(stderr, "app: internal error: unknown setting %s\n", name);
		abort();
	}
	return s;
}

static void set(struct setting *s, const char *value, size_t n, const char *source)
{
	free(s->value);
	s->value = strndup(value, n);
	s->source = source;
}

void config_flag(const char *name, const char *value)
{
	set(must_find(name), value, strlen(value), "flag");
}

/* app.env: NAME=value lines; blank lines and # comments; the value may be in '' or "". */
static int read_env_file(const char *path, struct buf *msg)
{
	FILE *f = fopen(path, "r");
	if (!f)
	{
		if (errno == ENOENT)
			return 0;
		buf_note(msg, "cannot read %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		size_t n = strlen(line);
		if (n == sizeof line - 1 && line[n - 1] != '\n') {
			buf_note(msg, "%s:%d: line too long", path, lineno);
			rc = ERR_INVAL;
			break;
		}
		while (n && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (strncmp(p, "export ", 7) == 0)
			p += 7;
		char *eq = strchr(p, '=');
		if (!eq) {
			buf_note(msg, "%s:%d: expected NAME=value", path, lineno);
			rc = ERR_INVAL;
			break;
		}
		*eq = '\0';
		char *val = eq + 1;
		size_t vn = strlen(val);
		if (vn >= 2 && (val[0] == '"' || val[0] == '\'') && val[vn - 1] == val[0]) {
			val++;
			vn -= 2;
		}
		struct setting *s = find(p);
		if (!s) {
			fprintf(stderr, "app: warning: %s:%d: unknown setting %s (ignored)\n", path, lineno, p);
			continue;
		}
		if (!s->source)
			set(s, val, vn, "app.env");
	}
	fclose(f);
	return rc;
}

int config_rate_parse(const char *v, double *per_second, double *burst)
{
	if (strcmp(v, "off") == 0) {
		*per_second = *burst = 0;
		return 0;
	}
	char *end;
	errno = 0;
	long long count = strtoll(v, &end, 10);
	if (errno || end == v || count < 1 || count > 1000000 || *end != '/')
		return ERR_INVAL;
	const char *unit = end + 1;
	size_t ulen = strcspn(unit, ":");
	static const struct {
		const char *name;
		double seconds;
	} units[] = {{"s", 1}, {"min", 60}, {"h", 3600}, {"d", 86400}};
	double seconds = 0;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strlen(units[i].name) == ulen && strncmp(unit, units[i].name, ulen) == 0)
			seconds = units[i].seconds;
	if (!seconds)
		return ERR_INVAL;
	long long b = count;
	if (unit[ulen] == ':') {
		const char *bs = unit + ulen + 1;
		b = strtoll(bs, &end, 10);
		if (errno || end == bs || *end || b < 1 || b > 1000000)
			return ERR_INVAL;
	}
	*per_second = (double)count / seconds;
	*burst = (double)b;
	return 0;
}

int config_rate(const char *name, double *per_second, double *burst)
{
	return config_rate_parse(config_str(name), per_second, burst);
}

static int check(struct setting *s, struct buf *msg)
{
	const char *v = s->value;
	switch (s->kind) {
	case K_STR:
		return 0;
	case K_INT: {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (*v && !*end && !errno && n >= s->min && n <= s->max)
			return 0;
		buf_note(msg, "%s must be a whole number from %lld to %lld", s->name, s->min, s->max);
		break;
	}
	case K_BOOL:
		if (!strcmp(v, "0") || !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "false"))
			return 0;
		buf_note(msg, "%s must be 1, 0, true or false", s->name);
		break;
	case K_RATE: {
		double r, b;
		if (config_rate_parse(v, &r, &b) == 0)
			return 0;
		buf_note(msg, "%s must be COUNT/UNIT[:BURST] (UNIT s, min, h or d), e.g. 30/min or 1/min:10, or off",
		         s->name);
		break;
	}
	case K_ENUM: {
		size_t n = strlen(v);
		const char *hit = *v && !strchr(v, '|') ? strstr(s->choices, v) : NULL;
		if (hit && hit > s->choices && hit[-1] == '|' && hit[n] == '|')
			return 0;
		buf_note(msg, "%s must be one of %s", s->name, s->choices);
		break;
	}
	}
	return ERR_INVAL;
}

int config_load(const char *data_dir, struct buf *msg)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		struct setting *s = &settings[i];
		const char *env = getenv(s->name);
		if (!s->source && env)
			set(s, env, strlen(env), "env");
	}
	if (data_dir) {
		struct buf path = BUF_INIT(4096);
		int rc = buf_printf(&path, "%s/app.env", data_dir);
		rc = rc ? rc : read_env_file(buf_str(&path), msg);
		buf_free(&path);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < NSETTINGS; i++) {
		struct setting *s = &settings[i];
		if (!s->source)
			set(s, s->def, strlen(s->def), "default");
		if (check(s, msg))
			return ERR_INVAL;
	}
	return 0;
}

const char *config_str(const char *name)
{
	struct setting *s = must_find(name);
	return s->value ? s->value : s->def;
}

long long config_int(const char *name)
{
	return strtoll(config_str(name), NULL, 10);
}

bool config_bool(const char *name)
{
	const char *v = config_str(name);
	return !strcmp(v, "1") || !strcmp(v, "true");
}

const char *config_source(const char *name)
{
	struct setting *s = must_find(name);
	return s->source ? s->source : "default";
}

bool config_dev(void)
{
	return strcmp(config_str("APP_ENV"), "production") != 0;
}

void config_free(void)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		free(settings[i].value);
		settings[i].value = NULL;
		settings[i].source = NULL;
	}
}
