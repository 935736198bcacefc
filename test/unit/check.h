/* test/unit/check.h: the tiny assertion kit of the C unit tests. A failed CHECK prints
 * file:line and the expression, and the test exits non-zero at the end. */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <stdio.h>
#include <string.h>

extern int check_failures;
extern int check_count;

#define CHECK(expr)                                                                     \
	do {                                                                            \
		check_count++;                                                          \
		if (!(expr)) {                                                          \
			check_failures++;                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
		}                                                                       \
	} while (0)

#define CHECK_STR(got, want)                                                            \
	do {                                                                            \
		const char *g_ = (got), *w_ = (want);                                   \
		check_count++;                                                          \
		if (!g_ || strcmp(g_, w_) != 0) {                                       \
			check_failures++;                                               \
			fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
			        g_ ? g_ : "(null)", w_);                                \
		}                                                                       \
	} while (0)

/* A fresh database file with the app's schema in a new temporary directory, the per-thread
 * pool on it and, with writer, the writer thread (tests of store functions). */
#include <stdbool.h>
void check_db_open(const char *name, bool writer);
/* Closes the pool, forgets the settings, removes the directory. */
void check_db_close(void);
/* The first column of a one-row query with ?1 bound to param, or -1. */
long long check_db_count(const char *sql, const char *param);

/* Call at the end of main: prints a summary, returns the exit status. */
int check_done(const char *name);

#endif
