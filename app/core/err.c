/* core/err.c: names for the error enum, for log lines. */
#include "core/err.h"

const char *err_str(int err)
{
	switch (err) {
	case ERR_OK: return "ok";
	case ERR_NOMEM: return "out of memory";
	case ERR_TOOBIG: return "too big";
	case ERR_INVAL: return "invalid input";
	case ERR_IO: return "i/o error";
	case ERR_DB: return "database error";
	case ERR_NOTFOUND: return "not found";
	case ERR_EXISTS: return "already exists";
	case ERR_BUSY: return "busy";
	case ERR_CRYPTO: return "crypto error";
	}
	return "unknown error";
}
