/* Unit tests for system/countries.c: all 249 ISO 3166-1 entries, sorted, well-formed. */
#include <string.h>

#include "check.h"
#include "core/json.h"
#include "system/countries.h"

static const struct country *find(const char *code)
{
	for (size_t i = 0; i < countries_count; i++)
		if (strcmp(countries[i].code, code) == 0)
			return &countries[i];
	return NULL;
}

int main(void)
{
	CHECK(countries_count == 249);
	int ordered = 1, shaped = 1;
	for (size_t i = 0; i < countries_count; i++) {
		const struct country *c = &countries[i];
		if (i && strcmp(countries[i - 1].code, c->code) >= 0)
			ordered = 0;
		size_t dl = strlen(c->dial_code);
		int ok = strlen(c->code) == 2 && c->code[0] >= 'A' && c->code[0] <= 'Z' &&
		         c->code[1] >= 'A' && c->code[1] <= 'Z' && c->name[0] && dl >= 2 && dl <= 5 &&
		         c->dial_code[0] == '+' && utf8_check(c->name, strlen(c->name)) == 0;
		for (size_t k = 1; k < dl; k++)
			ok = ok && c->dial_code[k] >= '0' && c->dial_code[k] <= '9';
		if (!ok) {
			fprintf(stderr, "malformed entry %s\n", c->code);
			shaped = 0;
		}
	}
	CHECK(ordered);
	CHECK(shaped);
	static const char *const spot[][3] = {
		{"AR", "Argentina", "+54"}, {"US", "United States", "+1"}, {"GB", "United Kingdom", "+44"},
		{"DE", "Germany", "+49"},   {"JP", "Japan", "+81"},        {"BR", "Brazil", "+55"},
		{"IN", "India", "+91"},     {"ZA", "South Africa", "+27"}, {"AX", "Åland Islands", "+358"},
		{"CI", "Côte d'Ivoire", "+225"}, {"KZ", "Kazakhstan", "+7"},
	};
	for (size_t i = 0; i < sizeof spot / sizeof spot[0]; i++) {
		const struct country *c = find(spot[i][0]);
		CHECK(c != NULL);
		if (c) {
			CHECK_STR(c->name, spot[i][1]);
			CHECK_STR(c->dial_code, spot[i][2]);
		}
	}
	return check_done("countries");
}
