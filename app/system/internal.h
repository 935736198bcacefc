/* system/internal.h: what system/'s files share; private to system/. */
#ifndef SYSTEM_INTERNAL_H
#define SYSTEM_INTERNAL_H

#include <stddef.h>

/* ---- store.c: 0 or ERR_DB (logged) ---------------------------------------------------- */
/* Records a boot in the instance row, creating it with new_id on the first one, and copies
 * the installation's id into out (cap bytes, NUL-terminated; ERR_DB when it does not fit). */
int system_instance_boot(const char *new_id, const char *now, char *out, size_t cap);
/* One cheap read that proves the database answers. */
int system_db_ping(void);

#endif
