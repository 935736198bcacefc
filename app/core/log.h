/* core/log.h: one line per event on stderr, as text (logfmt-like) or JSON lines
 * (LOG_FORMAT=json). Callers must never pass a secret: tokens, passwords, codes, query strings. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_setup(bool json, enum log_level min);
/* Starts the thread that batches access lines; until then, and after log_stop (which
 * writes out what is pending), every line is written at once. */
int log_start(void);
void log_stop(void);
/* msg, then key/value string pairs, then NULL: log_write(LOG_INFO, "listening", "url", u, NULL). */
void log_write(enum log_level level, const char *msg, ...) __attribute__((sentinel));
/* The access line: one per request. */
void log_request(const char *request_id, const char *method, const char *path, int status,
                 size_t bytes, int64_t micros, const char *error_code);

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
