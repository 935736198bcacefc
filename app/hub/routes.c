/* hub/routes.c: the hub's route table and nothing else. */
#include "hub/hub.h"
#include "hub/internal.h"

static const struct route routes[] = {
	{"GET", "/ws", hub_ws, ACCESS_USER, 0,
	 "The live connection (WebSocket): the caller's events, replayed from ?since=, then live; "
	 "presence, typing and read between mutual contacts; with ?device_id=N also that relay device's "
	 "messages (queue, then queue_empty, then live; send and ack frames)",
	 NULL, NULL, 101, "websocket"},
	{"GET", "/api/v1/events", hub_events, ACCESS_USER, 0,
	 "The caller's events as Server-Sent Events (id: is the seq; Last-Event-ID or ?since= resumes)",
	 NULL, NULL, 200, "text/event-stream"},
};

const struct route_table hub_routes = ROUTE_TABLE("hub", routes, "Real time: one hub for every live event");
