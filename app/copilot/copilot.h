/* copilot/copilot.h: the financial-advice copilot (a RAG service and a portfolio optimiser,
 * or the LLM and a built-in allocation without them). The only header other domains may
 * include from copilot/. */
#ifndef COPILOT_COPILOT_H
#define COPILOT_COPILOT_H

#include "http/route.h"

extern const struct route_table copilot_routes;

#endif
