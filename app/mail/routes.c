/* mail/routes.c: the mail domain's route table and nothing else. */
#include "mail/internal.h"
#include "mail/mail.h"

static const char outbox_schema[] =
	"{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"properties\":{\"id\":{\"type\":\"string\"},\"channel\":{\"enum\":[\"email\",\"sms\"]},"
	"\"recipient\":{\"type\":\"string\"},\"subject\":{\"type\":\"string\"},\"body\":{\"type\":\"string\"},"
	"\"state\":{\"enum\":[\"queued\",\"sending\",\"sent\",\"failed\",\"unknown\"]},\"attempts\":{\"type\":\"integer\"},"
	"\"last_error\":{\"type\":[\"string\",\"null\"]}}}},\"next_cursor\":{\"type\":[\"string\",\"null\"]}}}";

static const struct route routes[] = {
	{"GET", "/api/v1/admin/outbox", outbox_list_get, ACCESS_ADMIN, 0,
	 "Mail and SMS, newest first (?state= filters); secrets are redacted outside dev mode", NULL,
	 outbox_schema, 200, NULL},
};

const struct route_table mail_routes = ROUTE_TABLE("mail", routes,
						   "The durable outbox of mail and text messages (admins)");
