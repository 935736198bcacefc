/* media/store.c: where media lives: the files under DIR/media and every SQL statement on
 * the media and gallery_items tables, through store/db.h's engine-neutral calls only. Must
 * never build SQL from values, and must never let a file go while a row still points at it
 * (media_files orders uploads and deletes). Avatars and contacts are asked of users.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "media/internal.h"
#include "media/media.h"
#include "store/db.h"
#include "users/users.h"

const char *media_root;
pthread_mutex_t media_files = PTHREAD_MUTEX_INITIALIZER;

/* Column 0 is the id: the cursor of a page of media. */
#define MEDIA_COLUMNS "m.id, m.owner_id, m.sha256, m.size, m.content_type, m.original_name, m.visibility, m.created_at"

static const char sql_any[] = "SELECT " MEDIA_COLUMNS " FROM media m WHERE m.id = ?1";
static const char sql_owned[] = "SELECT " MEDIA_COLUMNS " FROM media m WHERE m.id = ?1 AND m.owner_id = ?2";
static const char sql_public_sha[] =
	"SELECT " MEDIA_COLUMNS " FROM media m WHERE m.sha256 = ?1 AND m.visibility = 'public' LIMIT 1";
static const char sql_owned_sha[] =
	"SELECT " MEDIA_COLUMNS " FROM media m WHERE m.sha256 = ?1 AND m.owner_id = ?2 LIMIT 1";
static const char sql_sha_page[] =
	"SELECT " MEDIA_COLUMNS " FROM media m WHERE m.sha256 = ?1 AND (?2 IS NULL OR m.id > ?2) ORDER BY m.id LIMIT ?3";
static const char sql_gallery_owner[] = "SELECT owner_id FROM gallery_items WHERE media_id = ?1";
static const char sql_insert[] =
	"INSERT INTO media(id, owner_id, sha256, size, content_type, original_name, visibility, created_at)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char sql_delete[] = "DELETE FROM media WHERE id = ?1";
static const char sql_sha_used[] = "SELECT 1 FROM media WHERE sha256 = ?1 LIMIT 1";

static const char sql_gallery_page[] =
	"SELECT g.id, g.caption, g.created_at, " MEDIA_COLUMNS
	" FROM gallery_items g JOIN media m ON m.id = g.media_id"
	" WHERE g.owner_id = ?1 AND (?2 IS NULL OR g.id < ?2) AND (?4 = 1 OR m.visibility = 'public')"
	" ORDER BY g.id DESC LIMIT ?3";
static const char sql_gallery_insert[] =
	"INSERT INTO gallery_items(id, owner_id, media_id, caption, created_at) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char sql_gallery_delete[] = "DELETE FROM gallery_items WHERE owner_id = ?1 AND (id = ?2 OR media_id = ?2)";

/* account deletion and export */
static const char sql_gallery_of_user[] = "DELETE FROM gallery_items WHERE owner_id = ?1";
static const char sql_media_of_user[] = "DELETE FROM media WHERE owner_id = ?1";
static const char sql_media_export[] = "SELECT " MEDIA_COLUMNS " FROM media m WHERE m.owner_id = ?1 ORDER BY m.id";
static const char sql_gallery_export[] =
	"SELECT id, media_id, caption, created_at FROM gallery_items WHERE owner_id = ?1 ORDER BY id";

/* Fills m from the current row's MEDIA_COLUMNS, which start at column first. */
static int media_fill(struct arena *a, db_stmt *st, int first, struct media *m)
{
	const char **text[] = {&m->id, &m->owner_id, &m->sha256, NULL, &m->content_type,
	                       &m->original_name, &m->visibility, &m->created_at};
	for (int i = 0; i < 8; i++)
		if (text[i] && !(*text[i] = db_text(a, st, first + i)))
			return ERR_NOMEM;
	m->size = db_col_int(st, first + 3);
	return 0;
}

/* db_page's and db_one's row reader for media */
static int media_row(struct arena *a, db_stmt *st, void *item)
{
	return media_fill(a, st, 0, item);
}

/* Runs a statement bound with key (?1) and, when the SQL has it, owner (?2) and fills m. */
static int lookup(struct arena *a, const char *sql, const char *key, const char *owner, struct media *m)
{
	db_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, key);
	if (owner)
		db_bind_text(st, 2, owner);
	return db_one(a, st, media_row, m, "media lookup");
}

/* Who may read a row (viewer NULL: anonymous): public media, the owner, anyone for an
 * avatar (it is part of the public card), and the owner's contacts for gallery items.
 * Failures read as "no": a lookup that fails never shows more. */
static bool may_read(struct arena *a, const struct media *m, const char *viewer)
{
	if (strcmp(m->visibility, "public") == 0 || (viewer && strcmp(m->owner_id, viewer) == 0))
		return true;
	if (users_avatar_in_use(m->id))
		return true;
	if (!viewer)
		return false;
	const char *gallery_owner = NULL;
	const char **cols[] = {&gallery_owner};
	return db_row(a, sql_gallery_owner, "gallery owner", 1, &m->id, cols, 1) == 0 && gallery_owner &&
	       contacts_linked(gallery_owner, viewer);
}

int media_readable(struct arena *a, const char *id, const char *viewer, struct media *m)
{
	int rc = uuid_check(id) ? ERR_NOTFOUND : lookup(a, sql_any, id, NULL, m);
	return rc == 0 && !may_read(a, m, viewer) ? ERR_NOTFOUND : rc;
}

int media_readable_sha(struct arena *a, const char *sha, const char *viewer, struct media *m)
{
	/* the most widely visible first: a public row, then the viewer's own */
	int rc = lookup(a, sql_public_sha, sha, NULL, m);
	if (rc == ERR_NOTFOUND && viewer)
		rc = lookup(a, sql_owned_sha, sha, viewer, m);
	/* then any row the viewer may read as an avatar or a contact's gallery item */
	struct page pg = {.limit = 32, .cursor = NULL};
	while (rc == ERR_NOTFOUND) {
		struct page_out out;
		db_stmt *st = db_prep(sql_sha_page);
		if (!st)
			return ERR_DB;
		db_bind_text(st, 1, sha);
		db_bind_text(st, 2, pg.cursor);
		db_bind_int(st, 3, pg.limit + 1);
		if ((rc = db_page(a, st, &pg, sizeof(struct media), media_row, &out, "media by hash")))
			return rc;
		rc = ERR_NOTFOUND;
		for (size_t i = 0; i < out.n && rc; i++) {
			const struct media *cand = (const struct media *)out.items + i;
			if (may_read(a, cand, viewer)) {
				*m = *cand;
				rc = 0;
			}
		}
		if (rc && !(pg.cursor = out.next_cursor))
			break;
	}
	return rc;
}

int media_owned(struct arena *a, const char *id, const char *owner, struct media *m)
{
	return uuid_check(id) || !owner ? ERR_NOTFOUND : lookup(a, sql_owned, id, owner, m);
}

int media_check_owner(const char *media_id, const char *user_id)
{
	char first[1024];
	struct arena a;
	struct media m;
	arena_init(&a, 4096, first, sizeof first);
	int rc = media_owned(&a, media_id, user_id, &m);
	arena_free(&a);
	return rc;
}

char *media_path(struct arena *a, const char *sha)
{
	return arena_printf(a, "%s/%.2s/%.2s/%s", media_root, sha, sha + 2, sha);
}

/* mkdir that accepts an existing directory. */
static int mkdir_ok(const char *path)
{
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Makes a rename durable: the directory entry is what a crash could lose. */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

static int insert(const struct media *m)
{
	db_stmt *st = db_prep(sql_insert);
	if (!st)
		return ERR_DB;
	const char *text[] = {m->id, m->owner_id, m->sha256, NULL, m->content_type,
	                      m->original_name, m->visibility, m->created_at};
	for (int i = 0; i < 8; i++)
		if (text[i])
			db_bind_text(st, i + 1, text[i]);
	db_bind_int(st, 4, m->size);
	int rc = db_step(st, "media insert");
	db_done(st);
	return rc;
}

int media_store(struct arena *a, const char *tmp, const struct media *m)
{
	char *path = media_path(a, m->sha256);
	char *dir2 = path ? arena_strndup(a, path, strlen(media_root) + 6) : NULL;
	char *dir1 = dir2 ? arena_strndup(a, dir2, strlen(media_root) + 3) : NULL;
	if (!dir1)
		return ERR_NOMEM;
	int rc = 0;
	pthread_mutex_lock(&media_files);
	struct stat s;
	if (stat(path, &s) == 0) {
		unlink(tmp); /* the same bytes are already here: share them */
		/* the file may be an orphan the collector is about to judge by its age: it is
		 * referenced again, so it is young again (the collector also holds media_files) */
		(void)utimensat(AT_FDCWD, path, NULL, 0);
	} else if (mkdir_ok(dir1) || mkdir_ok(dir2) || rename(tmp, path) != 0) {
		log_error("media file could not be stored", "detail", strerror(errno), NULL);
		rc = ERR_IO;
	} else {
		sync_dir(dir2);
	}
	if (!rc && !(rc = db_begin())) {
		rc = insert(m);
		if (!rc)
			rc = db_commit();
		if (rc)
			db_rollback();
	}
	pthread_mutex_unlock(&media_files);
	return rc;
}

bool media_sha_in_use(const char *sha)
{
	db_stmt *st = db_prep(sql_sha_used);
	if (!st)
		return true;
	db_bind_text(st, 1, sha);
	int step = db_step(st, "media file in use");
	db_done(st);
	return step != DB_DONE;
}

int media_remove(struct arena *a, const char *id, const char *caller, bool admin)
{
	struct media m;
	int rc = uuid_check(id) ? ERR_NOTFOUND : lookup(a, admin ? sql_any : sql_owned, id, admin ? NULL : caller, &m);
	if (rc)
		return rc;
	pthread_mutex_lock(&media_files);
	rc = db_begin();
	if (!rc && !(rc = users_clear_avatar_media(id)) && !(rc = db_run(sql_delete, "media delete", 1, &id)))
		rc = db_commit();
	if (rc) {
		db_rollback();
	} else {
		char *path = !media_sha_in_use(m.sha256) ? media_path(a, m.sha256) : NULL;
		if (path && unlink(path) != 0 && errno != ENOENT)
			log_warn("media file could not be removed", "detail", strerror(errno), NULL);
	}
	pthread_mutex_unlock(&media_files);
	return rc;
}

/* ---- galleries ------------------------------------------------------------------------ */

/* db_page's row reader: g.id, g.caption, g.created_at, then MEDIA_COLUMNS */
static int gallery_row(struct arena *a, db_stmt *st, void *item)
{
	struct gallery_item *g = item;
	if (!(g->id = db_text(a, st, 0)) || !(g->caption = db_text(a, st, 1)) || !(g->created_at = db_text(a, st, 2)))
		return ERR_NOMEM;
	return media_fill(a, st, 3, &g->media);
}

int gallery_page(struct arena *a, const char *owner, bool all, const struct page *pg, struct page_out *out)
{
	db_stmt *st = db_prep(sql_gallery_page);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, owner);
	db_bind_text(st, 2, pg->cursor);
	db_bind_int(st, 3, pg->limit + 1);
	db_bind_int(st, 4, all);
	return db_page(a, st, pg, sizeof(struct gallery_item), gallery_row, out, "gallery page");
}

int gallery_insert(const struct gallery_item *g, const char *owner)
{
	db_stmt *st = db_prep(sql_gallery_insert);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, g->id);
	db_bind_text(st, 2, owner);
	db_bind_text(st, 3, g->media.id);
	db_bind_text(st, 4, g->caption);
	db_bind_text(st, 5, g->created_at);
	int rc = db_step(st, "gallery add");
	db_done(st);
	return rc;
}

int gallery_delete(const char *owner, const char *id)
{
	db_stmt *st = db_prep(sql_gallery_delete);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, owner);
	db_bind_text(st, 2, id);
	int rc = db_step(st, "gallery remove");
	if (rc == DB_DONE && db_changes() == 0)
		rc = ERR_NOTFOUND;
	db_done(st);
	return rc;
}

/* ---- account deletion and export --------------------------------------------------------- */

int media_user_deleted(const char *user_id)
{
	/* Only the user's own row can show their media as its avatar (an avatar must be one's
	 * own media), and that row goes too: no avatar to clear. The files stay until the
	 * collector finds no row pointing at them. */
	int rc = db_run(sql_gallery_of_user, "user deleted: gallery", 1, &user_id);
	return rc ? rc : db_run(sql_media_of_user, "user deleted: media", 1, &user_id);
}

int media_user_export(struct arena *a, struct jw *w, const char *user_id)
{
	db_stmt *st = db_prep(sql_media_export);
	if (!st)
		return ERR_DB;
	db_bind_text(st, 1, user_id);
	jw_key(w, "media");
	jw_obj(w);
	jw_key(w, "files");
	jw_arr(w);
	int rc;
	while ((rc = db_step(st, "media export")) == DB_ROW) {
		struct media m;
		if ((rc = media_fill(a, st, 0, &m)))
			break;
		media_json(w, &m);
	}
	db_done(st);
	jw_arr_end(w);
	if (!rc && !(st = db_prep(sql_gallery_export)))
		rc = ERR_DB;
	jw_key(w, "gallery");
	jw_arr(w);
	if (!rc) {
		db_bind_text(st, 1, user_id);
		while ((rc = db_step(st, "gallery export")) == DB_ROW) {
			jw_obj(w);
			jw_kstr(w, "id", db_col(st, 0));
			jw_kstr(w, "media_id", db_col(st, 1));
			jw_kstr(w, "caption", db_col(st, 2));
			jw_kstr(w, "created_at", db_col(st, 3));
			jw_obj_end(w);
		}
		db_done(st);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	return rc;
}

void media_json(struct jw *w, const struct media *m)
{
	char url[64], path[80];
	snprintf(url, sizeof url, "/api/v1/media/%s", m->id);
	snprintf(path, sizeof path, "%.2s/%.2s/%s", m->sha256, m->sha256 + 2, m->sha256);
	jw_obj(w);
	jw_kstr(w, "id", m->id);
	jw_kstr(w, "url", url);
	jw_kstr(w, "path", path);
	jw_kstr(w, "content_type", m->content_type);
	jw_kint(w, "size", m->size);
	jw_kstr(w, "sha256", m->sha256);
	jw_kstr(w, "name", m->original_name);
	jw_kstr(w, "visibility", m->visibility);
	jw_kstr(w, "owner_id", m->owner_id);
	jw_kstr(w, "created_at", m->created_at);
	jw_obj_end(w);
}

int media_init(const char *data_dir, struct buf *msg)
{
	char *root = NULL, *tmp = NULL;
	if (asprintf(&root, "%s/media", data_dir) < 0 || asprintf(&tmp, "%s/media/tmp", data_dir) < 0) {
		free(root);
		return ERR_NOMEM;
	}
	if (mkdir_ok(root) || mkdir_ok(tmp)) {
		buf_note(msg, "cannot create %s: %s", tmp, strerror(errno));
		free(root);
		free(tmp);
		return ERR_IO;
	}
	/* no upload runs yet: anything in tmp/ is what a crash cut short */
	DIR *d = opendir(tmp);
	int swept = 0;
	for (struct dirent *e = d ? readdir(d) : NULL; e; e = readdir(d))
		if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0) == 0)
			swept++;
	if (d)
		closedir(d);
	if (swept) {
		char n[16];
		snprintf(n, sizeof n, "%d", swept);
		log_info("removed unfinished uploads", "files", n, NULL);
	}
	free(tmp);
	free((char *)media_root);
	media_root = root;
	return 0;
}

void media_shutdown(void)
{
	free((char *)media_root);
	media_root = NULL;
}
