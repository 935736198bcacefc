/* users/handlers.h: the users domain's handlers, private to users/. Handlers get typed rows
 * from users/users.h; they never see a statement. */
#ifndef USERS_HANDLERS_H
#define USERS_HANDLERS_H

#include "http/req.h"

int me_get(struct req *r);
int me_put(struct req *r);
int me_delete(struct req *r);
int me_export(struct req *r);
int user_get(struct req *r);
int admin_users_list(struct req *r);
int admin_user_patch(struct req *r);
int contacts_list(struct req *r);
int contacts_add(struct req *r);
int contacts_remove(struct req *r);

#endif
