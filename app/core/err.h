/* core/err.h: the one error enum of the binary's internals (HTTP errors live in http/).
 * Functions that can fail return 0 or one of these negative values, nothing else. */
#ifndef CORE_ERR_H
#define CORE_ERR_H

enum {
	ERR_OK = 0,
	ERR_NOMEM = -1,    /* allocation failed */
	ERR_TOOBIG = -2,   /* a hard size limit was reached */
	ERR_INVAL = -3,    /* malformed input */
	ERR_IO = -4,       /* file or socket failure; errno tells more */
	ERR_DB = -5,       /* SQLite failure */
	ERR_NOTFOUND = -6, /* no such object */
	ERR_EXISTS = -7,   /* would duplicate an existing object */
	ERR_BUSY = -8,     /* resource held by someone else */
	ERR_CRYPTO = -9,   /* mbedTLS failure */
};

const char *err_str(int err);

#define WUR __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

#endif
