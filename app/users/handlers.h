/* users/handlers.h: the users domain's handlers, private to users/. */
#ifndef USERS_HANDLERS_H
#define USERS_HANDLERS_H

#include "http/req.h"
#include "store/db.h"

int me_get(struct req *r);
int me_put(struct req *r);
int user_get(struct req *r);
int admin_users_list(struct req *r);
int admin_user_patch(struct req *r);
int contacts_list(struct req *r);
int contacts_add(struct req *r);
int contacts_remove(struct req *r);

/* Answers {"items":[users],"next_cursor"} from st, a bound statement whose rows' first
 * column is a user id and that selects up to limit + 1 rows; st is done afterwards.
 * full: whole records, disabled users included (admins); else public cards of active users. */
int users_page(struct req *r, sqlite3_stmt *st, int limit, bool full);

#endif
