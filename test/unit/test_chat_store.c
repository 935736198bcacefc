/* Unit tests for chat/store.c's messages and the hub: every stored message (the user's and
 * the assistant's) writes one chat.message event to its owner's log in the same
 * transaction, delivered after the commit; a message the daily limit refuses writes none. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat/internal.h"
#include "check.h"
#include "core/config.h"
#include "hub/hub.h"
#include "store/db.h"
#include "users/users.h"

#define SEEN_MAX 8

static struct {
	char stream[64];
	int64_t seq;
	char *frame;
} seen[SEEN_MAX];
static int nseen;

/* Called holding the writer's turn: one at a time. */
static void deliver(void *ctx, const char *stream, int64_t seq, const char *frame, size_t len)
{
	(void)ctx;
	if (nseen == SEEN_MAX)
		return;
	snprintf(seen[nseen].stream, sizeof seen[nseen].stream, "%s", stream);
	seen[nseen].seq = seq;
	seen[nseen++].frame = strndup(frame, len);
}

static const struct hub_sink sink = {deliver, NULL};

int main(void)
{
	check_db_open("chat", true);
	config_flag("CHAT_DAILY_LIMIT", "2");
	hub_set_sink(&sink);

	char ann[UUID_STR_LEN], stream[64];
	CHECK(db_begin() == 0);
	CHECK(users_create("ann@example.test", NULL, NULL, "Ann", "user", ann) == 0);
	CHECK(db_commit() == 0);
	snprintf(stream, sizeof stream, "u:%s", ann);
	struct arena a;
	arena_init(&a, 1 << 20, NULL, 0);
	struct chat c;
	CHECK(chat_create(&a, ann, "Plans", NULL, NULL, &c) == 0);

	struct chat_msg q = {.chat_id = c.id,
	                     .role = "user",
	                     .content = "hello \"you\"",
	                     .status = "complete",
	                     .prompt_tokens = -1,
	                     .completion_tokens = -1};
	CHECK(chat_msg_insert(&a, ann, &q, NULL) == 0);
	CHECK(nseen == 1); /* delivered once committed, before the insert returned */
	struct chat_msg reply = {.chat_id = c.id, .role = "assistant"};
	CHECK(chat_msg_stamp(&a, &reply) == 0);
	reply.content = "hi";
	reply.status = "incomplete";
	reply.prompt_tokens = 3;
	reply.completion_tokens = 1;
	CHECK(chat_msg_insert(&a, ann, &reply, "hello") == 0);
	CHECK(nseen == 2);

	char want[512];
	snprintf(
	    want, sizeof want,
	    "{\"type\":\"chat.message\",\"seq\":1,\"chat_id\":\"%s\",\"message\":{\"id\":\"%s\","
	    "\"role\":\"user\","
	    "\"content\":\"hello \\\"you\\\"\",\"status\":\"complete\",\"created_at\":\"%s\"}}",
	    c.id, q.id, q.created_at);
	CHECK_STR(seen[0].frame, want);
	CHECK_STR(seen[0].stream, stream);
	snprintf(want, sizeof want,
	         "{\"type\":\"chat.message\",\"seq\":2,\"chat_id\":\"%s\",\"message\":{\"id\":\"%"
	         "s\",\"role\":\"assistant\","
	         "\"content\":\"hi\",\"status\":\"incomplete\",\"created_at\":\"%s\"}}",
	         c.id, reply.id, reply.created_at);
	CHECK_STR(seen[1].frame, want);
	CHECK(seen[1].seq == 2);
	CHECK(check_db_count("SELECT count(*) FROM events WHERE stream = ?1 AND type = 'chat.message'",
	            stream) == 2);

	/* the third user message of the day is refused: no message, no event, no frame */
	struct chat_msg q2 = {.chat_id = c.id,
	                      .role = "user",
	                      .content = "again",
	                      .status = "complete",
	                      .prompt_tokens = -1,
	                      .completion_tokens = -1};
	CHECK(chat_msg_insert(&a, ann, &q2, NULL) == 0);
	struct chat_msg q3 = q2;
	q3.id = NULL;
	CHECK(chat_msg_insert(&a, ann, &q3, NULL) == ERR_BUSY);
	CHECK(nseen == 3);
	CHECK(check_db_count("SELECT count(*) FROM events WHERE stream = ?1", stream) == 3);
	int64_t head = 0;
	CHECK(hub_head(stream, &head) == 0 && head == 3);

	for (int i = 0; i < nseen; i++)
		free(seen[i].frame);
	arena_free(&a);
	hub_set_sink(NULL);
	check_db_close();
	return check_done("chat_store");
}
