/* users/users.h: people: profiles, roles, contacts. The users table belongs to this domain;
 * auth/ signs people in through these functions and never touches the table itself. */
#ifndef USERS_USERS_H
#define USERS_USERS_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/uuid.h"
#include "http/route.h"

extern const struct route_table users_routes;

/* A user row; strings live in the arena given to the lookup, NULL when unset. */
struct user {
	const char *id, *email, *phone, *password_hash, *name, *bio, *country, *locale;
	const char *avatar_media_id, *finance, *role, *email_verified_at, *created_at, *updated_at;
	bool disabled;
};

/* 0, or ERR_NOTFOUND, or ERR_DB. */
WUR int users_by_id(struct arena *a, const char *id, struct user *u);
WUR int users_by_email(struct arena *a, const char *email, struct user *u);
WUR int users_by_phone(struct arena *a, const char *phone, struct user *u);
/* Creates a user inside the caller's transaction; email or phone (or both); password_hash
 * may be NULL. ERR_EXISTS when the email or phone is taken. */
WUR int users_create(const char *email, const char *phone, const char *password_hash,
                     const char *name, const char *role, char id[UUID_STR_LEN]);
WUR int users_set_password(const char *id, const char *password_hash);
WUR int users_mark_email_verified(const char *id);
/* The JSON of a user: full (own profile, admins) or the public card. */
void users_json(struct jw *w, const struct user *u, bool full);
/* A plausible email address (the mail server has the last word). */
bool users_email_ok(const char *email);
/* E.164: + and 8 to 15 digits. */
bool users_phone_ok(const char *phone);

#endif
