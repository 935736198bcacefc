#!/bin/sh
# test/seams.sh: the layering rules that let a second engine, new domains and reviewers in,
# checked on every build (meson test "seams"). Prints each violation; exit 1 if any.
#  1. Only app/store/ and a domain's store.c touch the database: SQLite's API, statements
#     and their helpers appear nowhere else.
#  2. http/ never includes store/, and store/ never includes http/ (core/ includes neither).
#  3. A domain includes another domain only through its public header <domain>/<domain>.h.
#  4. A domain's SQL names only its own tables (each table has one owner, listed below).
cd "${1:-.}" || exit 2
bad=0
say() { echo "seams: $*"; bad=1; }

engine='sqlite3|db_stmt|db_prep|db_step|db_col|db_bind|db_run\(|db_row\(|db_page\(|db_text\(|db_done\(|db_changes\(|db_exec\('
for f in $(find app -name '*.[ch]' ! -path 'app/store/*' ! -name store.c ! -name embedgen.c | sort); do
	grep -nE "$engine" "$f" | sed "s|^|$f:|" | while IFS= read -r line; do echo "seams: database call outside a store file: $line"; done
	grep -qE "$engine" "$f" && bad=1
done

for f in $(find app/http app/core -name '*.[ch]'); do
	if grep -nE '#include "store/' "$f" >/dev/null; then say "$f includes store/ (http/ and core/ know nothing of the engine)"; fi
done
for f in $(find app/store app/core -name '*.[ch]'); do
	if grep -nE '#include "http/' "$f" >/dev/null; then say "$f includes http/"; fi
done

for d in $(find app -mindepth 1 -maxdepth 1 -type d | sed 's|app/||' | sort); do
	case $d in core | http | store) continue ;; esac
	for f in $(find "app/$d" -name '*.[ch]'); do
		grep -oE '#include "[a-z_]+/[a-z_]+\.h"' "$f" | sed 's/#include "//; s/"$//' | while IFS=/ read -r dom hdr; do
			case $dom in core | http | store | "$d") continue ;; esac
			[ "$hdr" = "$dom.h" ] || echo "seams: $f includes $dom/$hdr: another domain only through $dom/$dom.h"
		done | grep . && bad=1
	done
done

# table owner: a new table gets its line here, in the same change as its migration
owners='
users users
contacts users
refresh_tokens auth
email_tokens auth
otp_codes auth
sessions auth
media media
gallery_items media
chats chat
chat_messages chat
copilot_sessions copilot
copilot_details copilot
outbox mail
instance system
event_streams hub
events hub
relay_accounts relay
relay_devices relay
relay_keys relay
relay_queue relay
'
owner_of() { echo "$owners" | awk -v t="$1" '$1 == t { print $2 }'; }
tables=$(cat schema/*.sql | grep -oiE 'CREATE (VIRTUAL )?TABLE (IF NOT EXISTS )?[a-z_]+' | awk '{ print tolower($NF) }' | sort -u)
for t in $tables; do
	[ -n "$(owner_of "$t")" ] || say "table $t (schema/) has no owner in test/seams.sh"
done
for f in $(find app -name store.c ! -path 'app/store/*' | sort); do
	d=$(echo "$f" | cut -d/ -f2)
	for t in $(grep -oiE '(FROM|JOIN|INTO|UPDATE) +[a-z_]+' "$f" | awk '{ print tolower($2) }' | sort -u); do
		o=$(owner_of "$t")
		[ -z "$o" ] || [ "$o" = "$d" ] || say "$f uses table $t, which belongs to $o/: call $o/$o.h instead"
	done
done

[ $bad -eq 0 ] && echo "seams: ok"
exit $bad
