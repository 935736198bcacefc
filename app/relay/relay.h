/* relay/relay.h: the private messaging relay: devices, their public keys, and an offline
 * queue of end-to-end-encrypted envelopes the server relays and can never read (Signal-Server's
 * shapes). The only header other code includes from relay/. */
#ifndef RELAY_RELAY_H
#define RELAY_RELAY_H

#include "core/arena.h"
#include "core/err.h"
#include "core/json.h"
#include "http/route.h"
#include "hub/hub.h"

/* /devices, /keys, /messages. */
extern const struct route_table relay_routes;
/* A device's relay connection on GET /ws?device_id=N (hub_set_ws_part). */
extern const struct hub_ws_part relay_ws_part;

/* The rate limits, and the job that drops messages kept past RELAY_RETENTION. */
WUR int relay_start(void);
void relay_stop(void);

/* Inside the caller's transaction: the user's devices, keys and queued messages. */
WUR int relay_user_deleted(const char *user_id);
/* Writes the member "relay":{"devices":[...]} (public keys and messages are not the
 * person's data to read: the keys are public, the messages unreadable ciphertext). */
WUR int relay_user_export(struct arena *a, struct jw *w, const char *user_id);

#endif
