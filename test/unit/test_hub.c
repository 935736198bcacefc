/* Unit tests for hub/: seq grows by one per stream under concurrent writers; frames are one
 * valid JSON object with the event's fields merged in; a rolled-back event leaves no row
 * and is never delivered; delivery order is seq order per stream, and what is delivered is
 * what a replay gives; replay resumes after since and says resync below the floor (after
 * pruning) or above the head; signals are delivered and never stored. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/config.h"
#include "core/json.h"
#include "core/time.h"
#include "hub/hub.h"
#include "store/db.h"

#define THREADS  8
#define ROUNDS   120
#define SEEN_MAX 8192

/* ---- the test sink: every frame delivered, in delivery order ---------------------------- */

struct seen {
	char stream[64];
	int64_t seq;
	char *frame;
	size_t len;
};
static struct seen seen[SEEN_MAX];
static int nseen, overflow;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static void deliver(void *ctx, const char *stream, int64_t seq, const char *frame, size_t len)
{
	(void)ctx;
	pthread_mutex_lock(&seen_lock);
	if (nseen < SEEN_MAX && strlen(stream) < sizeof seen[0].stream) {
		struct seen *s = &seen[nseen++];
		snprintf(s->stream, sizeof s->stream, "%s", stream);
		s->seq = seq;
		s->frame = strndup(frame, len);
		s->len = len;
	} else {
		overflow++;
	}
	pthread_mutex_unlock(&seen_lock);
}

static const struct hub_sink sink = {deliver, NULL};

static int seen_count(void)
{
	pthread_mutex_lock(&seen_lock);
	int n = nseen;
	pthread_mutex_unlock(&seen_lock);
	return n;
}

static void seen_clear(void)
{
	pthread_mutex_lock(&seen_lock);
	for (int i = 0; i < nseen; i++)
		free(seen[i].frame);
	nseen = 0;
	pthread_mutex_unlock(&seen_lock);
}

/* The last frame delivered to stream, or NULL. */
static const struct seen *last_of(const char *stream)
{
	for (int i = seen_count(); i-- > 0;)
		if (!strcmp(seen[i].stream, stream))
			return &seen[i];
	return NULL;
}

static const char sql_events_of[] = "SELECT count(*) FROM events WHERE stream = ?1";
static const char sql_events_all[] = "SELECT count(*) FROM events WHERE ?1 IS NOT NULL";
static const char sql_floor_of[] = "SELECT floor FROM event_streams WHERE stream = ?1";

/* One event of its own transaction; rc of the commit (or of the event, rolled back). */
static int user_event(const char *user, const char *type, const char *data, int64_t *seq)
{
	if (db_begin())
		return ERR_DB;
	int rc = hub_user_event(user, type, data, seq);
	if (rc) {
		db_rollback();
		return rc;
	}
	return db_commit();
}

static bool valid_json(const char *text, size_t len)
{
	struct arena a;
	arena_init(&a, 1 << 20, NULL, 0);
	struct json *root;
	struct json_error err;
	bool ok = json_parse(&a, text, len, NULL, &root, &err) == 0 && root->type == JSON_OBJECT;
	arena_free(&a);
	return ok;
}

/* ---- frames --------------------------------------------------------------------------- */

static void test_frames(void)
{
	int64_t seq = 0;
	CHECK(db_begin() == 0);
	CHECK(hub_user_event("ann", "chat.message",
	                     "{\"chat_id\":\"c1\",\"message\":{\"id\":\"m1\",\"role\":\"user\"}}",
	                     &seq) == 0);
	CHECK(seq == 1);
	CHECK(seen_count() == 0); /* nothing before the commit */
	CHECK(db_commit() == 0);
	CHECK(seen_count() == 1); /* delivered before db_commit returned */
	const struct seen *s = last_of("u:ann");
	CHECK(s && s->seq == 1);
	CHECK_STR(s ? s->frame : NULL, "{\"type\":\"chat.message\",\"seq\":1,\"chat_id\":\"c1\","
	                               "\"message\":{\"id\":\"m1\",\"role\":\"user\"}}");
	CHECK(s && valid_json(s->frame, s->len));

	/* a topic's frame names it; an empty object and blanks around members */
	CHECK(db_begin() == 0);
	CHECK(hub_topic_event("tickets", "ticket.created",
	                      "{\"ticket\":{\"id\":\"t1\",\"subject\":\"a \\\"b\\\"\"}}",
	                      &seq) == 0 &&
	      seq == 1);
	CHECK(hub_topic_event("tickets", "ticket.updated", " {\n} ", &seq) == 0 && seq == 2);
	CHECK(hub_user_event("ann", "keys.low", "{ \"device_id\" : 2 , \"count\":3 }\n", &seq) ==
	          0 &&
	      seq == 2);
	CHECK(db_commit() == 0);
	CHECK(seen_count() == 4);
	CHECK_STR(seen[1].frame, "{\"type\":\"ticket.created\",\"seq\":1,\"topic\":\"tickets\","
	                         "\"ticket\":{\"id\":\"t1\",\"subject\":\"a \\\"b\\\"\"}}");
	CHECK_STR(seen[2].frame, "{\"type\":\"ticket.updated\",\"seq\":2,\"topic\":\"tickets\"}");
	CHECK_STR(seen[3].frame,
	          "{\"type\":\"keys.low\",\"seq\":2,\"device_id\" : 2 , \"count\":3 }");
	for (int i = 0; i < 4; i++)
		CHECK(valid_json(seen[i].frame, seen[i].len));
	CHECK_STR(seen[1].stream, "t:tickets");

	/* refused: not an object, broken JSON, the frame's own names, bad names and types */
	const char *bad_data[] = {
	    "[]", "{", "{\"a\":1", "\"x\"", "{\"type\":\"x\"}", "{\"seq\":3}", "{\"a\":1}{}", ""};
	CHECK(db_begin() == 0);
	for (size_t i = 0; i < sizeof bad_data / sizeof bad_data[0]; i++)
		CHECK(hub_user_event("ann", "x", bad_data[i], NULL) == ERR_INVAL);
	CHECK(hub_topic_event("tickets", "x", "{\"topic\":\"y\"}", NULL) == ERR_INVAL);
	CHECK(hub_user_event("ann", "Chat Message", "{}", NULL) == ERR_INVAL);
	CHECK(hub_user_event("ann", "", "{}", NULL) == ERR_INVAL);
	CHECK(hub_user_event("an n", "x", "{}", NULL) == ERR_INVAL);
	CHECK(hub_user_event("", "x", "{}", NULL) == ERR_INVAL);
	CHECK(hub_user_event(NULL, "x", "{}", NULL) == ERR_INVAL);
	CHECK(hub_user_event("ann", "x", NULL, NULL) == ERR_INVAL);
	char longname[HUB_NAME_MAX + 2];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	CHECK(hub_user_event(longname, "x", "{}", NULL) == ERR_INVAL);
	/* a user's event may carry "topic" (only topic frames use the name) */
	CHECK(hub_user_event("ann", "x", "{\"topic\":\"y\"}", &seq) == 0 && seq == 3);
	db_rollback();
	CHECK(seen_count() == 4);
	/* outside a transaction: refused, nothing stored */
	CHECK(hub_user_event("ann", "x", "{}", NULL) == ERR_INVAL);
	CHECK(check_db_count(sql_events_of, "u:ann") == 2);
	seen_clear();
}

/* ---- rollback ------------------------------------------------------------------------- */

static int failing_job(void *ctx)
{
	(void)ctx;
	int rc = hub_user_event("bob", "x", "{\"n\":1}", NULL);
	return rc ? rc : ERR_INVAL;
}

static void test_rollback(void)
{
	int64_t seq = 0, head = -1;
	CHECK(db_begin() == 0);
	CHECK(hub_user_event("bob", "x", "{\"n\":1}", &seq) == 0 && seq == 1);
	db_rollback();
	CHECK(db_write(failing_job, NULL) == ERR_INVAL);
	CHECK(seen_count() == 0);
	CHECK(check_db_count(sql_events_of, "u:bob") == 0);
	CHECK(hub_head("u:bob", &head) == 0 && head == 0); /* the seq was not spent either */

	/* an inner savepoint's event goes, the outer one's stays, and seq has no gap */
	CHECK(db_begin() == 0);
	CHECK(hub_user_event("bob", "x", "{\"n\":1}", &seq) == 0 && seq == 1);
	CHECK(db_begin() == 0);
	CHECK(hub_user_event("bob", "x", "{\"n\":2}", &seq) == 0 && seq == 2);
	db_rollback();
	CHECK(hub_user_event("bob", "x", "{\"n\":3}", &seq) == 0 && seq == 2);
	CHECK(db_commit() == 0);
	CHECK(seen_count() == 2);
	CHECK_STR(seen[0].frame, "{\"type\":\"x\",\"seq\":1,\"n\":1}");
	CHECK_STR(seen[1].frame, "{\"type\":\"x\",\"seq\":2,\"n\":3}");
	CHECK(check_db_count(sql_events_of, "u:bob") == 2);
	seen_clear();
}

/* ---- signals -------------------------------------------------------------------------- */

static void test_signals(void)
{
	int64_t head = -1;
	CHECK(hub_user_signal("ann", "typing", "{\"from\":\"bob\",\"to\":\"ann\"}") == 0);
	CHECK(hub_topic_signal("ticket:7", "typing", "{\"from\":\"bob\"}") == 0);
	CHECK(hub_user_signal("ann", "typing", "{\"seq\":1}") == ERR_INVAL);
	CHECK(seen_count() == 2);
	CHECK(seen[0].seq == 0);
	CHECK_STR(seen[0].stream, "u:ann");
	CHECK_STR(seen[0].frame, "{\"type\":\"typing\",\"from\":\"bob\",\"to\":\"ann\"}");
	CHECK_STR(seen[1].frame, "{\"type\":\"typing\",\"topic\":\"ticket:7\",\"from\":\"bob\"}");
	CHECK(check_db_count(sql_events_of, "u:ann") == 2 && check_db_count(sql_events_of, "t:ticket:7") == 0);
	CHECK(hub_head("u:ann", &head) == 0 && head == 2);
	CHECK(hub_head("t:ticket:7", &head) == 0 && head == 0);
	seen_clear();
}

/* ---- concurrent writers --------------------------------------------------------------- */

struct writer {
	int who;
	bool queued; /* through db_write, else db_begin..db_commit */
	char user[16];
	int64_t shared[ROUNDS]; /* the seq each committed transaction got on the topic; 0 if none */
	int committed, bad;
};

struct one {
	struct writer *w;
	int i;
	int64_t seq;
};

/* One transaction: an event on the writer's own stream and one on the shared topic. */
static int write_two(void *ctx)
{
	struct one *o = ctx;
	char data[64];
	snprintf(data, sizeof data, "{\"who\":%d,\"i\":%d}", o->w->who, o->i);
	int64_t own;
	int rc = hub_user_event(o->w->user, "test.own", data, &own);
	if (!rc)
		rc = hub_topic_event("shared", "test.shared", data, &o->seq);
	return rc ? rc : o->i % 10 == 7 ? ERR_INVAL : 0;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	for (int i = 0; i < ROUNDS; i++) {
		struct one o = {w, i, 0};
		int rc;
		if (w->queued) {
			rc = db_write(write_two, &o);
		} else if ((rc = db_begin()) == 0) {
			rc = write_two(&o);
			if (rc)
				db_rollback();
			else
				rc = db_commit();
		}
		if (rc == 0) {
			w->shared[i] = o.seq;
			w->committed++;
		} else if (!(rc == ERR_INVAL && i % 10 == 7)) {
			w->bad++;
		}
	}
	db_thread_done();
	return NULL;
}

struct collected {
	int n;
	int64_t seq[THREADS * ROUNDS + 1];
	char *frame[THREADS * ROUNDS + 1];
};

static int collect(void *ctx, int64_t seq, const char *frame, size_t len)
{
	struct collected *c = ctx;
	if (c->n > THREADS * ROUNDS)
		return ERR_TOOBIG;
	c->seq[c->n] = seq;
	c->frame[c->n++] = strndup(frame, len);
	return 0;
}

static void collected_free(struct collected *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->frame[i]);
	c->n = 0;
}

static void test_concurrent(void)
{
	pthread_t th[THREADS];
	static struct writer w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct writer){.who = i, .queued = i % 2 == 1};
		snprintf(w[i].user, sizeof w[i].user, "w%d", i);
		CHECK(pthread_create(&th[i], NULL, writer_main, &w[i]) == 0);
	}
	int committed = 0;
	static bool taken[THREADS * ROUNDS + 1];
	int dup = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK(w[i].bad == 0);
		CHECK(w[i].committed == ROUNDS - ROUNDS / 10);
		committed += w[i].committed;
		for (int k = 0; k < ROUNDS; k++) {
			int64_t s = w[i].shared[k];
			if (s < 0 || s > THREADS * ROUNDS || (s && taken[s]))
				dup++;
			else if (s)
				taken[s] = true;
		}
	}
	CHECK(dup == 0);
	/* the committed transactions got seq 1..N on the shared topic, each exactly once */
	int64_t head = 0;
	CHECK(hub_head("t:shared", &head) == 0 && head == committed);
	int missing = 0;
	for (int s = 1; s <= committed; s++)
		missing += !taken[s];
	CHECK(missing == 0);

	/* delivered in seq order per stream, one frame per committed event, nothing rolled back */
	int64_t next_shared = 1, next_own[THREADS];
	int disorder = 0, strays = 0;
	for (int i = 0; i < THREADS; i++)
		next_own[i] = 1;
	for (int i = 0; i < seen_count(); i++) {
		const struct seen *s = &seen[i];
		int who = -1;
		if (!strcmp(s->stream, "t:shared")) {
			disorder += s->seq != next_shared++;
		} else if (sscanf(s->stream, "u:w%d", &who) == 1 && who >= 0 && who < THREADS) {
			disorder += s->seq != next_own[who]++;
		} else {
			strays++;
		}
		const char *p = strstr(s->frame, "\"i\":");
		int iv = -1;
		if (!p || sscanf(p, "\"i\":%d", &iv) != 1 || iv % 10 == 7)
			strays++; /* not ours, or a rolled-back transaction's event */
	}
	CHECK(disorder == 0 && strays == 0 && overflow == 0);
	CHECK(next_shared - 1 == committed);
	for (int i = 0; i < THREADS; i++)
		CHECK(next_own[i] - 1 == w[i].committed);

	/* a replay gives exactly the frames that were delivered */
	static struct collected c;
	struct hub_pos pos;
	CHECK(hub_replay("t:shared", 0, THREADS * ROUNDS, collect, &c, &pos) == 0);
	CHECK(c.n == committed && pos.at == committed && pos.head == committed && !pos.more &&
	      !pos.resync);
	int differ = 0, k = 0;
	for (int i = 0; i < seen_count() && k < c.n; i++) {
		if (strcmp(seen[i].stream, "t:shared") != 0)
			continue;
		differ += c.seq[k] != seen[i].seq || strcmp(c.frame[k], seen[i].frame) != 0;
		k++;
	}
	CHECK(k == c.n && differ == 0);
	CHECK(c.n > 0 && valid_json(c.frame[0], strlen(c.frame[0])));
	collected_free(&c);
	seen_clear();
}

/* ---- replay --------------------------------------------------------------------------- */

static int stop_at_3(void *ctx, int64_t seq, const char *frame, size_t len)
{
	(void)frame;
	(void)len;
	int *n = ctx;
	(*n)++;
	return seq == 3 ? ERR_BUSY : 0;
}

static void test_replay(void)
{
	for (int i = 1; i <= 10; i++) {
		char data[32];
		int64_t seq;
		snprintf(data, sizeof data, "{\"n\":%d}", i);
		CHECK(user_event("cat", "x", data, &seq) == 0 && seq == i);
	}
	static struct collected c;
	struct hub_pos pos;
	CHECK(hub_replay("u:cat", 0, 100, collect, &c, &pos) == 0);
	CHECK(c.n == 10 && pos.at == 10 && pos.head == 10 && !pos.more && !pos.resync);
	CHECK_STR(c.frame[0], "{\"type\":\"x\",\"seq\":1,\"n\":1}");
	CHECK_STR(c.frame[9], "{\"type\":\"x\",\"seq\":10,\"n\":10}");
	collected_free(&c);

	/* a page at a time */
	CHECK(hub_replay("u:cat", 4, 3, collect, &c, &pos) == 0);
	CHECK(c.n == 3 && c.seq[0] == 5 && c.seq[2] == 7 && pos.at == 7 && pos.more && !pos.resync);
	collected_free(&c);
	CHECK(hub_replay("u:cat", 7, 3, collect, &c, &pos) == 0);
	CHECK(c.n == 3 && c.seq[0] == 8 && pos.at == 10 && !pos.more); /* exactly the rest */
	collected_free(&c);
	/* caught up; ahead of the head (another log's seq); an unknown stream */
	CHECK(hub_replay("u:cat", 10, 3, collect, &c, &pos) == 0);
	CHECK(c.n == 0 && pos.at == 10 && pos.head == 10 && !pos.more && !pos.resync);
	CHECK(hub_replay("u:cat", 11, 3, collect, &c, &pos) == 0);
	CHECK(c.n == 0 && pos.resync && pos.head == 10 && pos.at == 11);
	CHECK(hub_replay("u:nobody", 0, 3, collect, &c, &pos) == 0);
	CHECK(c.n == 0 && !pos.resync && pos.head == 0);
	CHECK(hub_replay("u:nobody", 5, 3, collect, &c, &pos) == 0);
	CHECK(c.n == 0 && pos.resync);
	/* the callback stops it */
	int calls = 0;
	CHECK(hub_replay("u:cat", 0, 100, stop_at_3, &calls, &pos) == ERR_BUSY);
	CHECK(calls == 3 && pos.at == 2);
	/* bad input */
	CHECK(hub_replay("x:cat", 0, 3, collect, &c, &pos) == ERR_INVAL);
	CHECK(hub_replay("cat", 0, 3, collect, &c, &pos) == ERR_INVAL);
	CHECK(hub_replay("u:", 0, 3, collect, &c, &pos) == ERR_INVAL);
	CHECK(hub_replay("u:cat", -1, 3, collect, &c, &pos) == ERR_INVAL);
	CHECK(hub_replay("u:cat", 0, 0, collect, &c, &pos) == ERR_INVAL);
	int64_t head;
	CHECK(hub_head("q:cat", &head) == ERR_INVAL);
	CHECK(c.n == 0);
	seen_clear();
}

/* ---- retention ------------------------------------------------------------------------ */

static void test_prune(void)
{
	long pruned = -1;
	/* everything so far goes (earlier tests' events): a clean slate to count on */
	CHECK(hub_prune(time_now_us() + 1000000, &pruned) == 0 && pruned > 0);
	CHECK(check_db_count(sql_events_all, "x") == 0);
	CHECK(check_db_count(sql_floor_of, "u:cat") == 10);

	/* five old events, then three newer than the cutoff */
	int64_t seq;
	for (int i = 1; i <= 5; i++)
		CHECK(user_event("dan", "x", "{}", &seq) == 0 && seq == i);
	usleep(5000);
	int64_t cutoff = time_now_us();
	usleep(5000);
	for (int i = 6; i <= 8; i++)
		CHECK(user_event("dan", "x", "{}", &seq) == 0 && seq == i);
	CHECK(hub_prune(cutoff, &pruned) == 0 && pruned == 5);
	CHECK(check_db_count(sql_floor_of, "u:dan") == 5 && check_db_count(sql_events_of, "u:dan") == 3);
	static struct collected c;
	struct hub_pos pos;
	CHECK(hub_replay("u:dan", 4, 100, collect, &c, &pos) == 0);
	CHECK(c.n == 0 && pos.resync && pos.head == 8); /* event 5 is gone */
	CHECK(hub_replay("u:dan", 0, 100, collect, &c, &pos) == 0);
	CHECK(c.n == 0 && pos.resync);
	CHECK(hub_replay("u:dan", 5, 100, collect, &c, &pos) == 0);
	CHECK(c.n == 3 && c.seq[0] == 6 && pos.at == 8 && !pos.resync);
	collected_free(&c);
	CHECK(hub_prune(cutoff, &pruned) == 0 && pruned == 0); /* nothing more that old */

	/* seq goes on after a prune; a stream pruned empty still knows its head */
	CHECK(user_event("dan", "x", "{}", &seq) == 0 && seq == 9);
	CHECK(hub_prune(time_now_us() + 1000000, &pruned) == 0 && pruned == 4);
	int64_t head;
	CHECK(hub_head("u:dan", &head) == 0 && head == 9);
	CHECK(hub_replay("u:dan", 9, 100, collect, &c, &pos) == 0 && c.n == 0 && !pos.resync);
	CHECK(hub_replay("u:dan", 8, 100, collect, &c, &pos) == 0 && c.n == 0 && pos.resync);
	CHECK(user_event("dan", "x", "{}", &seq) == 0 && seq == 10);

	/* many batches, several streams */
	CHECK(db_begin() == 0);
	int made = 0;
	for (int i = 0; i < 1234; i++) {
		const char *topic = i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c";
		made += hub_topic_event(topic, "x", "{}", NULL) == 0;
	}
	CHECK(db_commit() == 0 && made == 1234);
	CHECK(hub_prune(time_now_us() + 1000000, &pruned) == 0 && pruned == 1234 + 1);
	CHECK(check_db_count(sql_events_all, "x") == 0);
	CHECK(check_db_count(sql_floor_of, "t:a") == 412 && check_db_count(sql_floor_of, "t:c") == 411);
	seen_clear();
}

static void test_user_deleted(void)
{
	int64_t seq, head;
	CHECK(user_event("eve", "x", "{}", &seq) == 0);
	CHECK(user_event("fay", "x", "{}", &seq) == 0);
	CHECK(db_begin() == 0);
	CHECK(hub_user_deleted("eve") == 0);
	CHECK(db_commit() == 0);
	CHECK(check_db_count(sql_events_of, "u:eve") == 0 && check_db_count(sql_floor_of, "u:eve") == -1);
	CHECK(hub_head("u:eve", &head) == 0 && head == 0);
	CHECK(check_db_count(sql_events_of, "u:fay") == 1);
	seen_clear();
}

int main(void)
{
	check_db_open("hub", true);
	hub_set_sink(&sink);

	test_frames();
	test_rollback();
	test_signals();
	test_concurrent();
	test_replay();
	test_prune();
	test_user_deleted();

	hub_set_sink(NULL);
	check_db_close();
	return check_done("hub");
}
