/* chat/chat.h: LLM chat sessions, streamed over Server-Sent Events. The only header other
 * domains may include from chat/. */
#ifndef CHAT_CHAT_H
#define CHAT_CHAT_H

#include "http/route.h"

extern const struct route_table chat_routes;

#endif
