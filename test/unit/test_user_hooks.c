/* Unit tests for the account hooks of chat/, copilot/, mail/ and hub/: an export holds the person's
 * rows (and never a message's secret), a deletion inside one transaction removes exactly the
 * person's rows and leaves everyone else's. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat/chat.h"
#include "chat/internal.h"
#include "check.h"
#include "copilot/copilot.h"
#include "copilot/internal.h"
#include "core/config.h"
#include "hub/hub.h"
#include "mail/mail.h"
#include "store/db.h"
#include "users/users.h"

/* Everything the three domains keep for one person: a chat with two messages, a session with
 * one exchange, and one mail and one text message carrying a secret. */
static void populate(struct arena *a, const char *user, const char *email, const char *phone)
{
	struct chat c;
	CHECK(chat_create(a, user, "Plans", NULL, "Be brief", &c) == 0);
	struct chat_msg q = {.chat_id = c.id, .role = "user", .content = "hello", .status = "complete",
	                     .prompt_tokens = -1, .completion_tokens = -1};
	struct chat_msg reply = {.chat_id = c.id, .role = "assistant", .content = "hi there",
	                         .status = "complete", .prompt_tokens = 3, .completion_tokens = 2};
	CHECK(chat_msg_insert(a, user, &q, NULL) == 0);
	CHECK(chat_msg_insert(a, user, &reply, "hello") == 0);
	struct session s;
	CHECK(session_create(a, user, "Retirement", &s) == 0);
	struct detail d = {.session_id = s.id, .input = "where to start?"};
	CHECK(detail_insert(a, &d) == 0);
	CHECK(detail_finish(d.id, "slowly", "rag", NULL) == 0);
	CHECK(db_begin() == 0);
	/* the address in another case is still the person's */
	char upper[64];
	snprintf(upper, sizeof upper, "%s", email);
	upper[0] = (char)(upper[0] - 'a' + 'A');
	CHECK(mail_queue_email(upper, "Reset", "Open https://x.test/r?t=SECRET1 now", "SECRET1") == 0);
	CHECK(mail_queue_sms(phone, "Your code is 424242", "424242") == 0);
	CHECK(db_commit() == 0);
}

static char *export_of(const char *user)
{
	struct arena a;
	struct buf b = BUF_INIT(1 << 20);
	struct jw w;
	arena_init(&a, 1 << 20, NULL, 0);
	jw_init(&w, &b);
	jw_obj(&w);
	CHECK(chat_user_export(&a, &w, user) == 0);
	CHECK(copilot_user_export(&a, &w, user) == 0);
	CHECK(mail_user_export(&a, &w, user) == 0);
	jw_obj_end(&w);
	CHECK(jw_finish(&w) == 0);
	arena_free(&a);
	return buf_take(&b, NULL);
}

int main(void)
{
	check_db_open("hooks", false);

	char ann[UUID_STR_LEN], bob[UUID_STR_LEN];
	CHECK(db_begin() == 0);
	CHECK(users_create("ann@example.test", "+5491100000001", NULL, "Ann", "user", ann) == 0);
	CHECK(users_create("bob@example.test", "+5491100000002", NULL, "Bob", "user", bob) == 0);
	CHECK(db_commit() == 0);
	struct arena a;
	arena_init(&a, 1 << 20, NULL, 0);
	populate(&a, ann, "ann@example.test", "+5491100000001");
	populate(&a, bob, "bob@example.test", "+5491100000002");

	char *out = export_of(ann);
	CHECK(out && strstr(out, "\"chats\":[{\"chat\":{\"id\":"));
	CHECK(out && strstr(out, "\"title\":\"Plans\""));
	CHECK(out && strstr(out, "\"content\":\"hello\"") && strstr(out, "\"content\":\"hi there\""));
	CHECK(out && strstr(out, "\"copilot_sessions\":[{\"session\":{"));
	CHECK(out && strstr(out, "\"input\":\"where to start?\",\"output\":\"slowly\""));
	CHECK(out && strstr(out, "\"recipient\":\"Ann@example.test\""));
	CHECK(out && strstr(out, "\"recipient\":\"+5491100000001\""));
	CHECK(out && strstr(out, "Open https://x.test/r?t=[redacted] now"));
	CHECK(out && strstr(out, "Your code is [redacted]"));
	CHECK(out && !strstr(out, "SECRET1") && !strstr(out, "424242"));
	CHECK(out && !strstr(out, "bob"));
	free(out);

	/* the chat messages went to each one's event log too */
	char ann_stream[64], bob_stream[64];
	snprintf(ann_stream, sizeof ann_stream, "u:%s", ann);
	snprintf(bob_stream, sizeof bob_stream, "u:%s", bob);
	CHECK(check_db_count("SELECT count(*) FROM events WHERE stream = ?1", ann_stream) == 2);

	CHECK(db_begin() == 0);
	CHECK(chat_user_deleted(ann) == 0);
	CHECK(copilot_user_deleted(ann) == 0);
	CHECK(mail_user_deleted(ann) == 0);
	CHECK(hub_user_deleted(ann) == 0);
	CHECK(db_commit() == 0);
	CHECK(check_db_count("SELECT count(*) FROM events WHERE stream = ?1", ann_stream) == 0);
	CHECK(check_db_count("SELECT count(*) FROM event_streams WHERE stream = ?1", ann_stream) == 0);
	CHECK(check_db_count("SELECT count(*) FROM events WHERE stream = ?1", bob_stream) == 2);
	CHECK(check_db_count("SELECT count(*) FROM chats WHERE owner_id = ?1", ann) == 0);
	CHECK(check_db_count("SELECT count(*) FROM chat_messages WHERE owner_id = ?1", ann) == 0);
	CHECK(check_db_count("SELECT count(*) FROM copilot_sessions WHERE owner_id = ?1", ann) == 0);
	CHECK(check_db_count("SELECT count(*) FROM copilot_details WHERE input = ?1", "where to start?") == 1);
	CHECK(check_db_count("SELECT count(*) FROM outbox WHERE recipient <> ?1", "") == 2);
	CHECK(check_db_count("SELECT count(*) FROM chats WHERE owner_id = ?1", bob) == 1);
	CHECK(check_db_count("SELECT count(*) FROM chat_messages WHERE owner_id = ?1", bob) == 2);
	CHECK(check_db_count("SELECT count(*) FROM copilot_sessions WHERE owner_id = ?1", bob) == 1);
	out = export_of(ann);
	CHECK(out && strcmp(out, "{\"chats\":[],\"copilot_sessions\":[],\"outbox\":[]}") == 0);
	free(out);

	arena_free(&a);
	check_db_close();
	return check_done("user_hooks");
}
