/* llm/llm.h: one streamed completion from an OpenAI-compatible server (OpenAI, Ollama,
 * llama.cpp's server, vLLM), or from the built-in demo responder when LLM_BASE_URL is not
 * set. The caller gets the reply piece by piece as it arrives and may cancel at any time.
 * Nothing here knows about chats, users or storage. */
#ifndef LLM_LLM_H
#define LLM_LLM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/errors.h"

struct llm_msg {
	const char *role; /* "system", "user" or "assistant" */
	const char *content;
};

struct llm_call {
	const struct llm_msg *msgs;
	size_t nmsgs;
	const char *model; /* NULL: LLM_MODEL */
	/* Each piece of the reply as it arrives (valid UTF-8, n > 0). Non-zero cancels. */
	int (*on_delta)(void *ctx, const char *text, size_t n);
	void *ctx;
};

enum llm_status {
	LLM_OK = 0,
	LLM_CANCELLED,   /* on_delta asked to stop (or llm_cancel) */
	LLM_UNAVAILABLE, /* could not reach it, or the circuit is open: 503 */
	LLM_UPSTREAM,    /* it answered with an error or nonsense, or cut the stream: 502 */
	LLM_TIMEOUT,     /* it went silent for LLM_IDLE_TIMEOUT_MS: 504 */
};

struct llm_result {
	enum llm_status status;
	bool started;        /* at least one delta was delivered */
	bool demo;           /* the demo responder answered */
	long prompt_tokens;  /* from the upstream's usage (or estimated), -1 when unknown */
	long completion_tokens;
	enum http_err code;  /* for errors: the API error (its status agrees with status) */
	char message[256];   /* for errors: what went wrong, never a key or a body */
};

/* Runs the call to its end; *res says how it ended. Blocks the calling thread. After
 * libcurl's global set-up (main). */
void llm_complete(const struct llm_call *c, struct llm_result *res);

/* The same call without a thread: on the loop thread (http/loop.h), it starts c and returns;
 * the reply comes through c->on_delta on the loop thread, then
 * on_end(c->ctx, res) exactly once, unless llm_cancel came first. c, and everything it points
 * to, must stay valid until then (the struct itself is copied). NULL when it could not start
 * (on_end will not run; *failed says why). */
struct llm_run;
struct llm_run *llm_start(const struct llm_call *c, void (*on_end)(void *ctx, const struct llm_result *res),
                          struct llm_result *failed);
/* Stops a run without on_end. Loop thread, never from inside on_delta or on_end. */
void llm_cancel(struct llm_run *run);
/* res as a run the caller ended itself (LLM_CANCELLED), tokens unknown. */
void llm_cancelled(struct llm_result *res);

/* ---- the SSE reader (exposed for unit tests) ----------------------------------------- */
/* Server-Sent Events as bytes arrive in any pieces: each complete event's data (its data:
 * lines joined by \n) goes to on_event. Lines may end in \n, \r\n or \r. */
struct sse {
	struct buf line;
	struct buf data;
	bool has_data;
	bool cr; /* the last byte was \r: a following \n belongs to the same line end */
	int (*on_event)(void *ctx, const char *data, size_t n);
	void *ctx;
};
void sse_init(struct sse *s, int (*on_event)(void *, const char *, size_t), void *ctx);
/* 0, the first non-zero value on_event returned, or ERR_TOOBIG for a line or event over
 * 1 MiB. */
int sse_feed(struct sse *s, const char *p, size_t n);
void sse_free(struct sse *s);

#endif
