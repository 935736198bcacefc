/* relay/internal.h: what relay/'s files share; private to relay/. */
#ifndef RELAY_INTERNAL_H
#define RELAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/uuid.h"
#include "http/loop.h"

#define RELAY_DEVICES_MAX 6
#define RELAY_CONTENT_MAX (96 * 1024) /* an envelope's bytes, decoded */
#define RELAY_KEYS_MAX    100         /* keys of one kind in one upload */
#define RELAY_EC_KEY      33          /* libsignal's serialized Curve25519 key: 0x05 + 32 */
#define RELAY_SIG         64
#define RELAY_KYBER_KEY   1569        /* 0x08 + a Kyber-1024 public key */
#define RELAY_REG_MAX     16380       /* registration ids are 1..16380, as libsignal makes them */
#define RELAY_KEYS_LOW    10          /* below this the owner hears keys.low */
#define RELAY_NAME_MAX    100
#define RELAY_ID_MAX      40          /* a user id with its NUL */

/* What relay_keys kinds are in the table. */
enum relay_kind { KIND_SIGNED = 1, KIND_EC = 2, KIND_KYBER = 3, KIND_LAST_RESORT = 4 };

struct relay_device {
	int64_t id, registration_id;
	const char *name, *created_at, *last_seen_at; /* name and last_seen_at may be NULL */
};

struct relay_key {
	int64_t key_id;
	const unsigned char *pub, *sig; /* sig NULL for one-time EC keys */
	size_t pub_len, sig_len;
};

/* PUT /keys: what is not given keeps what is stored. */
struct relay_upload {
	int64_t device_id;
	const unsigned char *identity; /* RELAY_EC_KEY bytes or NULL */
	bool has_signed, has_last_resort;
	struct relay_key signed_key, last_resort;
	int n_ec, n_kyber; /* -1: not given (0: given empty, which clears them) */
	struct relay_key *ec, *kyber;
};

/* One device's part of a bundle. */
struct relay_bundle {
	int64_t device_id, registration_id;
	struct relay_key signed_key, kyber;
	bool has_prekey;
	struct relay_key prekey;
};

/* A message on its way to one device's relay connection: made before the transaction that
 * queues it, given its seq inside, posted to the loop after the commit (in commit order, so
 * a device's messages reach it in seq order). */
struct relay_delivery {
	struct loop_post p;
	struct relay_delivery *next; /* in its batch */
	char user_id[RELAY_ID_MAX];
	int64_t device_id, seq;
	size_t n;
	char frame[];
};

/* One envelope of a send. */
struct relay_envelope {
	int64_t device_id, registration_id;
	int type; /* 1, 3, 6, 8; 0 for the original backend's simple form */
	const unsigned char *content;
	size_t len;
	struct relay_delivery *delivery;
};

/* Why a send was refused. */
enum relay_refusal { REFUSED_NOT, REFUSED_MISMATCH, REFUSED_STALE, REFUSED_FULL, REFUSED_SENDER };

struct relay_accept {
	const char *sender, *recipient;
	int64_t sender_device; /* 0: a socket without a device (the simple form) */
	char message_id[UUID_STR_LEN];
	char created_at[40];
	struct relay_envelope *env;
	int n;
	/* out, when it was refused: why, and the devices */
	enum relay_refusal refusal;
	int64_t missing[RELAY_DEVICES_MAX + 1], extra[RELAY_DEVICES_MAX + 1], stale[RELAY_DEVICES_MAX + 1];
	int nmissing, nextra, nstale;
	int64_t full_device; /* REFUSED_FULL: the device whose queue is full */
};

/* ---- store.c: the only SQL on relay_* ---------------------------------------------- */
/* The user's devices by id (at most RELAY_DEVICES_MAX), strings in a. 0 or ERR_DB. */
int relay_store_devices(struct arena *a, const char *user, struct relay_device *out, int *n);
/* Adds a device with the next id. ERR_BUSY: there are RELAY_DEVICES_MAX already. */
int relay_store_device_add(const char *user, int64_t registration_id, const char *name, int64_t *device_id);
/* The device, its keys and its queue. ERR_NOTFOUND. */
int relay_store_device_remove(const char *user, int64_t device_id);
/* One write transaction: the device was seen now. 0, ERR_NOTFOUND (the user has no such
 * device) or ERR_DB. */
int relay_store_device_seen(const char *user, int64_t device_id);
/* Stores what u gives. ERR_NOTFOUND (no such device), ERR_EXISTS (another identity key
 * from a device other than 1), ERR_INVAL (the account's first upload has no identity key). */
int relay_store_keys_put(const char *user, const struct relay_upload *u, int64_t *count, int64_t *kyber_count);
int relay_store_keys_count(const char *user, int64_t device_id, int64_t *count, int64_t *kyber_count);
/* One write transaction: a bundle per device with a signed prekey (device_id 0: all of
 * them), taking one one-time EC and one one-time Kyber prekey each; keys.low to the owner for
 * a device left below RELAY_KEYS_LOW. *identity is RELAY_EC_KEY bytes in a. ERR_NOTFOUND:
 * no such device with keys. */
int relay_store_keys_take(struct arena *a, const char *user, int64_t device_id, const unsigned char **identity,
                          struct relay_bundle *out, int *n);
/* One write transaction: checks x's envelopes against the recipient's devices and queues
 * them, then posts their deliveries after the commit. ERR_INVAL with x->refusal when refused:
 * REFUSED_MISMATCH (x->missing, x->extra), REFUSED_STALE (x->stale), REFUSED_FULL
 * (x->full_device's queue holds queue_max), REFUSED_SENDER (the sending device is not the
 * sender's). The deliveries are the caller's again on failure. */
int relay_store_accept(struct relay_accept *x, int64_t queue_max);
/* One queued message as read for its device. */
struct relay_row {
	int64_t seq, sender_device;
	int type;
	const char *message_id, *sender, *created_at;
	const unsigned char *content;
	size_t len;
};
/* Calls each(ctx, row) for the device's messages with seq > after, in order, at most max
 * rows and about max_bytes of content; *full: it stopped for a limit. 0, ERR_DB or each's. */
int relay_store_queue(const char *user, int64_t device_id, int64_t after, int max, size_t max_bytes,
                      int (*each)(void *ctx, const struct relay_row *row), void *ctx, bool *full);
/* One write transaction: deletes the device's messages with these ids and gives each
 * sender a delivered event. *acked: rows deleted. */
int relay_store_ack(const char *user, int64_t device_id, const char *const *ids, int n, int *acked);
/* One write transaction: up to limit of the oldest messages created before `before`. */
int relay_store_prune(const char *before, int limit, long *rows);
/* Inside the caller's transaction: everything of the user's (their queue, devices, keys). */
int relay_store_forget(const char *user);

/* ---- relay.c ---------------------------------------------------------------------------- */
/* Takes one token of the user's send (or key fetch) budget: 0, or ERR_BUSY with *retry_after
 * whole seconds. */
int relay_limit_send(const char *user, int *retry_after);
int relay_limit_keys(const char *user, int *retry_after);

/* ---- conns.c: the loop's side of the relay connections ------------------------------ */
/* A delivery of frame for the device (copied), or NULL when memory is short. */
struct relay_delivery *relay_delivery_new(const char *user, int64_t device_id, const char *frame, size_t n);
/* Posts d to the loop (it is freed there). */
void relay_delivery_post(struct relay_delivery *d);
/* Ends the device's relay connection, if it has one (it was removed). Any thread. */
void relay_kick(const char *user, int64_t device_id);

/* ---- send.c ---------------------------------------------------------------------------- */
/* The JSON frame of a message as a device receives it. */
int relay_message_frame(struct buf *out, const char *id, const char *from, int64_t from_device, int type,
                        const unsigned char *content, size_t len, const char *created_at);
/* Base64 (padding optional) into at most max bytes in a: 0, ERR_INVAL, ERR_TOOBIG, ERR_NOMEM. */
int relay_b64(struct arena *a, const char *s, size_t n, size_t max, const unsigned char **out, size_t *len);

/* How a send ended, for either transport to answer. */
struct relay_outcome {
	int err; /* -1: accepted (x.message_id); else an enum http_err */
	const char *message, *field;
	struct relay_accept x;
};
/* Sends body (a PUT /messages body or a socket's send frame; simple: the original backend's
 * {"to","payload"}) from the sender's device to user `to`. Any thread but the loop's. */
void relay_send(struct arena *a, const char *sender, int64_t sender_device, const char *to, const struct json *body,
                bool simple, struct relay_outcome *o);
/* http_error_more's writer of an outcome's device lists. */
struct jw;
void relay_outcome_lists(struct jw *w, const void *outcome);

#endif
