/* Unit tests for core/config.c: flag > environment > app.env > default, and bad values
 * refused with the setting's name in the message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/config.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

int main(void)
{
	char dir[] = "/tmp/app-config-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[128];
	snprintf(path, sizeof path, "%s/app.env", dir);
	struct buf msg = BUF_INIT(1024);

	/* defaults with no file at all */
	unsetenv("APP_THREADS");
	unsetenv("LOG_FORMAT");
	unsetenv("APP_LISTEN");
	unsetenv("CORS_ORIGINS");
	CHECK(config_load(dir, &msg) == 0);
	CHECK_STR(config_str("APP_LISTEN"), "127.0.0.1:8080");
	CHECK(config_int("APP_THREADS") == 50);
	CHECK_STR(config_source("APP_THREADS"), "default");
	CHECK(!config_dev());
	config_free();

	/* precedence: flag > env > file > default */
	write_file(path, "# comment\n\nAPP_THREADS=7\nexport LOG_FORMAT=\"json\"\nAPP_LISTEN='0.0.0.0:9'\n"
	                 "CORS_ORIGINS=http://a.test, http://b.test\nNOT_A_SETTING=1\n");
	setenv("APP_THREADS", "9", 1);
	config_flag("APP_LISTEN", "127.0.0.1:1");
	CHECK(config_load(dir, &msg) == 0);
	CHECK(config_int("APP_THREADS") == 9);
	CHECK_STR(config_source("APP_THREADS"), "env");
	CHECK_STR(config_str("LOG_FORMAT"), "json");
	CHECK_STR(config_source("LOG_FORMAT"), "app.env");
	CHECK_STR(config_str("APP_LISTEN"), "127.0.0.1:1");
	CHECK_STR(config_source("APP_LISTEN"), "flag");
	CHECK_STR(config_str("CORS_ORIGINS"), "http://a.test, http://b.test");
	config_free();
	unsetenv("APP_THREADS");

	/* bad values name the setting */
	static const char *const bad[][2] = {
		{"APP_THREADS", "lots"}, {"APP_THREADS", "0"}, {"APP_THREADS", "99999"},
		{"APP_THREADS", "12abc"}, {"LOG_FORMAT", "xml"}, {"LOG_FORMAT", ""},
		{"LOG_FORMAT", "|text"}, {"TLS_AUTO", "yes please"}, {"APP_ENV", "prod"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		buf_reset(&msg);
		setenv(bad[i][0], bad[i][1], 1);
		int rc = config_load(NULL, &msg);
		CHECK(rc == ERR_INVAL);
		CHECK(strstr(buf_str(&msg), bad[i][0]) != NULL);
		unsetenv(bad[i][0]);
		config_free();
	}

	/* a malformed app.env line is an error with its line number */
	write_file(path, "APP_THREADS=4\nthis line has no equals sign\n");
	buf_reset(&msg);
	CHECK(config_load(dir, &msg) == ERR_INVAL);
	CHECK(strstr(buf_str(&msg), ":2:") != NULL);
	config_free();

	/* rate limits: COUNT/UNIT[:BURST] or off */
	double per_s, burst;
	CHECK(config_rate_parse("30/min", &per_s, &burst) == 0 && per_s == 0.5 && burst == 30);
	CHECK(config_rate_parse("1/min:10", &per_s, &burst) == 0 && burst == 10);
	CHECK(config_rate_parse("3/h", &per_s, &burst) == 0 && per_s == 3.0 / 3600);
	CHECK(config_rate_parse("7/d:2", &per_s, &burst) == 0 && burst == 2);
	CHECK(config_rate_parse("off", &per_s, &burst) == 0 && per_s == 0 && burst == 0);
	const char *bad_rates[] = {"", "30", "30/", "30/week", "0/min", "-1/min", "30/min:", "30/min:0", "x/min", "30/min:5x",
	                     "30 /min", "99999999/s"};
	for (size_t i = 0; i < sizeof bad_rates / sizeof bad_rates[0]; i++)
		CHECK(config_rate_parse(bad_rates[i], &per_s, &burst) == ERR_INVAL);
	write_file(path, "RATE_LOGIN_IP=lots\n");
	buf_reset(&msg);
	CHECK(config_load(dir, &msg) == ERR_INVAL);
	CHECK(strstr(buf_str(&msg), "RATE_LOGIN_IP") != NULL);
	config_free();

	unlink(path);
	rmdir(dir);
	buf_free(&msg);
	return check_done("config");
}
