/* core/datadir.h: the data directory: created 0700, locked so that one process owns it,
 * and home of secret.key. Everything the appliance keeps lives below it. */
#ifndef CORE_DATADIR_H
#define CORE_DATADIR_H

#include <stddef.h>

#include "core/buf.h"

#define SECRET_KEY_BYTES 32

/* Creates dir (mode 0700) when missing and checks that it is a usable directory. */
WUR int datadir_prepare(const char *dir, struct buf *msg);
/* Takes the exclusive lock on dir/app.lock for the life of the process. ERR_BUSY with a
 * message naming the holder's pid when another process has it. */
WUR int datadir_lock(const char *dir, struct buf *msg);
void datadir_unlock(void);
/* The lock holder (a running server) notes the address it serves on in the lock file, so
 * that commands run beside it (app admin create) print links that reach it. */
void datadir_note_url(const char *url);
/* The address a running server on dir noted, in out; ERR_NOTFOUND when none. */
int datadir_server_url(const char *dir, struct buf *out);
/* Loads dir/secret.key, creating it (CTR-DRBG bytes, mode 0600) on first boot. The key
 * stays in memory until datadir_forget. */
WUR int datadir_secret(const char *dir, struct buf *msg);
const unsigned char *datadir_key(size_t *len);
void datadir_forget(void);
/* dir/name in an allocated string (free it), or NULL. */
char *datadir_path(const char *dir, const char *name);

#endif
