/* http/loop.c: one thread with one epoll set holding every connection that waits (accept,
 * TLS handshake, a head still arriving, an idle keep-alive), so a waiting connection costs a
 * small struct and no thread. A whole head is handed to civetweb's workers (mg_handoff_inject);
 * a worker gives an idle connection back (loop_park). Must never block: every socket is
 * non-blocking, and no call here waits on a lock held across I/O or on the database. */
#include "http/loop.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/time.h"
#include "http/errors.h"
#include "http/head.h"
#include "http/live.h"
#include "http/metrics.h"
#include "http/server.h"
#include "http/upstream.h"

#define HEAD_FIRST 1024    /* a head buffer starts this small and doubles up to HEAD_MAX */
#define ACCEPT_BURST 256   /* accepts per wake-up, so reads are not starved by a flood */
#define WAIT_WORKER_MS 10000 /* a whole head waits this long for a worker, then 503 */
/* While every worker is busy, light requests (no body: GET, HEAD, OPTIONS) go first, so that a
 * burst of writes does not stall reads and health checks; a heavy one never waits more than
 * this behind them. */
#define HEAVY_AGE_MS 100
#define ADDR_BUCKETS 4096
#define TASK_THREADS 8
/* after a refusal, what the client still sends is read and dropped for a while, so that
 * closing does not reset the connection before the client read the answer */
#define DRAIN_MS 2000
#define DRAIN_MAX (4u << 20)

/* Where a connection is in its life; each state with a deadline has its own list, and since
 * every connection of a list got the same timeout, each list is in deadline order. */
enum cstate { CS_HANDSHAKE, CS_HEAD, CS_IDLE, CS_WAIT_WORKER, CS_WAIT_LIGHT, CS_DRAIN, CS_NSTATES };

union addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* One connection the loop owns; owned by the loop thread (created by loop_park on a worker,
 * but only touched there before it is posted). */
struct conn {
	uint8_t tag;              /* LOOP_TAG_CONN: epoll's pointer may also be a struct live */
	struct conn *prev, *next; /* in lists[state] */
	int64_t deadline_us;
	int fd;
	uint8_t state;
	bool in_epoll;
	bool light; /* its head asks for no body and changes nothing */
	mbedtls_ssl_context *ssl; /* malloc'd; civetweb frees it when a worker closes the conn */
	char *buf;                /* head bytes so far (malloc'd only once bytes came), or NULL */
	uint32_t len, cap;
	union addr peer, local;
	struct loop_post post; /* parked by a worker: in the inbox */
};

struct list {
	struct conn *head, *tail;
};

/* Open connections per client address, shared with the workers (they close connections too). */
struct addr_count {
	struct addr_count *next;
	uint8_t key[16];
	int count;
};

static struct {
	int listen_fd, epfd, wake_fd, spare_fd;
	bool tls;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	struct loop_opts o;
	struct mg_context *ctx;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	struct list lists[CS_NSTATES];
	/* the inbox: closures posted by other threads, run by the loop in order */
	pthread_mutex_t inbox_lock;
	struct loop_post *inbox, *inbox_tail;
	/* the task threads: blocking work for the loop's connections (several, so that their
	 * database writes share commits) */
	pthread_t task_threads[TASK_THREADS];
	int ntask_threads;
	bool task_running;
	pthread_mutex_t task_lock;
	pthread_cond_t task_cond;
	struct loop_post *tasks, *tasks_tail;
	/* outgoing calls made from the loop (model streams), and timers */
	struct upstream_multi *multi;
	int64_t multi_due_us; /* 0: its timer is not armed */
	struct upstream_fd **ufds; /* by descriptor number */
	int nufds;
	struct timer *heap;
	int nheap, capheap;
	/* per-address counts and the total */
	pthread_mutex_t addr_lock;
	struct addr_count *buckets[ADDR_BUCKETS];
	int open;
} L = {.listen_fd = -1, .epfd = -1, .wake_fd = -1, .spare_fd = -1,
       .inbox_lock = PTHREAD_MUTEX_INITIALIZER, .addr_lock = PTHREAD_MUTEX_INITIALIZER,
       .task_lock = PTHREAD_MUTEX_INITIALIZER, .task_cond = PTHREAD_COND_INITIALIZER};

static atomic_ullong refused_total, head_timeouts;

/* A descriptor libcurl asked the loop to watch. Freed only between two epoll batches (a
 * later event of the same batch may still point at it): until then fd is -1. */
struct upstream_fd {
	uint8_t tag; /* LOOP_TAG_UPSTREAM */
	int fd;
	struct upstream_fd *dead_next;
};
static struct upstream_fd *dead_ufds;

struct timer {
	int64_t due_us;
	uint64_t order; /* ties run in the order they were set */
	struct loop_post *p;
};
static uint64_t timer_order;

/* ---- client addresses ------------------------------------------------------------------ */

/* IPv4 as IPv4-mapped IPv6, so both families share one table. */
static void addr_key(const union addr *a, uint8_t key[16])
{
	if (a->sa.sa_family == AF_INET6) {
		memcpy(key, &a->in6.sin6_addr, 16);
		return;
	}
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, &a->in4.sin_addr, 4);
}

static unsigned addr_bucket(const uint8_t key[16])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % ADDR_BUCKETS;
}

/* Counts a new connection from a: NULL, or why a limit says no. */
static const char *addr_take(const union addr *a)
{
	uint8_t key[16];
	addr_key(a, key);
	unsigned b = addr_bucket(key);
	const char *why = NULL;
	pthread_mutex_lock(&L.addr_lock);
	struct addr_count *e = L.buckets[b];
	while (e && memcmp(e->key, key, 16) != 0)
		e = e->next;
	if (L.open >= L.o.conn_max)
		why = "the server holds as many connections as it may (CONN_MAX)";
	else if (e && e->count >= L.o.conn_per_address)
		why = "too many connections from this address (CONN_PER_ADDRESS)";
	else if (!e && !(e = calloc(1, sizeof *e)))
		why = "out of memory";
	if (!why) {
		if (!e->count) {
			memcpy(e->key, key, 16);
			e->next = L.buckets[b];
			L.buckets[b] = e;
		}
		e->count++;
		L.open++;
	}
	pthread_mutex_unlock(&L.addr_lock);
	return why;
}

static void addr_release(const union addr *a)
{
	uint8_t key[16];
	addr_key(a, key);
	unsigned b = addr_bucket(key);
	pthread_mutex_lock(&L.addr_lock);
	for (struct addr_count **p = &L.buckets[b]; *p; p = &(*p)->next) {
		if (memcmp((*p)->key, key, 16) != 0)
			continue;
		L.open--;
		if (--(*p)->count == 0) {
			struct addr_count *gone = *p;
			*p = gone->next;
			free(gone);
		}
		break;
	}
	pthread_mutex_unlock(&L.addr_lock);
}

void loop_closed(int fd)
{
	union addr a;
	socklen_t n = sizeof a;
	if (fd >= 0 && getpeername(fd, &a.sa, &n) == 0)
		loop_release(&a);
}

/* ---- lists and timers ------------------------------------------------------------------ */

static void list_remove(struct conn *c)
{
	if (c->state >= CS_NSTATES)
		return;
	struct list *l = &L.lists[c->state];
	if (c->prev)
		c->prev->next = c->next;
	else if (l->head == c)
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else if (l->tail == c)
		l->tail = c->prev;
	c->prev = c->next = NULL;
}

/* Moves c to state s with a deadline ms from now (appended: each list keeps its order). */
static void set_state(struct conn *c, enum cstate s, int ms)
{
	list_remove(c);
	c->state = (uint8_t)s;
	c->deadline_us = time_mono_us() + (int64_t)ms * 1000;
	struct list *l = &L.lists[s];
	c->prev = l->tail;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
}

static void conn_free(struct conn *c)
{
	free(c->buf);
	free(c);
}

/* Closes c for good: TLS said goodbye (best effort), socket closed, counts released. */
static void conn_close(struct conn *c)
{
	list_remove(c);
	loop_close_socket(c->fd, c->ssl, &c->peer);
	conn_free(c);
}

static int watch(struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	int rc = epoll_ctl(L.epfd, c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev);
	if (rc == 0)
		c->in_epoll = true;
	return rc;
}

/* ---- I/O ------------------------------------------------------------------------------- */

/* Best-effort write of a short response before closing (a refusal): whatever the socket
 * takes now; the rest is dropped with the connection. */
static void send_now(struct conn *c, const char *p, size_t n)
{
	if (c->ssl)
		(void)mbedtls_ssl_write(c->ssl, (const unsigned char *)p, n);
	else
		(void)send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void refuse(struct conn *c, enum http_err e, const char *why)
{
	struct buf out = BUF_INIT(4096);
	if (server_refusal(&out, e, why) == 0)
		send_now(c, out.ptr, out.len);
	buf_free(&out);
	atomic_fetch_add(&refused_total, 1);
	shutdown(c->fd, SHUT_WR);
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
	set_state(c, CS_DRAIN, DRAIN_MS);
	if (watch(c, EPOLLIN | EPOLLRDHUP) != 0)
		conn_close(c);
}

/* Reads and drops what a refused client still sends, until it closes or enough is enough. */
static void on_drain(struct conn *c)
{
	char sink[16384];
	for (;;) {
		ssize_t n = recv(c->fd, sink, sizeof sink, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || (c->len += (uint32_t)n) > DRAIN_MAX) {
			conn_close(c);
			return;
		}
	}
}

/* Reads what is there into c->buf: >0 bytes read, 0 nothing now, -1 closed or failed. */
static int read_some(struct conn *c)
{
	if (c->len == c->cap) {
		uint32_t ncap = c->cap ? c->cap * 2 : HEAD_FIRST;
		if (ncap > HEAD_MAX)
			ncap = HEAD_MAX;
		if (ncap == c->cap)
			return 0; /* full: the head check says 431 */
		char *nb = realloc(c->buf, ncap);
		if (!nb)
			return -1;
		c->buf = nb;
		c->cap = ncap;
	}
	int total = 0;
	while (c->len < c->cap) {
		ssize_t n;
		if (c->ssl) {
			int r = mbedtls_ssl_read(c->ssl, (unsigned char *)c->buf + c->len, c->cap - c->len);
			if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
				break;
			n = r > 0 ? r : -1;
		} else {
			n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n == 0)
				n = -1;
		}
		if (n < 0)
			return -1;
		c->len += (uint32_t)n;
		total += (int)n;
		if (!c->ssl)
			break; /* level-triggered epoll says when more is there */
	}
	return total;
}

/* Gives c to a worker: true (c is gone), or false when civetweb's queue is full. */
static bool inject(struct conn *c)
{
	if (c->in_epoll) {
		epoll_ctl(L.epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->in_epoll = false;
	}
	struct mg_handoff h;
	memset(&h, 0, sizeof h);
	h.fd = c->fd;
	h.ssl = c->ssl;
	memcpy(h.local, &c->local, sizeof c->local);
	memcpy(h.remote, &c->peer, sizeof c->peer);
	h.pending = c->buf;
	h.pending_len = (int)c->len;
	if (mg_handoff_inject(L.ctx, &h) == 0) {
		/* the worker owns fd, ssl and the bytes now; the counts stay until it closes */
		list_remove(c);
		c->buf = NULL;
		free(c);
		return true;
	}
	return false;
}

/* The head is whole: to a worker now, unless others wait before it (light ones wait only
 * behind light ones); else it waits in its line. */
static void hand_over(struct conn *c)
{
	bool first = c->light ? !L.lists[CS_WAIT_LIGHT].head
	                      : !L.lists[CS_WAIT_LIGHT].head && !L.lists[CS_WAIT_WORKER].head;
	if (first && inject(c))
		return;
	set_state(c, c->light ? CS_WAIT_LIGHT : CS_WAIT_WORKER, WAIT_WORKER_MS);
}

/* Who waiting goes next: the oldest light head, unless a heavy one has waited too long. */
static struct conn *next_waiting(int64_t now)
{
	struct conn *light = L.lists[CS_WAIT_LIGHT].head, *heavy = L.lists[CS_WAIT_WORKER].head;
	if (heavy && (!light || heavy->deadline_us - (int64_t)(WAIT_WORKER_MS - HEAVY_AGE_MS) * 1000 <= now))
		return heavy;
	return light;
}

static void on_head_bytes(struct conn *c)
{
	int n = read_some(c);
	if (n < 0) {
		conn_close(c);
		return;
	}
	if (c->len == 0)
		return;
	if (c->state == CS_IDLE)
		set_state(c, CS_HEAD, L.o.head_timeout_ms);
	struct head_check hc;
	int rc = head_check(c->buf, c->len, L.o.body_max, &hc);
	if (rc > 0) {
		c->light = hc.content_length <= 0 && !hc.chunked &&
		           (memcmp(c->buf, "GET ", 4) == 0 || memcmp(c->buf, "HEAD ", 5) == 0 ||
		            memcmp(c->buf, "OPTIONS ", 8) == 0);
		hand_over(c);
	} else if (rc < 0) {
		refuse(c, server_head_error(&hc), hc.why);
	}
}

static void on_handshake(struct conn *c)
{
	int r = mbedtls_ssl_handshake(c->ssl);
	if (r == 0) {
		set_state(c, CS_HEAD, (int)((c->deadline_us - time_mono_us()) / 1000));
		watch(c, EPOLLIN | EPOLLRDHUP);
		on_head_bytes(c); /* the request may have come with the last handshake flight */
	} else if (r == MBEDTLS_ERR_SSL_WANT_READ) {
		watch(c, EPOLLIN | EPOLLRDHUP);
	} else if (r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		watch(c, EPOLLOUT);
	} else {
		conn_close(c);
	}
}

static int tls_attach(struct conn *c)
{
	c->ssl = malloc(sizeof *c->ssl);
	if (!c->ssl)
		return ERR_NOMEM;
	mbedtls_ssl_init(c->ssl);
	if (mbedtls_ssl_setup(c->ssl, &L.conf) != 0) {
		mbedtls_ssl_free(c->ssl);
		free(c->ssl);
		c->ssl = NULL;
		return ERR_CRYPTO;
	}
	mbedtls_ssl_set_bio(c->ssl, &c->fd, mbedtls_net_send, mbedtls_net_recv, NULL);
	return 0;
}

static void on_accept(void)
{
	for (int i = 0; i < ACCEPT_BURST; i++) {
		union addr peer;
		socklen_t n = sizeof peer;
		int fd = accept4(L.listen_fd, &peer.sa, &n, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if ((errno == EMFILE || errno == ENFILE) && L.spare_fd >= 0) {
				/* out of descriptors: take the waiting connection with the spare one and
				 * drop it, or it would wake this loop for ever */
				close(L.spare_fd);
				int drop = accept(L.listen_fd, NULL, NULL);
				if (drop >= 0)
					close(drop);
				L.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				atomic_fetch_add(&refused_total, 1);
				log_warn("out of file descriptors: a connection was dropped", NULL);
				continue;
			}
			return;
		}
		const char *why = addr_take(&peer);
		if (why) {
			/* said on plain HTTP only: a TLS client could not read it */
			struct buf out = BUF_INIT(4096);
			if (!L.tls && server_refusal(&out, E_UNAVAILABLE, why) == 0)
				(void)send(fd, out.ptr, out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
			buf_free(&out);
			close(fd);
			atomic_fetch_add(&refused_total, 1);
			continue;
		}
		metrics_connections(1);
		struct conn *c = calloc(1, sizeof *c);
		n = sizeof c->local;
		if (!c || getsockname(fd, &c->local.sa, &n) != 0 || (L.tls && tls_attach(c) != 0)) {
			if (c)
				conn_free(c);
			close(fd);
			addr_release(&peer);
			metrics_connections(-1);
			continue;
		}
		c->tag = LOOP_TAG_CONN;
		c->fd = fd;
		c->peer = peer;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		c->state = CS_NSTATES; /* in no list yet */
		set_state(c, L.tls ? CS_HANDSHAKE : CS_HEAD, L.o.head_timeout_ms);
		if (watch(c, EPOLLIN | EPOLLRDHUP) != 0)
			conn_close(c);
	}
}

static void take_inbox(void)
{
	uint64_t v;
	(void)!read(L.wake_fd, &v, sizeof v);
	pthread_mutex_lock(&L.inbox_lock);
	struct loop_post *p = L.inbox;
	L.inbox = L.inbox_tail = NULL;
	pthread_mutex_unlock(&L.inbox_lock);
	while (p) {
		struct loop_post *next = p->next;
		p->run(p);
		p = next;
	}
}

/* Appends p to the list head..tail (the caller holds its lock). */
static void fifo_push(struct loop_post **head, struct loop_post **tail, struct loop_post *p)
{
	p->next = NULL;
	if (*tail)
		(*tail)->next = p;
	else
		*head = p;
	*tail = p;
}

void loop_post(struct loop_post *p)
{
	pthread_mutex_lock(&L.inbox_lock);
	fifo_push(&L.inbox, &L.inbox_tail, p);
	pthread_mutex_unlock(&L.inbox_lock);
	uint64_t one = 1;
	(void)!write(L.wake_fd, &one, sizeof one);
}

/* A connection a worker parked, now on the loop thread. */
static void park_run(struct loop_post *p)
{
	struct conn *c = (struct conn *)((char *)p - offsetof(struct conn, post));
	if (atomic_load(&L.stop)) {
		conn_close(c);
		return;
	}
	set_state(c, CS_IDLE, L.o.idle_timeout_ms);
	if (watch(c, EPOLLIN | EPOLLRDHUP) != 0)
		conn_close(c);
	else if (c->len > 0 || (c->ssl && mbedtls_ssl_get_bytes_avail(c->ssl) > 0))
		on_head_bytes(c);
}

static void *task_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&L.task_lock);
	for (;;) {
		while (!L.tasks && L.task_running)
			pthread_cond_wait(&L.task_cond, &L.task_lock);
		struct loop_post *p = L.tasks;
		if (!p)
			break;
		L.tasks = p->next;
		if (!L.tasks)
			L.tasks_tail = NULL;
		pthread_mutex_unlock(&L.task_lock);
		p->run(p);
		pthread_mutex_lock(&L.task_lock);
	}
	pthread_mutex_unlock(&L.task_lock);
	if (L.o.thread_exit)
		L.o.thread_exit();
	return NULL;
}

void loop_task(struct loop_post *p)
{
	pthread_mutex_lock(&L.task_lock);
	fifo_push(&L.tasks, &L.tasks_tail, p);
	pthread_cond_signal(&L.task_cond);
	pthread_mutex_unlock(&L.task_lock);
}

int loop_watch(int fd, uint32_t events, void *ptr, bool add)
{
	struct epoll_event ev = {.events = events, .data.ptr = ptr};
	return epoll_ctl(L.epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

void loop_release(const void *peer)
{
	addr_release((const union addr *)peer);
	metrics_connections(-1);
}

void loop_close_socket(int fd, void *ssl, const void *peer)
{
	if (ssl) {
		mbedtls_ssl_close_notify(ssl);
		mbedtls_ssl_free(ssl);
		free(ssl);
	}
	close(fd); /* also leaves the epoll set */
	loop_release(peer);
}

unsigned long long loop_refused(void)
{
	return atomic_load(&refused_total) + atomic_load(&head_timeouts);
}

long long loop_send_queue_max(void)
{
	return L.o.send_queue_max;
}

/* Closes what is past its deadline, and retries heads waiting for a worker. */
static void expire(void)
{
	int64_t now = time_mono_us();
	for (int s = 0; s < CS_NSTATES; s++) {
		while (L.lists[s].head && L.lists[s].head->deadline_us <= now) {
			struct conn *c = L.lists[s].head;
			if (s == CS_WAIT_WORKER || s == CS_WAIT_LIGHT) {
				refuse(c, E_UNAVAILABLE, "every worker is busy; try again");
			} else {
				if (s == CS_HEAD || s == CS_HANDSHAKE)
					atomic_fetch_add(&head_timeouts, 1);
				conn_close(c);
			}
		}
	}
	/* the first that finds the queue full ends the round */
	for (struct conn *c; (c = next_waiting(now)) && inject(c);)
		;
}

/* ---- timers: a binary heap by due time ---------------------------------------------- */

static bool timer_before(const struct timer *a, const struct timer *b)
{
	return a->due_us < b->due_us || (a->due_us == b->due_us && a->order < b->order);
}

int loop_timer(int ms, struct loop_post *p)
{
	if (L.nheap == L.capheap) {
		int cap = L.capheap ? L.capheap * 2 : 256;
		struct timer *h = realloc(L.heap, sizeof *h * (size_t)cap);
		if (!h)
			return ERR_NOMEM;
		L.heap = h;
		L.capheap = cap;
	}
	struct timer t = {time_mono_us() + (int64_t)ms * 1000, timer_order++, p};
	int i = L.nheap++;
	while (i > 0 && timer_before(&t, &L.heap[(i - 1) / 2])) {
		L.heap[i] = L.heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	L.heap[i] = t;
	return 0;
}

static struct loop_post *timer_pop(int64_t now)
{
	if (!L.nheap || L.heap[0].due_us > now)
		return NULL;
	struct loop_post *p = L.heap[0].p;
	struct timer last = L.heap[--L.nheap];
	int i = 0;
	for (;;) {
		int c = 2 * i + 1;
		if (c >= L.nheap)
			break;
		if (c + 1 < L.nheap && timer_before(&L.heap[c + 1], &L.heap[c]))
			c++;
		if (!timer_before(&L.heap[c], &last))
			break;
		L.heap[i] = L.heap[c];
		i = c;
	}
	if (L.nheap)
		L.heap[i] = last;
	return p;
}

/* ---- outgoing calls: libcurl's sockets and timer in this epoll set ---------------------- */

static int multi_watch(void *loop, int fd, int events)
{
	(void)loop;
	if (fd < 0)
		return -1;
	if (fd >= L.nufds) {
		int n = fd + 64;
		struct upstream_fd **grown = realloc(L.ufds, sizeof *grown * (size_t)n);
		if (!grown)
			return -1;
		memset(grown + L.nufds, 0, sizeof *grown * (size_t)(n - L.nufds));
		L.ufds = grown;
		L.nufds = n;
	}
	struct upstream_fd *u = L.ufds[fd];
	if (!events) {
		if (u) {
			epoll_ctl(L.epfd, EPOLL_CTL_DEL, fd, NULL); /* it may be closed already */
			u->fd = -1;
			u->dead_next = dead_ufds;
			dead_ufds = u;
		}
		L.ufds[fd] = NULL;
		return 0;
	}
	bool add = !u;
	if (add && !(u = calloc(1, sizeof *u)))
		return -1;
	u->tag = LOOP_TAG_UPSTREAM;
	u->fd = fd;
	L.ufds[fd] = u;
	struct epoll_event ev = {.events = (events & UPSTREAM_IN ? EPOLLIN : 0) | (events & UPSTREAM_OUT ? EPOLLOUT : 0),
	                         .data.ptr = u};
	if (epoll_ctl(L.epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0 &&
	    epoll_ctl(L.epfd, add ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0)
		return -1;
	return 0;
}

static void multi_timer(void *loop, long ms)
{
	(void)loop;
	L.multi_due_us = ms < 0 ? 0 : time_mono_us() + (int64_t)ms * 1000;
	if (ms >= 0 && !L.multi_due_us)
		L.multi_due_us = 1;
}

static const struct upstream_loop multi_loop = {multi_watch, multi_timer, NULL};

bool loop_running(void)
{
	return !atomic_load(&L.stop);
}

struct upstream_multi *loop_multi(void)
{
	return L.multi;
}

/* How long epoll may sleep: until the next timer, the multi's, or a quarter second. */
static int wait_ms(void)
{
	int64_t now = time_mono_us(), due = now + 250000;
	if (L.lists[CS_WAIT_WORKER].head || L.lists[CS_WAIT_LIGHT].head)
		due = now + 2000;
	if (L.nheap && L.heap[0].due_us < due)
		due = L.heap[0].due_us;
	if (L.multi_due_us && L.multi_due_us < due)
		due = L.multi_due_us;
	return due <= now ? 0 : (int)((due - now + 999) / 1000);
}

static void run_timers(void)
{
	int64_t now = time_mono_us();
	if (L.multi_due_us && L.multi_due_us <= now) {
		L.multi_due_us = 0;
		upstream_multi_timeout(L.multi);
	}
	for (struct loop_post *p; (p = timer_pop(now));)
		p->run(p);
}

static void *run(void *arg)
{
	(void)arg;
	struct epoll_event ev[256];
	while (!atomic_load(&L.stop)) {
		int n = epoll_wait(L.epfd, ev, 256, wait_ms());
		for (int i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;
			if (p == &L.listen_fd) {
				on_accept();
			} else if (p == &L.wake_fd) {
				take_inbox();
			} else if (*(uint8_t *)p == LOOP_TAG_LIVE) {
				live_on_event(p, ev[i].events);
			} else if (*(uint8_t *)p == LOOP_TAG_UPSTREAM) {
				uint32_t e = ev[i].events;
				if (((struct upstream_fd *)p)->fd < 0)
					continue; /* libcurl let go of it earlier in this batch */
				upstream_multi_socket(L.multi, ((struct upstream_fd *)p)->fd,
				                      (e & EPOLLIN ? UPSTREAM_IN : 0) | (e & EPOLLOUT ? UPSTREAM_OUT : 0) |
				                          (e & (EPOLLERR | EPOLLHUP) ? UPSTREAM_ERR : 0));
			} else {
				struct conn *c = p;
				if (c->state == CS_HANDSHAKE)
					on_handshake(c);
				else if (c->state == CS_DRAIN)
					on_drain(c);
				else if ((ev[i].events & (EPOLLERR | EPOLLHUP)) && !(ev[i].events & EPOLLIN))
					conn_close(c);
				else
					on_head_bytes(c);
			}
		}
		for (struct upstream_fd *u; (u = dead_ufds);) {
			dead_ufds = u->dead_next;
			free(u);
		}
		run_timers();
		expire();
		live_tick(time_mono_us());
	}
	return NULL;
}

/* ---- setup ----------------------------------------------------------------------------- */

static int tls_load(const char *pem, struct buf *msg)
{
	mbedtls_ssl_config_init(&L.conf);
	mbedtls_x509_crt_init(&L.cert);
	mbedtls_pk_init(&L.key);
	mbedtls_entropy_init(&L.entropy);
	mbedtls_ctr_drbg_init(&L.drbg);
	L.tls = true;
	const char *what = "random generator";
	if (mbedtls_ctr_drbg_seed(&L.drbg, mbedtls_entropy_func, &L.entropy, (const unsigned char *)"app-tls", 7) != 0)
		goto fail;
	what = "private key";
	if (mbedtls_pk_parse_keyfile(&L.key, pem, NULL) != 0)
		goto fail;
	what = "certificate";
	if (mbedtls_x509_crt_parse_file(&L.cert, pem) != 0)
		goto fail;
	what = "TLS settings";
	if (mbedtls_ssl_config_defaults(&L.conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		goto fail;
	mbedtls_ssl_conf_rng(&L.conf, mbedtls_ctr_drbg_random, &L.drbg);
	mbedtls_ssl_conf_authmode(&L.conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_min_version(&L.conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	if (mbedtls_ssl_conf_own_cert(&L.conf, &L.cert, &L.key) != 0)
		goto fail;
	return 0;
fail:
	buf_note(msg, "cannot load the TLS %s from %s", what, pem);
	return ERR_CRYPTO;
}

static void tls_unload(void)
{
	if (!L.tls)
		return;
	mbedtls_ssl_config_free(&L.conf);
	mbedtls_x509_crt_free(&L.cert);
	mbedtls_pk_free(&L.key);
	mbedtls_ctr_drbg_free(&L.drbg);
	mbedtls_entropy_free(&L.entropy);
	L.tls = false;
}

/* "host:port" or "[v6]:port" -> a socket address. */
static int parse_listen(const char *listen, union addr *a, socklen_t *len)
{
	const char *colon = strrchr(listen, ':');
	if (!colon || !colon[1])
		return ERR_INVAL;
	char host[64];
	const char *h = listen;
	size_t hn = (size_t)(colon - listen);
	if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
		h++;
		hn -= 2;
	}
	if (hn >= sizeof host)
		return ERR_INVAL;
	memcpy(host, h, hn);
	host[hn] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return ERR_INVAL;
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, hn ? host : "0.0.0.0", &a->in4.sin_addr) == 1) {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons((uint16_t)port);
		*len = sizeof a->in4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons((uint16_t)port);
		*len = sizeof a->in6;
		return 0;
	}
	return ERR_INVAL;
}

int loop_open(const struct loop_opts *o, int *port, struct buf *msg)
{
	L.o = *o;
	union addr a;
	socklen_t alen;
	if (parse_listen(o->listen, &a, &alen) != 0) {
		buf_note(msg, "cannot listen on %s: give ADDR:PORT with a numeric address", o->listen);
		return ERR_INVAL;
	}
	if (o->tls_pem && tls_load(o->tls_pem, msg) != 0) {
		tls_unload();
		return ERR_CRYPTO;
	}
	int one = 1;
	L.listen_fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (L.listen_fd < 0 || setsockopt(L.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(L.listen_fd, &a.sa, alen) != 0 || listen(L.listen_fd, 4096) != 0) {
		buf_note(msg, "cannot listen on %s: %s", o->listen, strerror(errno));
		loop_stop();
		return ERR_IO;
	}
	alen = sizeof a;
	getsockname(L.listen_fd, &a.sa, &alen);
	*port = ntohs(a.sa.sa_family == AF_INET6 ? a.in6.sin6_port : a.in4.sin_port);
	return 0;
}

int loop_start(struct mg_context *ctx)
{
	L.ctx = ctx;
	L.epfd = epoll_create1(EPOLL_CLOEXEC);
	L.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	L.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (L.epfd < 0 || L.wake_fd < 0)
		return ERR_IO;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &L.listen_fd};
	struct epoll_event wake = {.events = EPOLLIN, .data.ptr = &L.wake_fd};
	if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.listen_fd, &ev) != 0 ||
	    epoll_ctl(L.epfd, EPOLL_CTL_ADD, L.wake_fd, &wake) != 0)
		return ERR_IO;
	atomic_store(&L.stop, false);
	if (!(L.multi = upstream_multi_new(&multi_loop)))
		return ERR_NOMEM;
	L.task_running = true;
	for (; L.ntask_threads < TASK_THREADS; L.ntask_threads++)
		if (pthread_create(&L.task_threads[L.ntask_threads], NULL, task_main, NULL) != 0)
			return ERR_IO;
	if (pthread_create(&L.thread, NULL, run, NULL) != 0)
		return ERR_IO;
	L.running = true;
	return 0;
}

void loop_park(struct mg_handoff *h)
{
	struct conn *c = calloc(1, sizeof *c);
	if (!c) {
		/* no memory to hold it: close it here (it was counted at accept) */
		loop_close_socket(h->fd, h->ssl, h->remote);
		free(h->pending);
		return;
	}
	c->tag = LOOP_TAG_CONN;
	c->state = CS_NSTATES;
	c->fd = h->fd;
	c->ssl = h->ssl;
	if (c->ssl) /* its I/O pointed into the worker's connection */
		mbedtls_ssl_set_bio(c->ssl, &c->fd, mbedtls_net_send, mbedtls_net_recv, NULL);
	memcpy(&c->peer, h->remote, sizeof c->peer);
	memcpy(&c->local, h->local, sizeof c->local);
	c->buf = h->pending;
	c->len = c->cap = (uint32_t)h->pending_len;
	if (!c->buf)
		c->cap = 0;
	c->post.run = park_run;
	loop_post(&c->post);
}

void loop_stop(void)
{
	if (L.running) {
		atomic_store(&L.stop, true);
		uint64_t one = 1;
		(void)!write(L.wake_fd, &one, sizeof one);
		pthread_join(L.thread, NULL);
		L.running = false;
		take_inbox(); /* parked connections close themselves: stop is set */
		live_close_all();
		/* what still waits on a timer ends now, in order (each sees the loop stopping) */
		for (struct loop_post *p; (p = timer_pop(INT64_MAX));)
			p->run(p);
		for (int s = 0; s < CS_NSTATES; s++)
			while (L.lists[s].head)
				conn_close(L.lists[s].head);
	}
	if (L.task_running) {
		pthread_mutex_lock(&L.task_lock);
		L.task_running = false;
		pthread_cond_broadcast(&L.task_cond);
		pthread_mutex_unlock(&L.task_lock);
		for (int i = 0; i < L.ntask_threads; i++) /* they run what was queued, then end */
			pthread_join(L.task_threads[i], NULL);
		L.ntask_threads = 0;
	}
	if (L.multi)
		upstream_multi_free(L.multi);
	L.multi = NULL;
	for (int i = 0; i < L.nufds; i++)
		free(L.ufds[i]);
	for (struct upstream_fd *u; (u = dead_ufds);) {
		dead_ufds = u->dead_next;
		free(u);
	}
	free(L.ufds);
	L.ufds = NULL;
	L.nufds = 0;
	free(L.heap);
	L.heap = NULL;
	L.nheap = L.capheap = 0;
	int *fds[] = {&L.listen_fd, &L.epfd, &L.wake_fd, &L.spare_fd};
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	tls_unload();
}
