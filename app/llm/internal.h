/* llm/internal.h: what llm/'s files share; private to llm/. */
#ifndef LLM_INTERNAL_H
#define LLM_INTERNAL_H

#include "llm/llm.h"

/* Ends res with an error status, code and message. */
void llm_fail(struct llm_result *res, enum llm_status status, enum http_err code, const char *message);
/* The offline responder: a reply labelled as a demo, streamed word by word. */
void llm_demo(const struct llm_call *c, struct llm_result *res);

#endif
