/* users/users.h: people: profiles, roles, contacts. The users and contacts tables belong to
 * this domain; every other domain (auth signing people in, media showing avatars and
 * galleries) goes through these functions and never touches the tables itself. */
#ifndef USERS_USERS_H
#define USERS_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/page.h"
#include "core/uuid.h"
#include "http/route.h"

extern const struct route_table users_routes;
/* Drop-in routes for the original backends' clients (GET /user-detail/{id}). */
extern const struct route_table users_compat_routes;

/* A user row; strings live in the arena given to the lookup, NULL when unset. */
struct user {
	const char *id, *email, *phone, *password_hash, *name, *bio, *country, *locale;
	const char *avatar_media_id, *finance, *role, *email_verified_at, *created_at, *updated_at;
	bool disabled;
	bool show_presence; /* contacts may see whether they are online */
	int64_t session_gen; /* access tokens issued under another generation are refused */
};

/* A change to a profile: a field is written only when its has_ flag is set; a NULL value
 * then clears it (name and bio are never NULL: the caller checks). finance is JSON text. */
struct user_changes {
	bool has_name, has_bio, has_country, has_phone, has_avatar, has_locale, has_finance;
	const char *name, *bio, *country, *phone, *avatar_media_id, *locale, *finance;
	int show_presence; /* -1 keeps it, 0 or 1 sets it */
};

/* ---- reads: 0, ERR_NOTFOUND, ERR_NOMEM or ERR_DB ------------------------------------ */
WUR int users_by_id(struct arena *a, const char *id, struct user *u);
WUR int users_by_email(struct arena *a, const char *email, struct user *u);
WUR int users_by_phone(struct arena *a, const char *phone, struct user *u);
/* Newest first, every user (disabled ones too): q (may be NULL) matches email, name or phone
 * as a substring, role (may be NULL) filters. out->items are struct user. */
WUR int users_search(struct arena *a, const char *q, const char *role, const struct page *pg,
                     struct page_out *out);
/* True when some user shows media_id as their avatar (anyone who sees the card may read
 * it). False on a database error (logged): fails closed. */
bool users_avatar_in_use(const char *media_id);

/* ---- writes: inside the caller's transaction (db_begin .. db_commit) ----------------- */
/* Creates a user; email or phone (or both); password_hash may be NULL. ERR_EXISTS when the
 * email or phone is taken. */
WUR int users_create(const char *email, const char *phone, const char *password_hash,
                     const char *name, const char *role, char id[UUID_STR_LEN]);
/* 0, ERR_NOTFOUND (no such user) or ERR_DB. */
WUR int users_set_password(const char *id, const char *password_hash);
WUR int users_mark_email_verified(const char *id);
/* Also ERR_EXISTS: the new phone belongs to another account. */
WUR int users_update(const char *id, const struct user_changes *c);
/* role NULL keeps the role; disabled -1 keeps the state, 0 or 1 sets it. */
WUR int users_set_access(const char *id, const char *role, int disabled);
/* Every avatar that shows media_id goes back to none (the media is being deleted). */
WUR int users_clear_avatar_media(const char *media_id);
/* Ends every access token of the user at its next request (sign out everywhere, a password
 * reset): the session generation goes up by one. 0, ERR_NOTFOUND or ERR_DB. */
WUR int users_bump_session_gen(const char *id);

/* ---- contacts: a person's address book; only its owner ever sees it ------------------ */
/* owner's contacts that are not disabled, by contact id; out->items are struct user. */
WUR int contacts_page(struct arena *a, const char *owner_id, const struct page *pg, struct page_out *out);
/* Inside the caller's transaction. *added is false when contact_id already was one. */
WUR int contacts_insert(const char *owner_id, const char *contact_id, bool *added);
/* Inside the caller's transaction. ERR_NOTFOUND when it was not a contact. */
WUR int contacts_delete(const char *owner_id, const char *contact_id);
/* True when owner_id has added contact_id. False on a database error (logged): fails
 * closed, so a failure never shows more than it should. */
bool contacts_linked(const char *owner_id, const char *contact_id);
/* The people user_id has as contacts who have user_id as a contact too (at most max, by id),
 * as strings in a, and whether each shows their presence. 0 or an error. */
WUR int contacts_mutual(struct arena *a, const char *user_id, int max, const char ***ids, bool **shown, int *n);

/* ---- account deletion and export ------------------------------------------------------ */
/* What one domain keeps about a person, for DELETE /users/me and GET /users/me/export. main.c
 * lists one row per domain (like the route tables); a new domain adds one line there.
 * deleted runs inside the open write transaction of the deletion, before the user row goes
 * (it may still read it), and never begins or commits; export writes one JSON member (key
 * and value) and never a password hash, token hash or secret, or is NULL for a domain that
 * keeps nothing of its own to show (only copies). Both: 0 or a negative error. */
struct user_hook {
	const char *name;
	int (*deleted)(const char *user_id);
	int (*export)(struct arena *a, struct jw *w, const char *user_id);
};
/* Before the server starts; the table must outlive it. */
void users_set_hooks(const struct user_hook *hooks, size_t n);
/* Inside the caller's open write transaction: deletes the contacts the user made and the
 * entries naming the user in other people's contacts. Not the user row itself: that goes
 * last, with users_delete, once every domain has deleted what it keeps. */
WUR int users_user_deleted(const char *user_id);
/* Inside the caller's transaction: the user row. ERR_NOTFOUND when there is none. */
WUR int users_delete(const char *user_id);
/* Writes the member "account":{"profile":{...},"contacts":[...]} (never the password
 * hash). 0, ERR_NOTFOUND, ERR_NOMEM or ERR_DB. */
WUR int users_user_export(struct arena *a, struct jw *w, const char *user_id);

/* The JSON of a user: full (own profile, admins) or the public card. */
void users_json(struct jw *w, const struct user *u, bool full);
/* A plausible email address (the mail server has the last word). */
bool users_email_ok(const char *email);
/* E.164: + and 8 to 15 digits. */
bool users_phone_ok(const char *phone);

#endif
