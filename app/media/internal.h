/* media/internal.h: what media/'s files share; private to media/. */
#ifndef MEDIA_INTERNAL_H
#define MEDIA_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/json.h"
#include "core/uuid.h"
#include "http/req.h"

/* DIR/media, set by media_init. */
extern const char *media_root;
/* Held while a file may appear or go (upload's rename + insert, delete's row + unlink), so
 * a delete never removes a file an upload just shared. */
extern pthread_mutex_t media_files;

/* A media row; strings in the arena they were read into. */
struct media {
	const char *id, *owner_id, *sha256, *content_type, *original_name, *visibility, *created_at;
	long long size;
};

/* ---- store.c: rows and files. 0, ERR_NOTFOUND, ERR_DB, ERR_NOMEM ------------------ */
/* The row if viewer (NULL: anonymous) may read it. */
int media_readable(struct arena *a, const char *id, const char *viewer, struct media *m);
/* The most widely visible row with these bytes that viewer may read (/media/<path>). */
int media_readable_sha(struct arena *a, const char *sha, const char *viewer, struct media *m);
/* The row if owner owns it. */
int media_owned(struct arena *a, const char *id, const char *owner, struct media *m);
/* Moves the finished temporary file tmp to its place (or drops it when those bytes are
 * already stored) and inserts m in its own transaction, as one step against deletes (not
 * inside a caller's transaction). */
int media_store(struct arena *a, const char *tmp, const struct media *m);
/* Deletes the row (the caller's own, or any for an admin) and clears avatars that used it,
 * in its own transaction, then removes the file when no row points at it any more. */
int media_remove(struct arena *a, const char *id, const char *caller, bool admin);
/* False only when no media row has these bytes (an error reads as "in use": a lookup
 * that fails never costs a file). Under media_files when the answer decides an unlink. */
bool media_sha_in_use(const char *sha);
/* A gallery item with its media; strings in the arena they were read into. */
struct gallery_item {
	const char *id, *caption, *created_at;
	struct media media;
};
/* owner's gallery, newest first; all: private media too. out->items are struct gallery_item. */
int gallery_page(struct arena *a, const char *owner, bool all, const struct page *pg, struct page_out *out);
/* Inside the caller's transaction: g (its id, caption, created_at and media.id) into owner's
 * gallery. ERR_EXISTS when that media is in the gallery already. */
int gallery_insert(const struct gallery_item *g, const char *owner);
/* Inside the caller's transaction: owner's item whose id or media id is id. ERR_NOTFOUND
 * when owner has none. */
int gallery_delete(const char *owner, const char *id);
/* DIR/media/ab/cd/<sha> in a. */
char *media_path(struct arena *a, const char *sha);
/* The API's media object. */
void media_json(struct jw *w, const struct media *m);

/* ---- sniff.c ------------------------------------------------------------------------ */
/* The type of the bytes, from their first bytes (at most 512 are looked at). */
const char *media_sniff(const unsigned char *p, size_t n);
/* True for types a browser could run or render as a page: served as attachments. */
bool media_risky(const char *type);

/* ---- multipart.c: a streaming multipart/form-data reader (RFC 7578) ----------------- */
struct mp;
struct mp_part {
	char name[64];      /* the form field's name */
	char filename[256]; /* as sent, may be empty or hostile: only for display */
	bool has_filename;
};
/* Reads r's body, at most limit bytes of it; NULL (with *rc ERR_INVAL) when content_type is
 * not multipart/form-data with a usable boundary, or ERR_NOMEM. */
struct mp *mp_open(struct req *r, const char *content_type, long long limit, int *rc);
/* 1 and the next part's headers, 0 after the last part, ERR_INVAL when the body is
 * malformed or ends early, ERR_TOOBIG past the limit. Skips what is left of the current
 * part. */
int mp_next(struct mp *m, struct mp_part *p);
/* The next bytes of the current part: > 0 bytes at *data (valid until the next call),
 * 0 at its end, ERR_INVAL when the body ends early, ERR_TOOBIG past the limit. */
int mp_read(struct mp *m, const unsigned char **data);
void mp_close(struct mp *m);

/* ---- handlers ----------------------------------------------------------------------- */
int media_upload(struct req *r);
int media_get(struct req *r);
int media_get_path(struct req *r);
int media_delete(struct req *r);
int gallery_list(struct req *r);
int gallery_add(struct req *r);
int gallery_remove(struct req *r);
int gallery_of_user(struct req *r);

#endif
