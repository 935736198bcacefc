/* llm/demo.c: the offline stand-in for a language model, so the product can be shown with
 * no network: a reply that says plainly it is a demo, streamed a word at a time at a
 * reading pace (LLM_DEMO_DELAY_MS per word). Must never pretend to be a model. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/json.h"
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

void llm_demo(const struct llm_call *c, struct llm_result *res)
{
	res->demo = true;
	char said[200];
	quote_last(c, said, sizeof said);
	struct buf text = BUF_INIT(4096);
	if (buf_printf(&text,
	               "[Demo reply: no language model is configured, so this answer is canned. Set "
	               "LLM_BASE_URL (and LLM_API_KEY, LLM_MODEL) to talk to OpenAI, Ollama, llama.cpp or "
	               "vLLM.] You wrote: \"%s\". In a real deployment the model would answer here, word "
	               "by word, exactly as this demo streams.",
	               said)) {
		buf_free(&text);
		llm_fail(res, LLM_UNAVAILABLE, E_LLM_UNAVAILABLE, "out of memory for the demo reply");
		return;
	}
	long delay = (long)config_int("LLM_DEMO_DELAY_MS");
	size_t prompt_chars = 0;
	for (size_t i = 0; i < c->nmsgs; i++)
		prompt_chars += strlen(c->msgs[i].content);
	res->prompt_tokens = (long)(prompt_chars / 4 + 1);
	res->completion_tokens = 0;
	const char *p = buf_str(&text);
	while (*p) {
		size_t n = strcspn(p, " ");
		n += p[n] == ' '; /* each word with its following space */
		struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
		if (delay)
			nanosleep(&ts, NULL);
		if ((c->on_tick && c->on_tick(c->ctx) != 0) || c->on_delta(c->ctx, p, n) != 0) {
			llm_fail(res, LLM_CANCELLED, E_CANCELLED, "the caller went away");
			break;
		}
		res->started = true;
		res->completion_tokens++;
		p += n;
	}
	buf_free(&text);
}
