/* http/static.h: the embedded web app (web/), served from memory with ETag and 304. */
#ifndef HTTP_STATIC_H
#define HTTP_STATIC_H

#include "http/req.h"

/* Answers GET/HEAD for an embedded file; ERR_NOTFOUND (nothing answered) when no file has
 * that path. "/" is index.html and "/docs" is docs.html. */
int static_serve(struct req *r);
/* The policy sent with every page. */
extern const char static_csp[];

#endif
