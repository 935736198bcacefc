/* llm/demo.c: the offline stand-in for a language model, so the product can be shown with
 * no network: a reply that says plainly it is a demo, streamed a word at a time at a
 * reading pace (LLM_DEMO_DELAY_MS per word). Must never pretend to be a model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/json.h"
#include "http/loop.h"
#include "llm/internal.h"

/* The last user message, shortened to at most max bytes on a character boundary. */
static void quote_last(const struct llm_call *c, char *out, size_t max)
{
	const char *last = "";
	for (size_t i = 0; i < c->nmsgs; i++)
		if (strcmp(c->msgs[i].role, "user") == 0)
			last = c->msgs[i].content;
	size_t n = 0;
	for (const char *p = last; *p && n + 1 < max; p++)
		out[n++] = *p == '\n' || *p == '\r' ? ' ' : *p;
	while (n > 0 && utf8_check(out, n) != 0)
		n--; /* a cut multi-byte character */
	out[n] = '\0';
}

/* The demo's reply text into text, and its token estimate into res. */
static int demo_text(const struct llm_call *c, struct buf *text, struct llm_result *res)
{
	res->demo = true;
	char said[200];
	quote_last(c, said, sizeof said);
	if (buf_printf(text,
	               "[Demo reply: no language model is configured, so this answer is canned. Set "
	               "LLM_BASE_URL (and LLM_API_KEY, LLM_MODEL) to talk to OpenAI, Ollama, llama.cpp or "
	               "vLLM.] You wrote: \"%s\". In a real deployment the model would answer here, word "
	               "by word, exactly as this demo streams.",
	               said)) {
		llm_fail(res, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "out of memory for the demo reply");
		return ERR_NOMEM;
	}
	size_t prompt_chars = 0;
	for (size_t i = 0; i < c->nmsgs; i++)
		prompt_chars += strlen(c->msgs[i].content);
	res->prompt_tokens = (long)(prompt_chars / 4 + 1);
	res->completion_tokens = 0;
	return 0;
}

/* The next word of p, with its following space. */
static size_t word_len(const char *p)
{
	size_t n = strcspn(p, " ");
	return n + (p[n] == ' ');
}

void llm_demo(const struct llm_call *c, struct llm_result *res)
{
	struct buf text = BUF_INIT(4096);
	if (demo_text(c, &text, res)) {
		buf_free(&text);
		return;
	}
	long delay = (long)config_int("LLM_DEMO_DELAY_MS");
	const char *p = buf_str(&text);
	while (*p) {
		size_t n = word_len(p);
		struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
		if (delay)
			nanosleep(&ts, NULL);
		if (c->on_delta(c->ctx, p, n) != 0) {
			llm_fail(res, LLM_CANCELLED, E_CANCELLED, "the caller went away");
			break;
		}
		res->started = true;
		res->completion_tokens++;
		p += n;
	}
	buf_free(&text);
}

/* The demo on the loop: one timer per word instead of a sleeping thread. Owned by its timer
 * (the run frees itself at its end, or at the first tick after llm_demo_cancel). */
struct demo_run {
	struct loop_post tick;
	struct llm_call c;
	void (*on_end)(void *ctx, const struct llm_result *res);
	void *end_ctx;
	struct llm_result res;
	struct buf text;
	size_t at;
	int delay_ms;
	bool cancelled;
};

static void demo_end(struct demo_run *d)
{
	if (!d->cancelled)
		d->on_end(d->end_ctx, &d->res);
	buf_free(&d->text);
	free(d);
}

static void demo_tick(struct loop_post *p)
{
	struct demo_run *d = (struct demo_run *)p;
	const char *w = buf_str(&d->text) + d->at;
	if (d->cancelled || !*w) {
		demo_end(d);
		return;
	}
	size_t n = word_len(w);
	if (d->c.on_delta(d->c.ctx, w, n) != 0) {
		llm_fail(&d->res, LLM_CANCELLED, E_CANCELLED, "the caller went away");
		demo_end(d);
		return;
	}
	d->res.started = true;
	d->res.completion_tokens++;
	d->at += n;
	if (!loop_running() || loop_timer(d->at < d->text.len ? d->delay_ms : 0, &d->tick) != 0)
		demo_end(d);
}

struct demo_run *llm_demo_start(const struct llm_call *c, void (*on_end)(void *, const struct llm_result *),
                                void *end_ctx, struct llm_result *failed)
{
	struct demo_run *d = calloc(1, sizeof *d);
	if (!d) {
		llm_fail(failed, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "out of memory for the demo reply");
		return NULL;
	}
	d->tick.run = demo_tick;
	d->c = *c;
	d->on_end = on_end;
	d->end_ctx = end_ctx;
	d->res.prompt_tokens = d->res.completion_tokens = -1;
	d->delay_ms = (int)config_int("LLM_DEMO_DELAY_MS");
	buf_init(&d->text, 4096);
	if (demo_text(c, &d->text, &d->res) || loop_timer(d->delay_ms, &d->tick) != 0) {
		*failed = d->res;
		if (failed->status == LLM_OK)
			llm_fail(failed, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "the demo reply could not start");
		buf_free(&d->text);
		free(d);
		return NULL;
	}
	return d;
}

void llm_demo_cancel(struct demo_run *d)
{
	d->cancelled = true; /* its pending tick frees it */
}
