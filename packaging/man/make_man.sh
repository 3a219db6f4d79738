#!/bin/sh
# make_man.sh KHA SUBCOMMAND PAGE NAME VERSION INCLUDE OUTPUT.gz
# Renders a section 1 page from the binary's own --help with help2man, so the page
# cannot drift from the options the binary accepts. SUBCOMMAND "" documents kha
# itself; otherwise a one-line wrapper named PAGE (e.g. kha-proxy) runs
# "KHA SUBCOMMAND --help" and gives the page its title.
set -eu
kha=$1 sub=$2 page=$3 name=$4 version=$5 include=$6 out=$7
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$kha" "$sub" > "$tmp/$page"
chmod +x "$tmp/$page"
# Sanitizer builds run the binary too: leak reports are not wanted on --help.
ASAN_OPTIONS=detect_leaks=0 help2man --no-info --section=1 \
  --version-string="$page $version" --name="$name" --source="kha $version" --manual="kha manual" \
  --include="$include" --output="$tmp/page.1" "$tmp/$page"
# help2man fills EXAMPLES like prose; keep command lines as written, continuations indented.
awk '
  /^\.SH/ { if (ex) print ".fi\n.RE"; ex = ($2 ~ /^"?EXAMPLES?"?$/); print; if (ex) print ".RS 4\n.nf"; cont = 0; next }
  ex && /^\.(IP|PP|TP)/ { next }
  ex { print (cont ? "    " : "") $0; cont = /\\e$/; next }
  { print }
  END { if (ex) print ".fi\n.RE" }
' "$tmp/page.1" > "$tmp/page.fixed.1"
gzip -9n < "$tmp/page.fixed.1" > "$out"
