#!/bin/sh
# test/seams.sh: the layering rules that let a second engine, new domains and reviewers in,
# checked on every build (meson test "seams"). Prints each violation; exit 1 if any.
#  1. Only app/store/ and a domain's store.c touch the database: SQLite's API, statements
#     and their helpers appear nowhere else.
#  2. http/ never includes store/, and store/ never includes http/ (core/ includes neither).
#  3. A domain includes another domain only through its public header <domain>/<domain>.h.
cd "${1:-.}" || exit 2
bad=0
say() { echo "seams: $*"; bad=1; }

engine='sqlite3|db_stmt|db_prep|db_step|db_col|db_bind|db_run\(|db_row\(|db_page\(|db_text\(|db_done\(|db_changes\('
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

[ $bad -eq 0 ] && echo "seams: ok"
exit $bad
