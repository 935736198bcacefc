/* test/bench/broadcast.c: baseline for the live broadcast figure: one thread, one epoll set,
 * WebSocket upgrades with the minimal handshake (no auth, no ping, client frames read and
 * dropped), and POST /broadcast sending its body as one text frame to every open WebSocket
 * with one non-blocking write each. Must stay bare and honest: no second thread, no batching
 * across sockets, nothing the app's own loop could not do too, or the ratio stops measuring
 * what the app adds. Usage: bench-broadcast PORT */
#include <errno.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX  8192 /* a request head (and a POST body) must fit in this */
#define BODY_MAX  (HEAD_MAX - 1024)
#define QUEUE_MAX (1u << 20) /* a WebSocket that does not read is dropped past this */
#define EVENTS    256
#define WS_GUID   "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum state { S_HEAD, S_WS, S_CLOSING, S_DEAD };

/* One client connection, owned by the loop. `in` exists only while a head arrives; `out`
 * only while a write was short. WebSockets are linked in accept order for the broadcast. */
struct conn {
	struct conn *prev, *next;
	int fd;
	enum state state;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
};

static int ep;
static struct conn *ws_head, *ws_tail;
static size_t ws_count;
/* Closed during this batch of events and freed after it: a later event of the same batch may
 * still point at one (a broadcast closes sockets whose events are not handled yet). */
static struct conn *dead;

static void conn_close(struct conn *c)
{
	if (c->state == S_DEAD)
		return;
	if (c->state == S_WS) {
		if (c->prev)
			c->prev->next = c->next;
		else
			ws_head = c->next;
		if (c->next)
			c->next->prev = c->prev;
		else
			ws_tail = c->prev;
		ws_count--;
	}
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->state = S_DEAD;
	c->next = dead;
	dead = c;
}

static void free_dead(void)
{
	while (dead) {
		struct conn *c = dead;
		dead = c->next;
		free(c->in);
		free(c->out);
		free(c);
	}
}

/* Arms EPOLLOUT while bytes wait, so that the loop finishes the write. */
static int want_write(struct conn *c, bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what is queued. 0 when all left or the socket is full; -1 when the conn is dead. */
static int flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	if (want_write(c, false) != 0)
		return -1;
	return c->state == S_CLOSING ? -1 : 0;
}

/* Sends bytes: one write when nothing waits, the rest (or everything, behind what waits)
 * queued up to QUEUE_MAX. -1 when the conn should be closed. */
static int send_bytes(struct conn *c, const char *p, size_t n)
{
	if (!c->out) {
		ssize_t w;
		do
			w = write(c->fd, p, n);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (w < 0)
			w = 0;
		if ((size_t)w == n)
			return c->state == S_CLOSING ? -1 : 0;
		p += w;
		n -= (size_t)w;
		if (want_write(c, true) != 0)
			return -1;
	}
	if (c->out_len - c->out_off + n > QUEUE_MAX)
		return -1;
	char *grown = realloc(c->out, c->out_len + n);
	if (!grown)
		return -1;
	memcpy(grown + c->out_len, p, n);
	c->out = grown;
	c->out_len += n;
	return 0;
}

/* The value of header NAME in a NUL-terminated head whose lines are split by CRLF, as a
 * pointer and length, or NULL. */
static const char *header(const char *head, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	for (const char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, nl) != 0 || line[nl] != ':')
			continue;
		const char *v = line + nl + 1, *end = strstr(v, "\r\n");
		if (!end) /* the last line: the head's final CRLF was cut off */
			end = v + strlen(v);
		while (*v == ' ' || *v == '\t')
			v++;
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*len = (size_t)(end - v);
		return v;
	}
	return NULL;
}

static int answer(struct conn *c, const char *status, const char *body)
{
	char res[256];
	int n = snprintf(res, sizeof res,
	                 "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n%s",
	                 status, strlen(body), body);
	if (n < 0 || (size_t)n >= sizeof res)
		return -1;
	c->state = S_CLOSING;
	return send_bytes(c, res, (size_t)n);
}

static int upgrade(struct conn *c, const char *head)
{
	size_t klen, plen;
	const char *key = header(head, "Sec-WebSocket-Key", &klen);
	const char *proto = header(head, "Sec-WebSocket-Protocol", &plen);
	if (!key || klen != 24)
		return answer(c, "400 Bad Request", "not a WebSocket upgrade\n");
	unsigned char both[24 + sizeof WS_GUID - 1], digest[20], accept[32];
	memcpy(both, key, 24);
	memcpy(both + 24, WS_GUID, sizeof WS_GUID - 1);
	size_t alen;
	if (mbedtls_sha1_ret(both, sizeof both, digest) != 0 ||
	    mbedtls_base64_encode(accept, sizeof accept, &alen, digest, sizeof digest) != 0)
		return -1;
	char res[256];
	bool bearer = proto && plen >= 6 && strncmp(proto, "bearer", 6) == 0;
	int n = snprintf(res, sizeof res,
	                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %.*s\r\n%s\r\n",
	                 (int)alen, (const char *)accept,
	                 bearer ? "Sec-WebSocket-Protocol: bearer\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof res)
		return -1;
	free(c->in);
	c->in = NULL;
	c->in_len = 0;
	c->state = S_WS;
	c->prev = ws_tail;
	c->next = NULL;
	if (ws_tail)
		ws_tail->next = c;
	else
		ws_head = c;
	ws_tail = c;
	ws_count++;
	return send_bytes(c, res, (size_t)n);
}

/* One text frame with BODY to every WebSocket, in accept order, then to the caller the count
 * and how long the loop over them took. A socket that cannot take the frame is closed, as the
 * app drops a client that does not read. */
static int broadcast(struct conn *c, const char *body, size_t n)
{
	char frame[BODY_MAX + 4];
	size_t h = 2;
	frame[0] = (char)0x81; /* FIN, text */
	if (n < 126) {
		frame[1] = (char)n;
	} else {
		frame[1] = 126;
		frame[2] = (char)(n >> 8);
		frame[3] = (char)(n & 0xff);
		h = 4;
	}
	memcpy(frame + h, body, n);
	size_t sent = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (struct conn *w = ws_head, *next; w; w = next) {
		next = w->next;
		if (send_bytes(w, frame, h + n) != 0)
			conn_close(w);
		else
			sent++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long us = (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000;
	char count[64];
	snprintf(count, sizeof count, "%zu sent in %lld us\n", sent, us);
	return answer(c, "200 OK", count);
}

/* Reads what arrived. A WebSocket's frames are dropped unread; a head is answered once whole:
 * GET with Sec-WebSocket-Key upgrades, GET /health answers, POST /broadcast (once its body is
 * in) broadcasts. -1 when the conn should be closed. */
static int readable(struct conn *c)
{
	char scratch[4096];
	for (;;) {
		if (c->state != S_HEAD) {
			ssize_t n = read(c->fd, scratch, sizeof scratch);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (n <= 0)
				return -1;
			continue;
		}
		if (!c->in && !(c->in = malloc(HEAD_MAX + 1)))
			return -1;
		if (c->in_len == HEAD_MAX)
			return -1;
		ssize_t n = read(c->fd, c->in + c->in_len, HEAD_MAX - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->in_len += (size_t)n;
		c->in[c->in_len] = '\0';
		char *end = strstr(c->in, "\r\n\r\n");
		if (!end)
			continue;
		*end = '\0';
		const char *body = end + 4;
		size_t have = c->in_len - (size_t)(body - c->in);
		if (strncmp(c->in, "GET /health ", 12) == 0)
			return answer(c, "200 OK", "ok\n");
		if (strncmp(c->in, "GET ", 4) == 0)
			return upgrade(c, c->in);
		if (strncmp(c->in, "POST /broadcast ", 16) != 0)
			return answer(c, "404 Not Found",
			              "GET /ws, GET /health or POST /broadcast\n");
		size_t cl_len;
		const char *cl = header(c->in, "Content-Length", &cl_len);
		long want = cl ? strtol(cl, NULL, 10) : -1;
		if (want < 1 || want > BODY_MAX)
			return answer(c, "400 Bad Request", "a body of 1 to 7168 bytes\n");
		if (have >= (size_t)want)
			return broadcast(c, body, (size_t)want);
		*end = '\r'; /* not yet whole: the next read looks for the end again */
	}
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4096) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or out of descriptors: the backlog waits */
		int one = 1;
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			free(c);
			close(fd);
		}
	}
}

int main(int argc, char **argv)
{
	char *end = NULL;
	long port = argc == 2 ? strtol(argv[1], &end, 10) : 0;
	if (argc != 2 || !end || *end || port < 1 || port > 65535) {
		fprintf(stderr, "usage: bench-broadcast PORT\n");
		return 2;
	}
	/* as many descriptors as allowed, as the app takes for CONN_MAX */
	struct rlimit rl = {0};
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	int sfd, lfd;
	if (sigprocmask(SIG_BLOCK, &stop, NULL) != 0 ||
	    (sfd = signalfd(-1, &stop, SFD_CLOEXEC)) < 0)
		return 1;
	if ((lfd = listen_on((int)port)) < 0) {
		fprintf(stderr, "bench-broadcast: cannot listen on 127.0.0.1:%ld: %s\n", port,
		        strerror(errno));
		return 1;
	}
	/* the listener and the signal are told apart from connections by their own addresses */
	static int lmark, smark;
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &lmark};
	struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &smark};
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) != 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &sev) != 0)
		return 1;
	fprintf(stderr, "bench-broadcast: listening on 127.0.0.1:%ld, descriptors %llu\n", port,
	        (unsigned long long)rl.rlim_cur);

	struct epoll_event evs[EVENTS];
	for (bool running = true; running;) {
		int n = epoll_wait(ep, evs, EVENTS, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &smark) {
				running = false;
				continue;
			}
			if (p == &lmark) {
				accept_all(lfd);
				continue;
			}
			struct conn *c = p;
			if (c->state == S_DEAD)
				continue;
			int rc = 0;
			if (evs[i].events & EPOLLOUT)
				rc = flush(c);
			if (rc == 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				rc = readable(c);
			if (rc != 0)
				conn_close(c);
		}
		free_dead();
	}
	while (ws_head)
		conn_close(ws_head);
	free_dead();
	close(lfd);
	close(sfd);
	close(ep);
	return 0;
}
