#!/usr/bin/env bash
# Adds <codename>-backports to apt's sources from the Debian mirror the machine already uses, so a box
# behind a local or corporate mirror keeps using it. Called by setup-host.sh; on its own:
#   bash bin/apt-backports.sh [APT_DIR] [CODENAME]     (defaults: /etc/apt, this system's codename)
# Prints what it did; exit 0 when backports is (now) configured, also when it had to fall back.
set -euo pipefail

apt_dir=${1:-/etc/apt}
codename=${2:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}
out="$apt_dir/sources.list.d/hoody-backports.sources"
fallback_uri=http://deb.debian.org/debian
default_key=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf '[setup] %s\n' "$*"; }

source_files() {
  [ -f "$apt_dir/sources.list" ] && echo "$apt_dir/sources.list"
  find "$apt_dir/sources.list.d" -maxdepth 1 -type f \( -name '*.list' -o -name '*.sources' \) 2>/dev/null | sort
  return 0
}

# Every "deb" entry as one line: URI, suite, components, signed-by, file, split by \037 (a tab
# would collapse an empty field in `read`). Both formats:
# one-line (.list: `deb [signed-by=…] URI suite comp…`) and deb822 (.sources: stanzas of fields).
entries() {
  local f
  while read -r f; do
    case "$f" in
      *.list)
        sed -e 's/#.*//' "$f" | awk -v file="$f" '
          $1 == "deb" {
            key = ""; i = 2
            if ($2 ~ /^\[/) {
              opts = ""
              for (; i <= NF; i++) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } }
              if (match(opts, /signed-by=[^] ]+/)) key = substr(opts, RSTART + 10, RLENGTH - 10)
            }
            uri = $i; suite = $(i + 1); comps = ""
            for (j = i + 2; j <= NF; j++) comps = comps (comps ? " " : "") $j
            printf "%s\037%s\037%s\037%s\037%s\n", uri, suite, comps, key, file
          }'
        ;;
      *.sources)
        awk -v file="$f" '
          function flush() {
            if (types ~ /(^| )deb( |$)/ && enabled != "no")
              for (u = 1; u <= nu; u++) for (s = 1; s <= ns; s++) printf "%s\037%s\037%s\037%s\037%s\n", U[u], S[s], comps, key, file
            types = ""; enabled = ""; comps = ""; key = ""; nu = 0; ns = 0
          }
          /^[ \t]*#/ { next }
          /^[ \t]*$/ { flush(); next }
          {
            field = tolower($1); sub(/:$/, "", field); $1 = ""; sub(/^ +/, ""); value = $0
            if (field == "types") types = value
            else if (field == "uris") nu = split(value, U, " ")
            else if (field == "suites") ns = split(value, S, " ")
            else if (field == "components") comps = value
            else if (field == "signed-by") key = value
            else if (field == "enabled") enabled = tolower(value)
          }
          END { flush() }' "$f"
        ;;
    esac
  done < <(source_files)
}

if entries | awk -F'\037' -v s="$codename-backports" '$2 == s { found = 1 } END { exit !found }'; then
  log "$codename-backports is already in apt's sources"
  exit 0
fi

# The main archive's mirror: the URI that carries "<codename>" itself (not -security or -updates).
# The key is kept only when it is a file path (an inline key block is not repeated here).
pick=$(entries | awk -F'\037' -v s="$codename" '!picked && $2 == s && $3 ~ /(^| )main( |$)/ { print; picked = 1 }')
if [ -n "$pick" ]; then
  IFS=$'\037' read -r uri _ _ key file <<<"$pick"
  [[ "$key" == /* ]] || key=$default_key
  log "adding $codename-backports from $uri (the mirror $file uses) to $out"
else
  uri=$fallback_uri
  key=$default_key
  log "no apt source in $apt_dir names a Debian mirror for '$codename' with component main;"
  log "adding $codename-backports from $uri to $out (edit it to use your mirror)"
fi
mkdir -p "$(dirname "$out")"
cat >"$out" <<SRC
Types: deb
URIs: ${uri%/}
Suites: $codename-backports
Components: main
Signed-By: $key
SRC
