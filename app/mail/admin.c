/* mail/admin.c: GET /admin/outbox, and an outbox row as the API shows it. An admin sees what
 * was sent and why something was not, never the secret in a message (links, codes) outside
 * dev mode: an admin must not be able to take over another account from here. */
#include <string.h>

#include "core/config.h"
#include "mail/internal.h"

void outbox_json(struct jw *w, const struct outbox_row *m)
{
	jw_obj(w);
	jw_kstr(w, "id", m->id);
	jw_kstr(w, "channel", m->channel);
	jw_kstr(w, "recipient", m->recipient);
	jw_kstr(w, "subject", m->subject);
	jw_kstr(w, "body", m->body);
	jw_kstr(w, "state", m->state);
	jw_kint(w, "attempts", m->attempts);
	jw_kstr(w, "next_attempt_at", m->next_attempt_at);
	jw_kstr(w, "last_error", m->last_error);
	jw_kstr(w, "created_at", m->created_at);
	jw_kstr(w, "sent_at", m->sent_at);
	jw_obj_end(w);
}

static void outbox_item(struct jw *w, const void *p)
{
	outbox_json(w, p);
}

int outbox_list_get(struct req *r)
{
	struct page pg;
	struct page_out out;
	const char *state = req_query(r, "state");
	int rc = req_page_of(r, &pg);
	if (rc)
		return rc;
	static const char *const states[] = {"queued", "sending", "sent", "failed", "unknown"};
	bool state_ok = !state;
	for (size_t i = 0; state && i < 5; i++)
		state_ok = state_ok || strcmp(state, states[i]) == 0;
	if (!state_ok)
		return http_error(r, E_INVALID_INPUT,
		                  "state must be queued, sending, sent, failed or unknown", "state");
	if ((rc = outbox_list(&r->arena, state, &pg, &out)))
		return rc;
	struct outbox_row *rows = out.items;
	for (size_t i = 0; i < out.n && !config_dev(); i++)
		if (!(rows[i].body = outbox_redact(&r->arena, rows[i].body, rows[i].secret)))
			return ERR_NOMEM;
	return res_page(r, &out, sizeof *rows, outbox_item);
}
