/* chat/exchange.c: one turn of a chat. The user's message is stored before the model is
 * called; the reply is streamed to the client as Server-Sent Events (or gathered for a
 * JSON answer) and stored when the stream ends, as incomplete when it was cut short. A
 * client that goes away cancels the model call within a second. */
#include <stdatomic.h>
#include <string.h>

#include "chat/internal.h"
#include "core/config.h"
#include "core/log.h"
#include "core/time.h"

/* While the model is silent, a comment goes to the client this often: a write to a closed
 * connection fails by the second one, which is how a departed client is noticed. */
#define PROBE_US 250000

/* Each turn holds a worker thread for as long as the model talks. Past this many at once,
 * new ones get 503 so that the threads left can still answer everything else. */
static atomic_int turns;

static int turns_max(void)
{
	long long threads = config_int("APP_THREADS");
	long long reserve = threads / 8 > 4 ? threads / 8 : 4;
	return (int)(threads - reserve > 1 ? threads - reserve : 1);
}

struct turn {
	struct req *r;
	enum reply_mode mode;
	struct buf reply;
	int64_t last_write_us;
	bool gone; /* the client closed the connection */
};

/* One SSE event: "event: NAME\ndata: JSON\n\n" as one chunk. */
static int send_event(struct turn *t, const char *name, struct buf *json)
{
	struct buf e = BUF_INIT(json->len + 64);
	int rc = buf_printf(&e, "event: %s\ndata: ", name) || buf_add(&e, json->ptr, json->len) ||
	                 buf_adds(&e, "\n\n")
	             ? ERR_NOMEM
	             : res_stream_write(t->r, e.ptr, e.len);
	buf_free(&e);
	t->last_write_us = time_mono_us();
	if (rc == ERR_IO)
		t->gone = true;
	return rc;
}

static int on_delta(void *ctx, const char *text, size_t n)
{
	struct turn *t = ctx;
	if (buf_add(&t->reply, text, n))
		return 1; /* over the reply limit: stop the model */
	if (t->mode != REPLY_SSE)
		return 0;
	struct buf j = BUF_INIT(n * 6 + 64);
	struct jw w;
	jw_init(&w, &j);
	jw_obj(&w);
	jw_key(&w, "text");
	jw_strn(&w, text, n);
	jw_obj_end(&w);
	int rc = jw_finish(&w) ? ERR_NOMEM : send_event(t, "delta", &j);
	buf_free(&j);
	return rc != 0;
}

static int on_tick(void *ctx)
{
	struct turn *t = ctx;
	if (t->mode != REPLY_SSE || t->gone)
		return t->gone;
	if (time_mono_us() - t->last_write_us < PROBE_US)
		return 0;
	t->last_write_us = time_mono_us();
	if (res_stream_write(t->r, ":\n", 2) != 0)
		t->gone = true;
	return t->gone;
}

/* Starts an event's JSON object in b. */
static void event_begin(struct buf *b, struct jw *w)
{
	buf_init(b, 1 << 20);
	jw_init(w, b);
	jw_obj(w);
}

static void send_user_event(struct turn *t, const struct chat_msg *m)
{
	struct buf b;
	struct jw w;
	event_begin(&b, &w);
	jw_kstr(&w, "id", m->id);
	jw_kstr(&w, "role", "user");
	jw_kstr(&w, "chat_id", m->chat_id);
	jw_kstr(&w, "content", m->content);
	jw_obj_end(&w);
	if (jw_finish(&w) == 0)
		send_event(t, "message", &b);
	buf_free(&b);
}

static void send_end_event(struct turn *t, const struct llm_result *res, const struct chat_msg *reply)
{
	struct buf b;
	struct jw w;
	event_begin(&b, &w);
	if (res->status == LLM_OK) {
		jw_kstr(&w, "message_id", reply->id);
		jw_key(&w, "usage");
		jw_obj(&w);
		jw_kint(&w, "prompt_tokens", res->prompt_tokens >= 0 ? res->prompt_tokens : 0);
		jw_kint(&w, "completion_tokens", res->completion_tokens >= 0 ? res->completion_tokens : 0);
		jw_obj_end(&w);
		jw_kbool(&w, "demo", res->demo);
	} else {
		jw_kstr(&w, "code", http_err_info(res->code)->code);
		jw_kstr(&w, "message", res->message);
		jw_kstr(&w, "message_id", reply ? reply->id : NULL); /* the partial reply, kept */
	}
	jw_obj_end(&w);
	if (jw_finish(&w) == 0)
		send_event(t, res->status == LLM_OK ? "done" : "error", &b);
	buf_free(&b);
}

static int exchange(struct req *r, const struct chat *c, const char *content, enum reply_mode mode);

int chat_exchange(struct req *r, const struct chat *c, const char *content, enum reply_mode mode)
{
	if (c->archived_at)
		return http_error(r, E_CONFLICT, "this chat is archived; unarchive it to continue", NULL);
	if (atomic_fetch_add(&turns, 1) >= turns_max()) {
		atomic_fetch_sub(&turns, 1);
		res_header(r, "Retry-After", "5");
		return http_error(r, E_UNAVAILABLE, "too many replies are streaming; try again in a few seconds", NULL);
	}
	int rc = exchange(r, c, content, mode);
	atomic_fetch_sub(&turns, 1);
	return rc;
}

static int exchange(struct req *r, const struct chat *c, const char *content, enum reply_mode mode)
{
	struct chat_msg user = {.chat_id = c->id, .role = "user", .content = content, .status = "complete",
	                        .prompt_tokens = -1, .completion_tokens = -1};
	int rc = chat_msg_insert(&r->arena, r->user_id, &user);
	if (rc == ERR_BUSY) {
		res_header(r, "Retry-After", "3600");
		return http_error(r, E_QUOTA_EXCEEDED, "today's chat messages are used up (CHAT_DAILY_LIMIT)", NULL);
	}
	struct llm_msg *history = NULL;
	size_t n = 0;
	if (rc || (rc = chat_history(&r->arena, c->id, (int)config_int("LLM_CONTEXT_MESSAGES"), &history, &n)))
		return rc;
	struct llm_msg *msgs = arena_alloc(&r->arena, sizeof *msgs * (n + 1));
	if (!msgs)
		return ERR_NOMEM;
	size_t k = 0;
	if (c->system_prompt && *c->system_prompt)
		msgs[k++] = (struct llm_msg){"system", c->system_prompt};
	memcpy(msgs + k, history, sizeof *msgs * n);
	k += n;

	/* the reply's place in the history is when it starts, not when it ends */
	struct chat_msg reply = {.chat_id = c->id, .role = "assistant"};
	if (chat_msg_stamp(&r->arena, &reply))
		return ERR_NOMEM;
	struct turn t = {.r = r, .mode = mode, .last_write_us = time_mono_us()};
	buf_init(&t.reply, 4 * 1024 * 1024);
	if (mode == REPLY_SSE) {
		res_header(r, "X-Accel-Buffering", "no");
		if (res_stream_start(r, 200, "text/event-stream; charset=utf-8") != 0)
			t.gone = true;
		else
			send_user_event(&t, &user);
	}
	struct llm_call call = {msgs, k, c->model, on_delta, on_tick, &t};
	struct llm_result res;
	if (t.gone)
		memset(&res, 0, sizeof res), res.status = LLM_CANCELLED;
	else
		llm_complete(&call, &res);

	/* the reply, whole or not, is kept */
	reply.content = buf_str(&t.reply);
	reply.status = res.status == LLM_OK ? "complete" : "incomplete";
	reply.prompt_tokens = res.prompt_tokens;
	reply.completion_tokens = res.completion_tokens;
	bool stored = (t.reply.len > 0 || res.status == LLM_OK) && chat_msg_insert(&r->arena, r->user_id, &reply) == 0;
	if (stored || res.status == LLM_OK)
		(void)chat_touch(c->id, content);
	if (res.status != LLM_OK && res.status != LLM_CANCELLED)
		log_warn("chat reply failed", "code", http_err_info(res.code)->code, NULL);

	if (mode == REPLY_SSE) {
		if (!t.gone) {
			send_end_event(&t, &res, stored ? &reply : NULL);
			res_stream_end(r);
		}
		buf_free(&t.reply);
		return 0;
	}
	if (res.status != LLM_OK) {
		buf_free(&t.reply);
		return http_error(r, res.code, res.message, NULL);
	}
	struct jw w;
	res_json(r, mode == REPLY_COMPAT ? 200 : 201, &w);
	jw_obj(&w);
	if (mode == REPLY_COMPAT) {
		jw_kstr(&w, "thread_id", c->id);
		jw_kstr(&w, "text", buf_str(&t.reply));
	} else {
		jw_key(&w, "user_message");
		chat_msg_json(&w, &user);
		jw_key(&w, "message");
		chat_msg_json(&w, &reply);
		jw_kbool(&w, "demo", res.demo);
	}
	jw_obj_end(&w);
	rc = res_end(r, &w);
	buf_free(&t.reply);
	return rc;
}
