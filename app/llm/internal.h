/* llm/internal.h: what llm/'s files share; private to llm/. */
#ifndef LLM_INTERNAL_H
#define LLM_INTERNAL_H

#include "llm/llm.h"

/* Ends res with an error status, code and message. */
void llm_fail(struct llm_result *res, enum llm_status status, enum http_err code, const char *message);
/* The offline responder: a reply labelled as a demo, streamed word by word. */
void llm_demo(const struct llm_call *c, struct llm_result *res);
/* The same on the loop (http/loop.h timers): deltas to c->on_delta, then on_end(end_ctx, res)
 * once, unless cancelled. NULL when it could not start (*failed says why). */
struct demo_run;
struct demo_run *llm_demo_start(const struct llm_call *c, void (*on_end)(void *, const struct llm_result *),
                                void *end_ctx, struct llm_result *failed);
void llm_demo_cancel(struct demo_run *d);

#endif
