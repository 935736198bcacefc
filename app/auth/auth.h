/* auth/auth.h: signing in: passwords, phone codes, access and refresh tokens, mailed links.
 * Owns the refresh_tokens, email_tokens and otp_codes tables. The only header other code
 * may include from auth/. */
#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H

#include "core/buf.h"
#include "http/route.h"

extern const struct route_table auth_routes;

/* Rate limiters and the access check (server_authenticate); after config_load. */
WUR int auth_init(void);
void auth_shutdown(void);
/* CLI `app admin create EMAIL`: makes EMAIL an admin (creating the account if needed) and
 * writes a one-time set-password link into link. After migrations, without a server. */
WUR int auth_admin_create(const char *email, struct buf *link, struct buf *msg);

#endif
