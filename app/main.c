/* app/main.c: flags, boot, signals, shutdown; nothing else. Reads like a table of
 * contents: parse flags, open the data directory, migrate, register the domains' route
 * tables and account hooks, start the jobs, serve until SIGINT/SIGTERM, drain, close. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "chat/chat.h"
#include "copilot/copilot.h"
#include "core/config.h"
#include "core/datadir.h"
#include "core/log.h"
#include "core/rand.h"
#include "core/tls.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "hub/hub.h"
#include "llm/llm.h"
#include "mail/mail.h"
#include "media/media.h"
#include "relay/relay.h"
#include "store/db.h"
#include "system/system.h"
#include "users/users.h"

static const char usage[] =
	"usage: app [--data DIR] [--listen ADDR:PORT] [--tls-cert FILE --tls-key FILE | --tls-auto]\n"
	"           [COMMAND]\n"
	"\n"
	"commands:\n"
	"  serve          run the appliance (the default)\n"
	"  migrate        apply the schema migrations to DIR/app.db and exit\n"
	"  backup FILE    write a consistent copy of the live database to FILE\n"
	"  admin create EMAIL\n"
	"                 make EMAIL an admin and print a one-time set-password link\n"
	"  seed users N [PREFIX]\n"
	"                 create N verified accounts PREFIX-<i>@seed.test (default PREFIX seed)\n"
	"                 and print email<TAB>user_id<TAB>access_token for each (benchmarks)\n"
	"  version        print the version\n"
	"  help           print this text\n"
	"\n"
	"flags:\n"
	"  --data DIR         data directory (default ./data, or APP_DATA)\n"
	"  --listen ADDR:PORT address to listen on (default 127.0.0.1:8080, or APP_LISTEN);\n"
	"                     0.0.0.0:8080 for every IPv4 interface, [::]:8080 for IPv6\n"
	"  --tls-cert FILE    serve HTTPS with this PEM certificate (chain) ...\n"
	"  --tls-key FILE     ... and this PEM private key\n"
	"  --tls-auto         serve HTTPS with a self-signed certificate kept in DIR/tls/\n"
	"\n"
	"Settings come from flags, then the environment, then DIR/app.env, then defaults.\n";

/* The route tables of every domain, in the order they appear in the API document. */
static const struct route_table *const tables[] = {
	&system_routes,
	&auth_routes,
	&users_routes,
	&mail_routes,
	&media_routes,
	&chat_routes,
	&copilot_routes,
	&hub_routes,
	&relay_routes,
	/* drop-in routes for the clients of the original backends (tag "compat") */
	&system_compat_routes,
	&auth_compat_routes,
	&users_compat_routes,
	&media_compat_routes,
	&chat_compat_routes,
	&copilot_compat_routes,
};

/* What each domain keeps about a person, in this order: DELETE /users/me removes it all in
 * one transaction (then the user row), GET /users/me/export writes one member per row. */
static const struct user_hook user_hooks[] = {
	{"users", users_user_deleted, users_user_export},
	{"auth", auth_user_deleted, auth_user_export},
	{"mail", mail_user_deleted, mail_user_export},
	{"media", media_user_deleted, media_user_export},
	{"chat", chat_user_deleted, chat_user_export},
	{"copilot", copilot_user_deleted, copilot_user_export},
	{"relay", relay_user_deleted, relay_user_export},
	/* the user's event log: copies of what the domains above export, kept for days */
	{"hub", hub_user_deleted, NULL},
};

/* Threads that run beside the server: started in this order, stopped in reverse. */
static const struct job {
	const char *name;
	int (*start)(void);
	void (*stop)(void);
} jobs[] = {
	{"outbox", mail_start, mail_stop},
	{"password resets", auth_start, auth_stop},
	{"media collector", media_gc_start, media_gc_stop},
	{"event pruning", hub_start, hub_stop},
	{"relay queue expiry", relay_start, relay_stop},
};

struct cli {
	const char *data;
	const char *command;
	const char *arg, *arg2, *arg3;
};

static int usage_error(const char *what, const char *detail)
{
	fprintf(stderr, "app: %s%s%s (see app --help)\n", what, detail ? ": " : "", detail ? detail : "");
	return 2;
}

/* ADDR:PORT with a numeric IPv4 address or a bracketed IPv6 one, port 0-65535. */
static int check_listen(const char *v)
{
	const char *colon = strrchr(v, ':');
	if (!colon || colon == v || !colon[1] || strlen(colon + 1) > 5)
		return -1;
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	if (atoi(colon + 1) > 65535)
		return -1;
	char host[64];
	size_t n = (size_t)(colon - v);
	if (n >= sizeof host)
		return -1;
	memcpy(host, v, n);
	host[n] = '\0';
	unsigned char addr[16];
	if (host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, addr) == 1 ? 0 : -1;
	}
	return inet_pton(AF_INET, host, addr) == 1 ? 0 : -1;
}

/* Returns -1 to go on, or an exit status. */
static int parse_flags(int argc, char **argv, struct cli *c)
{
	int positional = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(a, "--tls-auto") == 0) {
			config_flag("TLS_AUTO", "1");
			continue;
		}
		if (strncmp(a, "--", 2) == 0) {
			const char *eq = strchr(a, '=');
			size_t n = eq ? (size_t)(eq - a) : strlen(a);
			static const char *const names[][2] = {{"--data", NULL}, {"--listen", "APP_LISTEN"},
			                                       {"--tls-cert", "TLS_CERT"}, {"--tls-key", "TLS_KEY"}};
			size_t k;
			for (k = 0; k < sizeof names / sizeof names[0]; k++)
				if (strlen(names[k][0]) == n && strncmp(a, names[k][0], n) == 0)
					break;
			if (k == sizeof names / sizeof names[0])
				return usage_error("unknown flag", a);
			v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
			if (!v || !*v)
				return usage_error("missing value for", names[k][0]);
			if (k == 0)
				c->data = v;
			else
				config_flag(names[k][1], v);
			if (k == 1 && check_listen(v) != 0)
				return usage_error("--listen wants ADDR:PORT with a numeric address", v);
			continue;
		}
		if (positional == 0)
			c->command = a;
		else if (positional == 1)
			c->arg = a;
		else if (positional == 2)
			c->arg2 = a;
		else if (positional == 3)
			c->arg3 = a;
		else
			return usage_error("unexpected argument", a);
		positional++;
	}
	static const char *const commands[] = {"serve", "migrate", "backup", "version",
	                                       "help",  "admin",   "seed"};
	size_t k;
	for (k = 0; k < sizeof commands / sizeof commands[0]; k++)
		if (strcmp(c->command, commands[k]) == 0)
			break;
	if (k == sizeof commands / sizeof commands[0])
		return usage_error("unknown command", c->command);
	if (strcmp(c->command, "backup") == 0 && !c->arg)
		return usage_error("backup needs a FILE", NULL);
	if (strcmp(c->command, "seed") == 0) {
		bool count_ok = c->arg2 && strspn(c->arg2, "0123456789") == strlen(c->arg2) &&
		                strlen(c->arg2) <= 7 && atol(c->arg2) >= 1;
		if (!c->arg || strcmp(c->arg, "users") != 0 || !count_ok)
			return usage_error("usage", "app seed users N [PREFIX], N: 1 to 9999999");
		return -1;
	}
	if (c->arg3)
		return usage_error("unexpected argument", c->arg3);
	if (strcmp(c->command, "admin") == 0) {
		if (!c->arg || strcmp(c->arg, "create") != 0 || !c->arg2)
			return usage_error("usage", "app admin create EMAIL");
		return -1;
	}
	if (c->arg2)
		return usage_error("unexpected argument", c->arg2);
	if (strcmp(c->command, "backup") != 0 && c->arg)
		return usage_error("unexpected argument", c->arg);
	return -1;
}

/* Settings that depend on each other, checked once they are all known. */
static int check_settings(void)
{
	const char *cert = config_str("TLS_CERT"), *key = config_str("TLS_KEY");
	if (!!*cert != !!*key)
		return usage_error("--tls-cert and --tls-key go together", NULL);
	if (*cert && config_bool("TLS_AUTO"))
		return usage_error("--tls-auto replaces --tls-cert/--tls-key; give one or the other", NULL);
	if (check_listen(config_str("APP_LISTEN")) != 0)
		return usage_error("APP_LISTEN wants ADDR:PORT with a numeric address",
		                   config_str("APP_LISTEN"));
	return -1;
}

static int jobs_start(void)
{
	for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++)
		if (jobs[i].start() != 0) {
			log_error("a job could not start", "job", jobs[i].name, NULL);
			while (i-- > 0)
				jobs[i].stop();
			return -1;
		}
	return 0;
}

static void jobs_stop(void)
{
	for (size_t i = sizeof jobs / sizeof jobs[0]; i-- > 0;)
		jobs[i].stop();
}

static int fail(const char *what, struct buf *msg)
{
	log_error(what, "reason", buf_str(msg), NULL);
	fprintf(stderr, "app: %s\n", msg->len ? buf_str(msg) : what);
	return 1;
}

/* Each open connection is a descriptor: the soft limit rises as far as the hard one allows
 * (often 1024 soft for 10^6 hard), so CONN_MAX is what bounds connections, not EMFILE (and
 * should that come first, the loop drops the newest connection instead of spinning). */
static void raise_fd_limit(int conn_max)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t want = (rlim_t)conn_max + 1024;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < (rlim_t)conn_max)
		log_warn("the open-file limit is below CONN_MAX: connections may be refused early", NULL);
}

/* The PEM civetweb reads: from --tls-cert/--tls-key, or self-signed with --tls-auto. */
static char *tls_setup(const char *data, struct buf *msg)
{
	const char *cert = config_str("TLS_CERT"), *key = config_str("TLS_KEY");
	char *dir = datadir_path(data, "tls"), *pem = datadir_path(data, "tls/server.pem");
	char *auto_cert = datadir_path(data, "tls/cert.pem"), *auto_key = datadir_path(data, "tls/key.pem");
	char *out = NULL;
	if (!dir || !pem || !auto_cert || !auto_key)
		goto done;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		goto done;
	if (config_bool("TLS_AUTO")) {
		/* TLS_HOSTNAMES: more DNS names for the certificate, comma-separated */
		char *names = strdup(config_str("TLS_HOSTNAMES"));
		const char *extra[16];
		size_t n = 0;
		for (char *save = NULL, *t = names ? strtok_r(names, ", ", &save) : NULL; t && n < 16;
		     t = strtok_r(NULL, ", ", &save))
			extra[n++] = t;
		int rc = tls_ensure_self_signed(dir, extra, n, msg);
		free(names);
		if (rc)
			goto done;
		cert = auto_cert;
		key = auto_key;
	}
	if (tls_server_pem(cert, key, pem, msg))
		goto done;
	out = pem;
	pem = NULL;
done:
	free(dir);
	free(pem);
	free(auto_cert);
	free(auto_key);
	return out;
}

static int serve(const char *data, struct buf *msg)
{
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	/* blocked here, so every thread started below inherits the mask and only sigwait sees them */
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
		if (router_add(tables[i]))
			return fail("bad route table", msg);
	users_set_hooks(user_hooks, sizeof user_hooks / sizeof user_hooks[0]);
	if (metrics_init() || system_metrics() ||
	    metrics_gauge("outbox_queued", "Messages waiting in the outbox.", mail_outbox_depth) ||
	    server_metrics())
		return fail("out of memory", msg);
	if (db_writer_start() || system_boot(msg) || mail_recover() || media_init(data, msg))
		return fail("cannot start", msg);

	char *pem = NULL;
	if (*config_str("TLS_CERT") || config_bool("TLS_AUTO")) {
		pem = tls_setup(data, msg);
		if (!pem)
			return fail("cannot set up TLS", msg);
	}
	struct server_opts o = {
		.listen = config_str("APP_LISTEN"),
		.tls_pem = pem,
		.threads = (int)config_int("APP_THREADS"),
		.request_timeout_ms = (int)config_int("REQUEST_TIMEOUT_MS"),
		.cors_origins = config_str("CORS_ORIGINS"),
		.worker_exit = db_thread_done,
		/* the upload's file plus its form's envelope is the largest body any route takes */
		.body_max = config_int("MEDIA_MAX_BYTES") + MEDIA_FORM_OVERHEAD,
		.trusted_proxies = config_str("TRUSTED_PROXIES"),
		.conn_max = (int)config_int("CONN_MAX"),
		.conn_per_address = (int)config_int("CONN_PER_ADDRESS"),
		.head_timeout_ms = (int)config_int("HEAD_TIMEOUT_MS"),
		.send_queue_max = config_int("CONN_SEND_QUEUE_BYTES"),
	};
	raise_fd_limit(o.conn_max);
	/* libcurl's global state, once, before any thread that calls out (outbox, model calls) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(pem);
		return fail("cannot set up libcurl", msg);
	}
	if (log_start() != 0 || jobs_start() != 0) {
		free(pem);
		log_stop();
		curl_global_cleanup();
		return fail("cannot start the logger or the jobs", msg);
	}
	hub_connect_sink();
	hub_set_ws_part(&relay_ws_part);
	int rc = server_start(&o, msg);
	free(pem);
	if (rc) {
		jobs_stop();
		curl_global_cleanup();
		log_stop();
		return fail("cannot start the server", msg);
	}
	datadir_note_url(server_url());
	log_info("listening", "url", server_url(), "version", APP_VERSION, "data", data, NULL);

	int sig = 0;
	sigwait(&stop, &sig);
	log_info("shutting down", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
	if (!server_drain((int)config_int("SHUTDOWN_GRACE_MS"))) {
		/* a handler is stuck: leave without closing what it may still use; WAL keeps the
		 * database consistent and every committed write */
		log_warn("requests still running after the grace period; exiting anyway", NULL);
		_exit(0);
	}
	server_stop();
	jobs_stop();
	media_shutdown();
	curl_global_cleanup();
	log_stop();
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c = {getenv("APP_DATA") ? getenv("APP_DATA") : "./data", "serve", NULL, NULL, NULL};
	int rc = parse_flags(argc, argv, &c);
	if (rc >= 0)
		goto out;
	if (strcmp(c.command, "help") == 0) {
		fputs(usage, stdout);
		rc = 0;
		goto out;
	}
	if (strcmp(c.command, "version") == 0) {
		puts(APP_VERSION);
		rc = 0;
		goto out;
	}

	/* the database, its -wal and -shm, media, backups and keys: readable by this user only */
	umask(077);
	struct buf msg = BUF_INIT(4096);
	rc = 1;
	if (strcmp(c.command, "backup") == 0) {
		/* reads the live database beside a running server: no lock, no migrations */
		char *db = datadir_path(c.data, "app.db");
		if (db && db_backup(db, c.arg, &msg) == 0) {
			printf("backup written to %s\n", c.arg);
			rc = 0;
		} else {
			fprintf(stderr, "app: %s\n", buf_str(&msg));
		}
		free(db);
		goto done;
	}
	/* serve owns the directory; admin, seed and migrate also work beside a running server, which
	 * then keeps the schema (they refuse to migrate under it) */
	bool beside = false;
	int lrc = datadir_prepare(c.data, &msg);
	if (!lrc && (lrc = datadir_lock(c.data, &msg)) == ERR_BUSY && strcmp(c.command, "serve") != 0) {
		beside = true;
		lrc = 0;
		buf_reset(&msg);
	}
	if (lrc) {
		fprintf(stderr, "app: %s\n", buf_str(&msg));
		goto done;
	}
	if (config_load(c.data, &msg)) {
		fprintf(stderr, "app: %s (see app --help)\n", buf_str(&msg));
		rc = 2;
		goto done;
	}
	struct buf running_url = BUF_INIT(512);
	if (beside && !*config_str("PUBLIC_URL") && datadir_server_url(c.data, &running_url) == 0)
		config_flag("PUBLIC_URL", buf_str(&running_url)); /* links reach the running server */
	buf_free(&running_url);
	if ((rc = check_settings()) >= 0)
		goto done;
	rc = 1;
	log_setup(strcmp(config_str("LOG_FORMAT"), "json") == 0,
	          (enum log_level)(strchr("diwe", config_str("LOG_LEVEL")[0]) - "diwe"));
	char *dbpath = datadir_path(c.data, "app.db");
	size_t nmig;
	const struct migration *mig = db_schema(&nmig);
	int applied = 0;
	if (!dbpath || datadir_secret(c.data, &msg) || db_pool_init(dbpath) || !db_conn() ||
	    (beside ? db_schema_check(mig, nmig, &msg) : db_pool_migrate(mig, nmig, &applied, &msg))) {
		free(dbpath);
		rc = fail("cannot start", &msg);
		goto close;
	}
	free(dbpath);
	if (applied) {
		char n[16];
		snprintf(n, sizeof n, "%d", applied);
		log_info("schema migrated", "applied", n, NULL);
	}
	if (config_int("PASSWORD_ITERATIONS") < 600000)
		log_warn("PASSWORD_ITERATIONS is below the default of 600000: for tests only", NULL);
	if (auth_init() != 0) {
		rc = fail("out of memory", &msg);
		goto close;
	}
	if (strcmp(c.command, "admin") == 0) {
		struct buf link = BUF_INIT(4096);
		if (auth_admin_create(c.arg2, &link, &msg) == 0) {
			printf("%s is an admin. Open this link once, within 24 hours, to set the password:\n%s\n",
			       c.arg2, buf_str(&link));
			rc = 0;
		} else {
			fprintf(stderr, "app: %s\n", buf_str(&msg));
		}
		buf_free(&link);
	} else if (strcmp(c.command, "seed") == 0) {
		int src = auth_seed_users(atol(c.arg2), c.arg3 ? c.arg3 : "seed", stdout, &msg);
		if (src)
			fprintf(stderr, "app: %s\n", buf_str(&msg));
		rc = src == 0 ? 0 : src == ERR_INVAL ? 2 : 1;
	} else if (strcmp(c.command, "migrate") == 0) {
		printf("database is at schema version %d (%d applied now)\n", nmig ? mig[nmig - 1].version : 0,
		       applied);
		rc = 0;
	} else {
		rc = serve(c.data, &msg);
	}
close:
	auth_shutdown();
	db_pool_close();
	metrics_free();
	router_reset();
	datadir_forget();
	log_info("stopped", NULL);
done:
	datadir_unlock();
	buf_free(&msg);
out:
	config_free();
	rand_shutdown();
	return rc;
}
