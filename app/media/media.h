/* media/media.h: uploads stored content-addressed on disk (DIR/media/ab/cd/<sha256>),
 * served like a CDN would. The only header other domains may include from media/. */
#ifndef MEDIA_MEDIA_H
#define MEDIA_MEDIA_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "http/route.h"

/* an upload's form may be this much larger than MEDIA_MAX_BYTES (boundaries, part headers) */
#define MEDIA_FORM_OVERHEAD (64 * 1024)

extern const struct route_table media_routes;
/* Drop-in routes for the original backends' clients (the E2EE chat's POST /media/upload). */
extern const struct route_table media_compat_routes;

/* Creates DIR/media and its tmp/, and removes temporary files a crash left there. Before
 * the server starts (no upload can be in flight). */
WUR int media_init(const char *data_dir, struct buf *msg);
void media_shutdown(void);
/* The collector: a thread that, every MEDIA_GC_INTERVAL_S, deletes the files under
 * DIR/media no media row references and that are older than MEDIA_ORPHAN_AGE_S (an
 * account deletion leaves such files behind). After media_init; stop before media_shutdown. */
WUR int media_gc_start(void);
void media_gc_stop(void);
/* 0 when media_id names a media row that user_id owns, else ERR_NOTFOUND (or ERR_DB):
 * for other domains that attach media (avatars). */
int media_check_owner(const char *media_id, const char *user_id);

/* Inside the caller's open write transaction: deletes the user's media rows and gallery
 * items (files no row points at are collected later, elsewhere). */
WUR int media_user_deleted(const char *user_id);
/* Writes the member "media":{"files":[media objects],"gallery":[{id, media_id, caption,
 * created_at}]}. 0, ERR_NOMEM or ERR_DB. */
WUR int media_user_export(struct arena *a, struct jw *w, const char *user_id);

#endif
