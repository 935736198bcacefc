/* media/gc.c: the collector of orphaned media files: files under DIR/media/ab/cd/<sha256>
 * that no media row references (an account deletion removes rows, not files). Must never
 * remove a file a row references or is about to reference, nor anything it did not name
 * itself (only ab/cd/<64 hex> whose name starts with ab and cd; never tmp/).
 *
 * Why a file an upload is about to reference survives: an upload writes tmp/<id>.part,
 * renames it into place and inserts its row, all of the rename and insert while holding
 * media_files; the collector decides and unlinks each file holding media_files too, so it
 * sees either no file or the committed row. And a file is judged only once its mtime is
 * MEDIA_ORPHAN_AGE_S old (at least a minute): a rename keeps the mtime of the last write,
 * which is seconds before the row, and an upload that shares existing bytes touches them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/ticker.h"
#include "media/internal.h"
#include "media/media.h"
#include "store/db.h" /* db_thread_done */

static struct ticker collector = TICKER_INIT;

struct sweep {
	time_t cutoff; /* files last written before this may go */
	long files;
	long long bytes;
};

static bool hex_name(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool should_stop(void)
{
	return ticker_stopping(&collector);
}

/* One directory media/ab/cd: its old files that no row references go. */
static void sweep_dir(struct sweep *sw, const char *dir, const char *ab, const char *cd)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e = readdir(d); e; e = readdir(d)) {
		const char *sha = e->d_name;
		if (!hex_name(sha, 64) || strncmp(sha, ab, 2) != 0 || strncmp(sha + 2, cd, 2) != 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), sha, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_mtime >= sw->cutoff)
			continue;
		pthread_mutex_lock(&media_files);
		/* again under the lock: an upload may have shared (and touched) it meanwhile */
		bool gone = fstatat(dirfd(d), sha, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		            st.st_mtime < sw->cutoff && !media_sha_in_use(sha) &&
		            unlinkat(dirfd(d), sha, 0) == 0;
		pthread_mutex_unlock(&media_files);
		if (gone) {
			sw->files++;
			sw->bytes += st.st_size;
		}
	}
	closedir(d);
	/* an emptied directory goes too; an upload makes it again (under media_files) */
	pthread_mutex_lock(&media_files);
	(void)rmdir(dir);
	pthread_mutex_unlock(&media_files);
}

static void sweep(void)
{
	struct sweep sw = {.cutoff = time(NULL) - (time_t)config_int("MEDIA_ORPHAN_AGE_S")};
	char dir1[4096], dir2[4096];
	DIR *top = opendir(media_root);
	if (!top) {
		log_warn("media collector cannot read the media directory", "detail",
		         strerror(errno), NULL);
		return;
	}
	for (struct dirent *a = readdir(top); a && !should_stop(); a = readdir(top)) {
		if (!hex_name(a->d_name, 2)) /* tmp/ and anything else is not ours to judge */
			continue;
		if ((size_t)snprintf(dir1, sizeof dir1, "%s/%s", media_root, a->d_name) >=
		    sizeof dir1)
			break;
		DIR *mid = opendir(dir1);
		for (struct dirent *b = mid ? readdir(mid) : NULL; b && !should_stop();
		     b = readdir(mid)) {
			if (!hex_name(b->d_name, 2))
				continue;
			if ((size_t)snprintf(dir2, sizeof dir2, "%s/%s", dir1, b->d_name) >=
			    sizeof dir2)
				break;
			sweep_dir(&sw, dir2, a->d_name, b->d_name);
		}
		if (mid)
			closedir(mid);
		pthread_mutex_lock(&media_files);
		(void)rmdir(dir1);
		pthread_mutex_unlock(&media_files);
	}
	closedir(top);
	if (sw.files > 0) {
		char files[24], bytes[24];
		snprintf(files, sizeof files, "%ld", sw.files);
		snprintf(bytes, sizeof bytes, "%lld", sw.bytes);
		log_info("removed media files no longer referenced", "files", files, "bytes", bytes,
		         NULL);
	}
}

int media_gc_start(void)
{
	return media_root ? ticker_start(&collector, config_int("MEDIA_GC_INTERVAL_S"), sweep, db_thread_done)
	                  : ERR_NOMEM;
}

void media_gc_stop(void)
{
	ticker_stop(&collector);
}
