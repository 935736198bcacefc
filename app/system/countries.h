/* system/countries.h: the compiled-in ISO 3166-1 table behind GET /api/v1/countries. */
#ifndef SYSTEM_COUNTRIES_H
#define SYSTEM_COUNTRIES_H

#include <stddef.h>

struct country {
	const char *code;      /* ISO 3166-1 alpha-2, e.g. "AR" */
	const char *name;      /* English short name, UTF-8 */
	const char *dial_code; /* international calling code, e.g. "+54" */
};

extern const struct country countries[];
extern const size_t countries_count;

#endif
