/* core/datadir.c: creating, locking and keying the data directory. Must never write the
 * secret key with loose permissions, not even for an instant, nor leave half a key file. */
#include "core/datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/rand.h"

static int lock_fd = -1;
static unsigned char key[SECRET_KEY_BYTES];
static int have_key;

char *datadir_path(const char *dir, const char *name)
{
	struct buf b = BUF_INIT(8192);
	if (buf_printf(&b, "%s/%s", dir, name)) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b, NULL);
}

/* mkdir -p: missing parents get 0755 (like mkdir -p), the data directory itself 0700. */
static int make_dirs(const char *dir)
{
	char *path = strdup(dir);
	if (!path)
		return -1;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			free(path);
			return -1;
		}
		*p = '/';
	}
	free(path);
	return mkdir(dir, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

int datadir_prepare(const char *dir, struct buf *msg)
{
	struct stat st;
	if (make_dirs(dir) != 0) {
		buf_note(msg, "cannot create data directory %s: %s", dir, strerror(errno));
		return ERR_IO;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		buf_note(msg, "data directory %s is not a directory", dir);
		return ERR_IO;
	}
	if (access(dir, R_OK | W_OK | X_OK) != 0) {
		buf_note(msg, "data directory %s is not writable: %s", dir, strerror(errno));
		return ERR_IO;
	}
	if (st.st_mode & 077)
		log_warn("data directory is readable by other users; chmod 700 it", "dir", dir, NULL);
	return 0;
}

int datadir_lock(const char *dir, struct buf *msg)
{
	char *path = datadir_path(dir, "app.lock");
	if (!path)
		return ERR_NOMEM;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		buf_note(msg, "cannot open %s: %s", path, strerror(errno));
		free(path);
		return ERR_IO;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[32] = "";
		ssize_t n = read(fd, pid, sizeof pid - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		buf_note(msg, "data directory %s is in use by another app (pid %s)", dir,
		                 pid[0] ? pid : "unknown");
		close(fd);
		free(path);
		return ERR_BUSY;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("cannot write the pid into the lock file", "path", path, NULL);
	free(path);
	lock_fd = fd;
	return 0;
}

void datadir_note_url(const char *url)
{
	char line[64];
	int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
	size_t ulen = strlen(url);
	if (lock_fd < 0 || n <= 0 || ftruncate(lock_fd, 0) != 0 || pwrite(lock_fd, line, (size_t)n, 0) != n ||
	    pwrite(lock_fd, url, ulen, n) != (ssize_t)ulen || pwrite(lock_fd, "\n", 1, n + (off_t)ulen) != 1)
		log_warn("cannot note the server's address in the lock file", NULL);
}

int datadir_server_url(const char *dir, struct buf *out)
{
	char *path = datadir_path(dir, "app.lock");
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	free(path);
	if (fd < 0)
		return ERR_NOTFOUND;
	char text[512];
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	char *url = strchr(text, '\n');
	if (!url || strncmp(url + 1, "http", 4) != 0)
		return ERR_NOTFOUND;
	url++;
	url[strcspn(url, "\n")] = '\0';
	buf_reset(out);
	return buf_adds(out, url) ? ERR_TOOBIG : 0;
}

void datadir_unlock(void)
{
	if (lock_fd >= 0)
		close(lock_fd); /* closing releases the flock */
	lock_fd = -1;
}

static int read_key(const char *path, struct buf *msg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	struct stat st;
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && st.st_size == SECRET_KEY_BYTES)
		n = read(fd, key, SECRET_KEY_BYTES);
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		log_warn("secret.key is readable by other users; chmod 600 it", NULL);
	close(fd);
	if (n != SECRET_KEY_BYTES) {
		buf_note(msg, "%s is not a %d-byte key: restore it from a backup or remove it "
		                      "(every token signed with it becomes invalid)",
		                 path, SECRET_KEY_BYTES);
		return ERR_INVAL;
	}
	have_key = 1;
	return 0;
}

int datadir_secret(const char *dir, struct buf *msg)
{
	char *path = datadir_path(dir, "secret.key");
	char *tmp = datadir_path(dir, "secret.key.tmp");
	int rc = ERR_NOMEM, fd = -1;
	if (!path || !tmp)
		goto out;
	rc = read_key(path, msg);
	if (rc != ERR_NOTFOUND)
		goto out;
	/* first boot: a new key, written under a temporary name and renamed into place */
	rc = ERR_CRYPTO;
	if (rand_bytes(key, sizeof key) != 0) {
		buf_note(msg, "cannot generate a secret key");
		goto out;
	}
	unlink(tmp);
	rc = ERR_IO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		buf_note(msg, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	int ok = write(fd, key, sizeof key) == (ssize_t)sizeof key && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	fd = -1;
	if (!ok || rename(tmp, path) != 0) {
		buf_note(msg, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	have_key = 1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	free(tmp);
	return rc;
}

const unsigned char *datadir_key(size_t *len)
{
	*len = have_key ? SECRET_KEY_BYTES : 0;
	return have_key ? key : NULL;
}

void datadir_forget(void)
{
	volatile unsigned char *p = key;
	for (size_t i = 0; i < sizeof key; i++)
		p[i] = 0;
	have_key = 0;
}
