/* relay/handlers.h: the relay's route handlers, for routes.c. */
#ifndef RELAY_HANDLERS_H
#define RELAY_HANDLERS_H

struct req;
int devices_add(struct req *r);
int devices_list(struct req *r);
int devices_remove(struct req *r);
int keys_put(struct req *r);
int keys_count(struct req *r);
int keys_bundle(struct req *r);
int messages_put(struct req *r);

#endif
