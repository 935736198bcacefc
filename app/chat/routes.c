/* chat/routes.c: the chat domain's route table and nothing else. */
#include "chat/chat.h"
#include "chat/internal.h"

#define BODY_MAX (16 * 1024)
#define MESSAGE_BODY_MAX (256 * 1024) /* CHAT_CONTENT_MAX bytes, even when escaped */

static const char chat_schema[] =
	"{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"},"
	"\"model\":{\"type\":[\"string\",\"null\"]},\"system_prompt\":{\"type\":[\"string\",\"null\"]},"
	"\"archived\":{\"type\":\"boolean\"},\"archived_at\":{\"type\":[\"string\",\"null\"]},"
	"\"created_at\":{\"type\":\"string\"},\"updated_at\":{\"type\":\"string\"}}}";
static const char create_schema[] =
	"{\"type\":\"object\",\"properties\":{\"title\":{\"type\":\"string\",\"maxLength\":200},"
	"\"model\":{\"type\":\"string\"},\"system_prompt\":{\"type\":\"string\",\"maxLength\":8000}}}";
static const char update_schema[] =
	"{\"type\":\"object\",\"properties\":{\"title\":{\"type\":\"string\",\"maxLength\":200},"
	"\"model\":{\"type\":[\"string\",\"null\"]},\"system_prompt\":{\"type\":[\"string\",\"null\"]},"
	"\"archived\":{\"type\":\"boolean\"}}}";
static const char list_schema[] =
	"{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\"},\"next_cursor\":{\"type\":[\"string\",\"null\"]}}}";
static const char post_schema[] =
	"{\"type\":\"object\",\"required\":[\"content\"],\"properties\":{\"content\":{\"type\":\"string\"}}}";
static const char exchange_schema[] =
	"{\"type\":\"object\",\"properties\":{\"user_message\":{\"type\":\"object\"},\"message\":{\"type\":\"object\"},"
	"\"demo\":{\"type\":\"boolean\"}}}";
static const char compat_schema[] =
	"{\"type\":\"object\",\"required\":[\"prompt\"],\"properties\":{\"prompt\":{\"type\":\"string\"}}}";
static const char compat_reply[] =
	"{\"type\":\"object\",\"properties\":{\"thread_id\":{\"type\":\"string\"},\"text\":{\"type\":\"string\"}}}";

static const struct route routes[] = {
	{"GET", "/api/v1/chats", chats_list, ACCESS_USER, 0, "My chats, newest first (?archived=true for archived ones)",
	 NULL, list_schema, 200, NULL},
	{"POST", "/api/v1/chats", chats_create, ACCESS_USER, BODY_MAX, "Start a chat", create_schema, chat_schema, 201,
	 NULL},
	{"GET", "/api/v1/chats/{id}", chats_get, ACCESS_USER, 0, "A chat of mine", NULL, chat_schema, 200, NULL},
	{"PUT", "/api/v1/chats/{id}", chats_update, ACCESS_USER, BODY_MAX,
	 "Rename, change the model or system prompt, archive or unarchive", update_schema, chat_schema, 200, NULL},
	{"DELETE", "/api/v1/chats/{id}", chats_delete, ACCESS_USER, 0, "Archive a chat (?hard=true deletes it for good)",
	 NULL, NULL, 204, NULL},
	{"GET", "/api/v1/chats/{id}/messages", messages_list, ACCESS_USER, 0, "A chat's messages, oldest first", NULL,
	 list_schema, 200, NULL},
	{"POST", "/api/v1/chats/{id}/messages", messages_post, ACCESS_USER, MESSAGE_BODY_MAX,
	 "Send a message; with Accept: text/event-stream the reply streams as events message, delta..., done "
	 "(or error); otherwise it comes whole",
	 post_schema, exchange_schema, 201, NULL},
	{"GET", "/api/v1/stream/chat/{id}", stream_get, ACCESS_USER, 0,
	 "Send ?message= and stream the reply (EventSource; the token may come as ?access_token=)", NULL, NULL, 200,
	 "text/event-stream"},
};

const struct route_table chat_routes = ROUTE_TABLE("chat", routes,
						   "LLM chats, their messages, and replies streamed over Server-Sent Events");

/* The Gin backend's assistant: its clients keep working unchanged. */
static const struct route compat[] = {
	{"POST", "/api/v1/asistente/start", compat_start, ACCESS_USER, MESSAGE_BODY_MAX,
	 "Compatibility: a new chat from {prompt}, answered whole as {thread_id, text}", compat_schema, compat_reply,
	 200, NULL},
	{"POST", "/asistente/start", compat_start, ACCESS_USER, MESSAGE_BODY_MAX,
	 "Compatibility (older clients' path): as /api/v1/asistente/start", compat_schema, compat_reply, 200, NULL},
};

const struct route_table chat_compat_routes =
	ROUTE_TABLE("compat", compat, "Drop-in routes for the clients of the five original backends");
