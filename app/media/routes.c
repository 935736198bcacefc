/* media/routes.c: the media domain's route tables (its own, and the drop-in routes of the
 * original backends' clients) and nothing else. */
#include "media/internal.h"
#include "media/media.h"

static const char media_schema[] =
	"{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"url\":{\"type\":\"string\"},"
	"\"path\":{\"type\":\"string\"},\"content_type\":{\"type\":\"string\"},\"size\":{\"type\":\"integer\"},"
	"\"sha256\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
	"\"visibility\":{\"enum\":[\"private\",\"public\"]},\"owner_id\":{\"type\":\"string\"},"
	"\"created_at\":{\"type\":\"string\"}}}";
static const char upload_schema[] =
	"{\"type\":\"object\",\"required\":[\"file\"],\"properties\":{\"file\":{\"type\":\"string\","
	"\"format\":\"binary\"},\"visibility\":{\"enum\":[\"private\",\"public\"]}}}";
static const char item_schema[] =
	"{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"media_id\":{\"type\":\"string\"},"
	"\"caption\":{\"type\":\"string\"},\"created_at\":{\"type\":\"string\"},\"media\":{\"type\":\"object\"}}}";
static const char add_schema[] =
	"{\"type\":\"object\",\"required\":[\"media_id\"],\"properties\":{\"media_id\":{\"type\":\"string\"},"
	"\"caption\":{\"type\":\"string\",\"maxLength\":500}}}";
static const char list_schema[] =
	"{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\"},\"next_cursor\":{\"type\":[\"string\",\"null\"]}}}";

static const struct route routes[] = {
	{"POST", "/api/v1/media", media_upload, ACCESS_USER, BODY_STREAM,
	 "Upload a file (multipart field file; visibility private or public); its type is sniffed from the bytes",
	 upload_schema, media_schema, 201, NULL},
	{"GET", "/api/v1/media/{id}", media_get, ACCESS_OPTIONAL, 0,
	 "A file's bytes, with ETag, If-None-Match, Range; private media only for those who may see it",
	 NULL, NULL, 200, "application/octet-stream"},
	{"DELETE", "/api/v1/media/{id}", media_delete, ACCESS_USER, 0,
	 "Delete media (owner or admin); the file goes when no media uses it", NULL, NULL, 204, NULL},
	{"GET", "/media/{a}/{b}/{sha}", media_get_path, ACCESS_OPTIONAL, 0,
	 "A file by the relative path older clients stored (ab/cd/<sha256>)", NULL, NULL, 200,
	 "application/octet-stream"},
	{"GET", "/api/v1/gallery", gallery_list, ACCESS_USER, 0, "My gallery, newest first", NULL, list_schema, 200, NULL},
	{"POST", "/api/v1/gallery/media", gallery_add, ACCESS_USER, 2048, "Add my media to my gallery",
	 add_schema, item_schema, 201, NULL},
	{"DELETE", "/api/v1/gallery/media/{id}", gallery_remove, ACCESS_USER, 0,
	 "Remove an item (by item id or media id) from my gallery; the media stays", NULL, NULL, 204, NULL},
	{"GET", "/api/v1/users/{id}/gallery", gallery_of_user, ACCESS_OPTIONAL, 0,
	 "A user's gallery: public items, or all of them for the user and their contacts", NULL, list_schema, 200,
	 NULL},
};

const struct route_table media_routes = ROUTE_TABLE("media", routes,
						   "Uploads stored by content hash, downloads with ETag/Range, avatars and galleries");

static const struct route compat[] = {
	{"POST", "/api/v1/media/upload", media_upload, ACCESS_USER, BODY_STREAM,
	 "E2EE chat: as POST /api/v1/media (multipart field file)", upload_schema, media_schema, 201, NULL},
};

const struct route_table media_compat_routes =
	ROUTE_TABLE("compat", compat, "Drop-in routes for the clients of the five original backends");
