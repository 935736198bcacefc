/* chat/exchange.c: one turn of a chat. The user's message is stored before the model is
 * called; the reply is streamed to the client as Server-Sent Events (or gathered for a
 * JSON answer) and stored when the stream ends, as incomplete when it was cut short. A
 * client that goes away cancels the model call. A streamed reply holds no thread while the
 * model talks: it runs on the event loop (http/loop.h) and is stored on its task thread. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "chat/internal.h"
#include "core/config.h"
#include "core/log.h"
#include "http/live.h"
#include "http/loop.h"

/* A JSON turn holds a worker thread for as long as the model talks. Past this many at once,
 * new ones get 503 so that the threads left can still answer everything else. (Streamed
 * turns run on the loop and are bounded by CONN_MAX instead.) */
static atomic_int turns;

static int turns_max(void)
{
	long long threads = config_int("APP_THREADS");
	long long reserve = threads / 8 > 4 ? threads / 8 : 4;
	return (int)(threads - reserve > 1 ? threads - reserve : 1);
}

/* One SSE event, "event: NAME\ndata: JSON\n\n", into e. */
static int event_bytes(struct buf *e, const char *name, const struct buf *json)
{
	return buf_printf(e, "event: %s\ndata: ", name) || buf_add(e, json->ptr, json->len) || buf_adds(e, "\n\n")
	           ? ERR_NOMEM
	           : 0;
}

/* {"text": the piece} */
static int delta_json(struct buf *j, const char *text, size_t n)
{
	struct jw w;
	jw_init(&w, j);
	jw_obj(&w);
	jw_key(&w, "text");
	jw_strn(&w, text, n);
	jw_obj_end(&w);
	return jw_finish(&w);
}

/* A JSON turn gathers the reply on its worker. */
static int on_delta(void *ctx, const char *text, size_t n)
{
	return buf_add(ctx, text, n) != 0; /* over the reply limit: stop the model */
}

/* Starts an event's JSON object in b. */
static void event_begin(struct buf *b, struct jw *w)
{
	buf_init(b, 1 << 20);
	jw_init(w, b);
	jw_obj(w);
}

/* The stream's first event, from the worker: the stored user message. */
static void send_user_event(struct req *r, const struct chat_msg *m)
{
	struct buf b;
	struct jw w;
	event_begin(&b, &w);
	jw_kstr(&w, "id", m->id);
	jw_kstr(&w, "role", "user");
	jw_kstr(&w, "chat_id", m->chat_id);
	jw_kstr(&w, "content", m->content);
	jw_obj_end(&w);
	struct buf e = BUF_INIT(2 << 20);
	if (jw_finish(&w) == 0 && event_bytes(&e, "message", &b) == 0)
		(void)res_stream_write(r, e.ptr, e.len); /* a failure shows on the loop as a closed socket */
	buf_free(&e);
	buf_free(&b);
}

/* The closing event, "done" or "error", as bytes of the stream into e. */
static int end_event(struct buf *e, const struct llm_result *res, const struct chat_msg *reply)
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
	int rc = jw_finish(&w) ? ERR_NOMEM : event_bytes(e, res->status == LLM_OK ? "done" : "error", &b);
	buf_free(&b);
	return rc;
}

static int exchange(struct req *r, const struct chat *c, const char *content, enum reply_mode mode);

#define REPLY_MAX (4 * 1024 * 1024)

/* A streamed turn: built on the worker, run on the loop (the model's pieces go out as they
 * come), stored on the loop's task thread, finished on the loop. Owned by the connection and
 * the pipeline together: freed when both are done (conn_alive false and pipeline_done). */
struct stream_turn {
	struct loop_post post; /* reused for each hop */
	struct arena arena;    /* everything below that points somewhere points here */
	void *block;           /* the arena's one block, sized for what is copied */
	uint64_t live_id;
	struct llm_run *run;
	struct llm_call call;
	struct llm_result res;
	struct buf reply;
	struct chat_msg msg; /* the assistant's */
	const char *user_id, *chat_id, *content;
	bool stored, conn_alive, pipeline_done;
};

static void turn_free(struct stream_turn *st)
{
	buf_free(&st->reply);
	arena_free(&st->arena);
	free(st->block);
	free(st);
}

static void turn_store(struct loop_post *p);

/* The model is done (or could not start, or the client left): the reply goes to the task
 * thread to be stored. */
static void turn_ended(struct stream_turn *st)
{
	st->run = NULL;
	st->post.run = turn_store;
	loop_task(&st->post);
}

static void turn_end(void *ctx, const struct llm_result *res)
{
	struct stream_turn *st = ctx;
	st->res = *res;
	turn_ended(st);
}

static int turn_delta(void *ctx, const char *text, size_t n)
{
	struct stream_turn *st = ctx;
	struct live *l = live_get(st->live_id);
	if (!l || buf_add(&st->reply, text, n))
		return 1; /* the client left, or the reply is over its limit: stop the model */
	struct buf j = BUF_INIT(n * 6 + 64), e = BUF_INIT(n * 6 + 128);
	if (delta_json(&j, text, n) == 0 && event_bytes(&e, "delta", &j) == 0)
		live_frame(l, 0, e.ptr, e.len);
	buf_free(&j);
	buf_free(&e);
	return 0;
}

static void turn_finish(struct loop_post *p)
{
	struct stream_turn *st = (struct stream_turn *)p;
	st->pipeline_done = true;
	struct live *l = st->conn_alive ? live_get(st->live_id) : NULL;
	if (l) {
		struct buf e = BUF_INIT(1 << 20);
		if (end_event(&e, &st->res, st->stored ? &st->msg : NULL) == 0)
			live_frame(l, 0, e.ptr, e.len);
		buf_free(&e);
		live_close(l, 0, NULL); /* the chunked body's end; on_close frees st */
	} else if (!st->conn_alive) {
		turn_free(st);
	}
}

static void turn_store(struct loop_post *p)
{
	struct stream_turn *st = (struct stream_turn *)p;
	st->msg.content = buf_str(&st->reply);
	st->msg.status = st->res.status == LLM_OK ? "complete" : "incomplete";
	st->msg.prompt_tokens = st->res.prompt_tokens;
	st->msg.completion_tokens = st->res.completion_tokens;
	st->stored = (st->reply.len > 0 || st->res.status == LLM_OK) &&
	             chat_msg_insert(&st->arena, st->user_id, &st->msg, st->content) == 0;
	if (st->res.status != LLM_OK && st->res.status != LLM_CANCELLED)
		log_warn("chat reply failed", "code", http_err_info(st->res.code)->code, NULL);
	st->post.run = turn_finish;
	loop_post(&st->post);
}

static void turn_start(struct loop_post *p)
{
	struct stream_turn *st = (struct stream_turn *)p;
	if (!st->conn_alive || !loop_running()) {
		llm_cancelled(&st->res);
		turn_ended(st);
		return;
	}
	st->run = llm_start(&st->call, turn_end, &st->res);
	if (!st->run)
		turn_ended(st);
}

static void turn_closed(struct live *l)
{
	struct stream_turn *st = live_user(l);
	st->conn_alive = false;
	if (st->run) { /* the client left mid-reply: what came so far is kept */
		llm_cancel(st->run);
		llm_cancelled(&st->res);
		turn_ended(st);
	} else if (st->pipeline_done) {
		turn_free(st);
	}
}

static const struct live_ops turn_ops = {.on_close = turn_closed};

/* Moves the rest of the turn onto the loop: the model call, then the reply stored. What it
 * needs from r is copied, for r ends when the handler returns. */
static int stream_on_loop(struct req *r, const struct chat *c, const char *content,
                          const struct llm_msg *msgs, size_t k, const struct chat_msg *reply)
{
	struct stream_turn *st = calloc(1, sizeof *st);
	if (!st)
		return 0;
	/* one block of the right size (thousands stream at once: an arena's usual 8 KiB each adds up) */
	size_t need = 512 + sizeof(struct llm_msg) * (k + 1) + strlen(content) + strlen(r->user_id) +
	              strlen(c->id) + strlen(reply->id) + strlen(reply->created_at) + (c->model ? strlen(c->model) : 0);
	for (size_t i = 0; i < k; i++)
		need += strlen(msgs[i].content) + 32;
	st->block = malloc(need);
	arena_init(&st->arena, 64u << 20, st->block, st->block ? need : 0);
	buf_init(&st->reply, REPLY_MAX);
	struct llm_msg *copy = arena_alloc(&st->arena, sizeof *copy * (k ? k : 1));
	bool ok = copy != NULL;
	for (size_t i = 0; ok && i < k; i++) {
		copy[i].role = msgs[i].role; /* static strings */
		ok = (copy[i].content = arena_strdup(&st->arena, msgs[i].content)) != NULL;
	}
	st->msg = *reply;
	ok = ok && (st->user_id = arena_strdup(&st->arena, r->user_id)) &&
	     (st->chat_id = arena_strdup(&st->arena, c->id)) && (st->content = arena_strdup(&st->arena, content)) &&
	     (st->msg.id = arena_strdup(&st->arena, reply->id)) &&
	     (st->msg.created_at = arena_strdup(&st->arena, reply->created_at));
	const char *model = ok && c->model ? arena_strdup(&st->arena, c->model) : NULL;
	st->msg.chat_id = st->chat_id;
	st->call = (struct llm_call){copy, k, model, turn_delta, st};
	st->conn_alive = true;
	if (!ok || !(st->live_id = live_open(r, LIVE_STREAM, NULL, NULL, &turn_ops, st, NULL, 0))) {
		turn_free(st);
		return 0;
	}
	st->post.run = turn_start;
	loop_post(&st->post);
	return 0;
}

int chat_exchange(struct req *r, const struct chat *c, const char *content, enum reply_mode mode)
{
	if (c->archived_at)
		return http_error(r, E_CONFLICT, "this chat is archived; unarchive it to continue", NULL);
	if (mode == REPLY_SSE)
		return exchange(r, c, content, mode);
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
	int rc = chat_msg_insert(&r->arena, r->user_id, &user, NULL);
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
	if (mode == REPLY_SSE) {
		res_header(r, "X-Accel-Buffering", "no");
		if (res_stream_start(r, 200, "text/event-stream; charset=utf-8") != 0)
			return 0;
		send_user_event(r, &user);
		return stream_on_loop(r, c, content, msgs, k, &reply);
	}
	struct buf text = BUF_INIT(REPLY_MAX);
	struct llm_call call = {msgs, k, c->model, on_delta, &text};
	struct llm_result res;
	llm_complete(&call, &res);

	/* the reply, whole or not, is kept */
	reply.content = buf_str(&text);
	reply.status = res.status == LLM_OK ? "complete" : "incomplete";
	reply.prompt_tokens = res.prompt_tokens;
	reply.completion_tokens = res.completion_tokens;
	if (text.len > 0 || res.status == LLM_OK)
		(void)chat_msg_insert(&r->arena, r->user_id, &reply, content);
	if (res.status != LLM_OK && res.status != LLM_CANCELLED)
		log_warn("chat reply failed", "code", http_err_info(res.code)->code, NULL);

	if (res.status != LLM_OK) {
		buf_free(&text);
		return http_error(r, res.code, res.message, NULL);
	}
	struct jw w;
	res_json(r, mode == REPLY_COMPAT ? 200 : 201, &w);
	jw_obj(&w);
	if (mode == REPLY_COMPAT) {
		jw_kstr(&w, "thread_id", c->id);
		jw_kstr(&w, "text", buf_str(&text));
	} else {
		jw_key(&w, "user_message");
		chat_msg_json(&w, &user);
		jw_key(&w, "message");
		chat_msg_json(&w, &reply);
		jw_kbool(&w, "demo", res.demo);
	}
	jw_obj_end(&w);
	rc = res_end(r, &w);
	buf_free(&text);
	return rc;
}
