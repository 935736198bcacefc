/* core/config.h: settings, each named once in the table in config.c (the README lists the
 * same names). A value comes from a flag, else the environment, else DATA/app.env, else the
 * default. Read-only after config_load, so any thread may read it without locks. */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <stdbool.h>

#include "core/buf.h"

/* Sets a value from a command-line flag (wins over everything else). Before config_load. */
void config_flag(const char *name, const char *value);
/* Reads the environment and data_dir/app.env (missing file is fine), then checks every
 * value against its type and range. On failure: ERR_INVAL, reason in msg. */
WUR int config_load(const char *data_dir, struct buf *msg);
/* The value of a setting ("" when unset and without default). Unknown names abort: a typo
 * in the code must not silently read nothing. */
const char *config_str(const char *name);
long long config_int(const char *name);
bool config_bool(const char *name);
/* A rate-limit setting (COUNT/UNIT[:BURST], or off: then both are 0). 0, or ERR_INVAL. */
int config_rate(const char *name, double *per_second, double *burst);
int config_rate_parse(const char *v, double *per_second, double *burst);
/* Where a setting's value came from: "flag", "env", "app.env" or "default". */
const char *config_source(const char *name);
/* True when APP_ENV is dev or test. */
bool config_dev(void);
void config_free(void);

#endif
