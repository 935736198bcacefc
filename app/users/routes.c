/* users/routes.c: the users domain's route tables (its own, and the drop-in routes of the
 * original backends' clients) and nothing else. Literal paths come before {id} patterns:
 * the first match wins. */
#include "users/handlers.h"
#include "users/users.h"

#define BODY_MAX (16 * 1024)

static const char user_schema[] =
	"{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
	"\"avatar_url\":{\"type\":[\"string\",\"null\"]},\"email\":{\"type\":[\"string\",\"null\"]},"
	"\"email_verified\":{\"type\":\"boolean\"},\"has_password\":{\"type\":\"boolean\"},\"phone\":{\"type\":[\"string\",\"null\"]},"
	"\"bio\":{\"type\":\"string\"},\"country\":{\"type\":[\"string\",\"null\"]},"
	"\"locale\":{\"type\":[\"string\",\"null\"]},\"avatar_media_id\":{\"type\":[\"string\",\"null\"]},"
	"\"finance\":{\"type\":[\"object\",\"null\"]},\"role\":{\"enum\":[\"user\",\"agent\",\"admin\"]},"
	"\"disabled\":{\"type\":\"boolean\"},\"show_presence\":{\"type\":\"boolean\"},\"created_at\":{\"type\":\"string\"},\"updated_at\":{\"type\":\"string\"}}}";
static const char me_put_schema[] =
	"{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":100},"
	"\"bio\":{\"type\":\"string\"},\"country\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{2}$\"},"
	"\"phone\":{\"type\":\"string\"},\"avatar_media_id\":{\"type\":\"string\"},\"locale\":{\"type\":\"string\"},"
	"\"finance\":{\"type\":\"object\",\"properties\":{\"risk_profile\":{\"enum\":[\"conservative\","
	"\"moderate\",\"aggressive\"]},\"horizon_years\":{\"type\":\"integer\"},\"goals\":{\"type\":\"string\"},"
	"\"monthly_income\":{\"type\":\"integer\"}}},"
	"\"show_presence\":{\"type\":\"boolean\",\"description\":\"false: contacts never see whether I am online, "
	"and I no longer see theirs\"}}}";
static const char me_delete_schema[] =
	"{\"type\":\"object\",\"properties\":{\"password\":{\"type\":\"string\","
	"\"description\":\"required when the account has a password; without one, sign in again first\"}}}";
static const char export_schema[] =
	"{\"type\":\"object\",\"required\":[\"exported_at\"],\"properties\":{\"exported_at\":{\"type\":\"string\"},"
	"\"account\":{\"type\":\"object\"},\"auth\":{\"type\":\"object\"},\"media\":{\"type\":\"object\"}},"
	"\"additionalProperties\":true,\"description\":\"one member per domain with what it keeps about me\"}";
static const char list_schema[] =
	"{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\"},\"next_cursor\":{\"type\":[\"string\",\"null\"]}}}";
static const char contact_add_schema[] =
	"{\"type\":\"object\",\"properties\":{\"user_id\":{\"type\":\"string\"},\"phone\":{\"type\":\"string\"}}}";
static const char patch_schema[] =
	"{\"type\":\"object\",\"properties\":{\"role\":{\"enum\":[\"user\",\"agent\",\"admin\"]},\"disabled\":{\"type\":\"boolean\"}}}";

static const struct route routes[] = {
	{"GET", "/api/v1/users/me", me_get, ACCESS_USER, 0, "My profile", NULL, user_schema, 200, NULL},
	{"PUT", "/api/v1/users/me", me_put, ACCESS_USER, BODY_MAX,
	 "Update my profile (only the fields given; null clears optional ones)", me_put_schema, user_schema, 200, NULL},
	{"DELETE", "/api/v1/users/me", me_delete, ACCESS_USER, 4096,
	 "Delete my account and everything kept about me, at once (password, or a sign-in within 5 minutes)",
	 me_delete_schema, NULL, 204, NULL},
	{"GET", "/api/v1/users/me/export", me_export, ACCESS_USER, 0,
	 "Everything kept about me, as a JSON file (never a password hash, token hash or secret)", NULL, export_schema,
	 200, NULL},
	{"GET", "/api/v1/users/contacts", contacts_list, ACCESS_USER, 0, "My contacts", NULL, list_schema, 200, NULL},
	{"POST", "/api/v1/users/contacts", contacts_add, ACCESS_USER, 1024, "Add a contact by user id or phone",
	 contact_add_schema, user_schema, 201, NULL},
	{"DELETE", "/api/v1/users/contacts/{id}", contacts_remove, ACCESS_USER, 0, "Remove a contact", NULL, NULL, 204, NULL},
	{"GET", "/api/v1/users/{id}", user_get, ACCESS_USER, 0,
	 "A user's public card (the full record for admins and oneself)", NULL, user_schema, 200, NULL},
	{"GET", "/api/v1/admin/users", admin_users_list, ACCESS_ADMIN, 0,
	 "Users, newest first; q searches email, name and phone; role filters", NULL, list_schema, 200, NULL},
	{"PATCH", "/api/v1/admin/users/{id}", admin_user_patch, ACCESS_ADMIN, 1024,
	 "Change a user's role or disable them (their tokens stop working at once)", patch_schema, user_schema, 200, NULL},
};

const struct route_table users_routes = ROUTE_TABLE("users", routes,
						   "Profiles, public cards, contacts, and the admin user list");

static const struct route compat[] = {
	{"GET", "/user-detail/{id}", user_get, ACCESS_USER, 0,
	 "Gin backend: a user's detail (the public card; the full record for oneself and admins)", NULL,
	 user_schema, 200, NULL},
};

const struct route_table users_compat_routes =
	ROUTE_TABLE("compat", compat, "Drop-in routes for the clients of the five original backends");
