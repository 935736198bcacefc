/* media/store.c: where media lives: the files under DIR/media and every SQL statement on
 * the media table. Must never build SQL from values, and must never let a file go while a
 * row still points at it (media_files orders uploads and deletes). */
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

const char *media_root;
pthread_mutex_t media_files = PTHREAD_MUTEX_INITIALIZER;

#define MEDIA_COLUMNS "m.id, m.owner_id, m.sha256, m.size, m.content_type, m.original_name, m.visibility, m.created_at"

/* Who may read a row (?2 is the caller or NULL): public media, the owner, anyone for an
 * avatar (it is part of the public card), and the owner's contacts for gallery items. */
#define READABLE                                                                         \
	"(m.visibility = 'public' OR m.owner_id = ?2"                                        \
	" OR EXISTS (SELECT 1 FROM users u WHERE u.avatar_media_id = m.id)"                  \
	" OR EXISTS (SELECT 1 FROM gallery_items g JOIN contacts c ON c.owner_id = g.owner_id" \
	" AND c.contact_id = ?2 WHERE g.media_id = m.id))"

static const char sql_by_id[] = "SELECT " MEDIA_COLUMNS " FROM media m WHERE m.id = ?1 AND " READABLE;
static const char sql_by_sha[] = "SELECT " MEDIA_COLUMNS " FROM media m WHERE m.sha256 = ?1 AND " READABLE
                                 " ORDER BY m.visibility = 'public' DESC LIMIT 1";
static const char sql_owned[] = "SELECT " MEDIA_COLUMNS " FROM media m WHERE m.id = ?1 AND m.owner_id = ?2";
static const char sql_any[] = "SELECT " MEDIA_COLUMNS " FROM media m WHERE m.id = ?1";
static const char sql_insert[] =
	"INSERT INTO media(id, owner_id, sha256, size, content_type, original_name, visibility, created_at)"
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char sql_delete[] = "DELETE FROM media WHERE id = ?1";
static const char sql_unavatar[] = "UPDATE users SET avatar_media_id = NULL WHERE avatar_media_id = ?1";
static const char sql_sha_used[] = "SELECT 1 FROM media WHERE sha256 = ?1 LIMIT 1";

/* Runs a statement bound with key (?1) and viewer (?2, may be NULL) and fills m. */
static int lookup(struct arena *a, const char *sql, const char *key, const char *viewer, struct media *m)
{
	sqlite3_stmt *st = db_prep(sql);
	if (!st)
		return ERR_DB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (viewer && sql != sql_any)
		sqlite3_bind_text(st, 2, viewer, -1, SQLITE_STATIC);
	int step = sqlite3_step(st), rc = 0;
	if (step == SQLITE_ROW) {
		const char **text[] = {&m->id, &m->owner_id, &m->sha256, NULL, &m->content_type,
		                       &m->original_name, &m->visibility, &m->created_at};
		for (int i = 0; i < 8; i++)
			if (text[i] && !(*text[i] = db_text(a, st, i)))
				rc = ERR_NOMEM;
		m->size = sqlite3_column_int64(st, 3);
	} else {
		rc = step == SQLITE_DONE ? ERR_NOTFOUND : db_fail("media lookup");
	}
	db_done(st);
	return rc;
}

int media_readable(struct arena *a, const char *id, const char *viewer, struct media *m)
{
	return uuid_check(id) ? ERR_NOTFOUND : lookup(a, sql_by_id, id, viewer, m);
}

int media_readable_sha(struct arena *a, const char *sha, const char *viewer, struct media *m)
{
	return lookup(a, sql_by_sha, sha, viewer, m);
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
	} else if (mkdir_ok(dir1) || mkdir_ok(dir2) || rename(tmp, path) != 0) {
		log_error("media file could not be stored", "detail", strerror(errno), NULL);
		rc = ERR_IO;
	} else {
		sync_dir(dir2);
	}
	sqlite3_stmt *st = rc ? NULL : db_prep(sql_insert);
	if (!rc && !st)
		rc = ERR_DB;
	if (st) {
		const char *text[] = {m->id, m->owner_id, m->sha256, NULL, m->content_type,
		                      m->original_name, m->visibility, m->created_at};
		for (int i = 0; i < 8; i++)
			if (text[i])
				sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, m->size);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail("media insert");
		db_done(st);
	}
	pthread_mutex_unlock(&media_files);
	return rc;
}

int media_remove(struct arena *a, const char *id, const char *caller, bool admin)
{
	struct media m;
	int rc = uuid_check(id) ? ERR_NOTFOUND : lookup(a, admin ? sql_any : sql_owned, id, caller, &m);
	if (rc)
		return rc;
	pthread_mutex_lock(&media_files);
	rc = db_begin();
	if (!rc && !(rc = db_run(sql_unavatar, "media delete", 1, &id)) && !(rc = db_run(sql_delete, "media delete", 1, &id)))
		rc = db_commit();
	if (rc) {
		db_rollback();
	} else {
		sqlite3_stmt *st = db_prep(sql_sha_used);
		if (st) {
			sqlite3_bind_text(st, 1, m.sha256, -1, SQLITE_STATIC);
			int step = sqlite3_step(st);
			db_done(st);
			char *path = step == SQLITE_DONE ? media_path(a, m.sha256) : NULL;
			if (path && unlink(path) != 0 && errno != ENOENT)
				log_warn("media file could not be removed", "detail", strerror(errno), NULL);
		}
	}
	pthread_mutex_unlock(&media_files);
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
