#!/usr/bin/env bash
# Every example in the docs runs, as written: the README's ```console blocks
# (lines starting with "$ "), each man page's EXAMPLES (the generated pages
# in the build tree and man/*.7) and each tool's --help "Examples:". They are
# extracted when the test runs, so a new example is covered without editing
# this file; a tool with no example found in one of the three fails the test
# (a broken extractor cannot pass).
#
# Each runs with bash (pipes and redirections as a user types them, plus
# pipefail and nounset) in a folder of its own, against the card the
# README's own nexsim commands make (README first, then the man pages and
# --help, nexsim's first), a radosgw bucket and local folders; the table
# below maps the docs' names to the test's. An example must exit 0 unless its
# text says otherwise: "exit N" in its comment or --help line ("exit N
# when ..." allows 0 or N), an option whose --help says "exit N when ..."
# (nexls --check: 3 when the report lists problems, which is checked too),
# --watch (runs until Ctrl-C: 130, after the test recorded a new incident on
# the card and it reached the destination), nexsim serve (runs until Ctrl-C:
# 0, after the camera answered at the URL it printed). What it names as its output
# (-o, --to, > FILE, files in its comment) must be there; "nothing printed"
# means no stdout. Where the README shows output, the shape of it is checked
# (table columns, JSON keys in order, report labels), not the values. A
# command an earlier page ran already (identical after the mapping) is not
# run again.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }
[ -s "${NEX_S3_ENV_FILE:-}" ] || { echo "no S3 server (NEX_S3_ENV_FILE)" >&2; exit 125; }
TOOLS="nexsim nexls nexcut nexsync"
for t in $TOOLS; do [ -x "$NEX_BIN/$t" ] || { echo "$t not built" >&2; exit 125; }; done
build=$(cd "$NEX_BIN/.." && pwd)
[ -d "$build/man" ] || { echo "no generated man pages (python3 missing at build time)" >&2; exit 125; }
# shellcheck disable=SC1090
. "$NEX_S3_ENV_FILE"
W=$WORK/docs
mkdir -p "$W"/{pages,expect,bin,outbox,lock,tmp,ci}
export NEX_SYNC_WORK_DIR="$W/.state" NEX_CONFIG="$W/.config.yaml"
: > "$NEX_CONFIG"

# ---- The docs' names and what the test puts there (the one place) ----------
# placeholder as the docs write it    what the examples get
SERVE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PLACES=(
  /media/customer-card   "$W/customer-card"  # a customer's damaged card: prepare_customer_card
  /media/card            card                # the card the README's nexsim commands make: $W/card;
  /mnt/card              card                #   every page runs in a folder where card links to it
  /mnt/nas/dashcam       "$W/nas"            # a local backup folder
  /run/lock/             "$W/lock/"          # flock's lock files
  /tmp/                  "$W/tmp/"
  127.0.0.1:8080         "127.0.0.1:$SERVE_PORT"  # nexsim serve's address: a free port
)
# Every s3://BUCKET/PREFIX the docs name is one backup in the test's bucket.
S3_BACKUP="s3://$NEX_S3_BUCKET/t$$-$RANDOM/backup"
# Shell variables the examples use: a CI step's fresh card is "$tmp/card".
EXAMPLE_VARS=(tmp="$W/ci" card="$W/ci/card" CARD="$W/ci/card" CI_PROJECT_DIR="$W/ci")
# Commands the examples call that would reach beyond the machine: stand-ins
# keep what they are given in $W/outbox.
for f in mail logger; do
  printf '#!/bin/sh\n# %s for the doc examples: the message stays in the outbox\n{ echo "%s $*"; [ %s = mail ] && cat; } > "%s/outbox/%s.$$"\nexit 0\n' \
    "$f" "$f" "$f" "$W" "$f" > "$W/bin/$f"
  chmod +x "$W/bin/$f"
done

# /media/customer-card as the README's support section shows it: a Nexar Pro
# (8G) whose camera clock was reset and which lost power in the middle of a
# segment (20261120_090100_1.mp4 without its index, torn sidecars).
prepare_customer_card() {
  local c=$W/customer-card
  nexsim init "$c" --model pro --capacity 8G -q
  nexsim drive "$c" --start 2026-11-20T08:40:00 --duration 4m --event hard-brake@1m -q
  nexsim drive "$c" --start 2026-11-20T09:00:00 --duration 2m --power-cut -q
  nexsim drive "$c" --duration 1m --clock-reset -q
} >/dev/null

# ---- Extraction -------------------------------------------------------------
# Each extractor prints "E<TAB>where<TAB>command<TAB>note" per example and
# "O<TAB>line" for output the docs show after it.
readme_examples() {
  awk '/^```console/ { inb = 1; next }
       /^```/ { inb = 0; next }
       !inb { next }
       /^\$ / { cmd = substr($0, 3); note = ""
                if (match(cmd, /[ \t]+#[ \t]/)) { note = substr(cmd, RSTART); sub(/^[ \t]+#[ \t]*/, "", note); cmd = substr(cmd, 1, RSTART - 1) }
                sub(/[ \t]+$/, "", cmd); printf "E\tline %d\t%s\t%s\n", NR, cmd, note; next }
       { printf "O\t%s\n", $0 }' "$1"
}
# roff EXAMPLES: the .nf/.fi blocks; "\e" line ends continue a command; a
# crontab line's schedule is dropped (the command is what runs); lines of a
# block that share shell variables (rc=...; [ $rc ...) are one script.
man_examples() {
  awk 'function unroff(s) { gsub(/\\-/, "-", s); gsub(/\\\(aq/, "\047", s); gsub(/\\\(dq/, "\"", s)
                            gsub(/\\f[BIRP]/, "", s); gsub(/\\&/, "", s); gsub(/\\e/, "\\\\", s); return s }
       function assigns(s,   m) {
         while (match(s, /(^|[;&| \t(])[A-Za-z_][A-Za-z0-9_]*=/)) {
           m = substr(s, RSTART, RLENGTH); sub(/^[;&| \t(]/, "", m); sub(/=$/, "", m); vars[m] = 1
           s = substr(s, RSTART + RLENGTH) } }
       function shares(s,   v) { for (v in vars) if (index(s, "$" v) || index(s, "${" v)) return 1; return 0 }
       function flush() { if (pend != "") printf "E\tline %d\t%s\t%s\n", pat, pend, pnote; pend = "" }
       /^\.SH/ { flush(); ex = ($0 ~ /^\.SH "?EXAMPLES/); next }
       !ex { next }
       /^\.nf/ { nf = 1; split("", vars); next }
       /^\.fi/ { flush(); nf = 0; next }
       !nf || /^\./ { next }
       { l = unroff($0)
         if (held != "") { sub(/^[ \t]+/, "", l); l = held " " l } else at = FNR
         if (l ~ /\\$/) { sub(/[ \t]*\\$/, "", l); held = l; next }
         held = ""; note = ""
         if (match(l, /^[0-9*][0-9*,\/-]*[ \t]+[0-9*][0-9*,\/-]*[ \t]+[0-9*][0-9*,\/-]*[ \t]+[0-9*][0-9*,\/-]*[ \t]+[0-9*][0-9*,\/-]*[ \t]+/)) {
           l = substr(l, RLENGTH + 1); note = "crontab" }
         if (match(l, /[ \t]+#[ \t]/)) { note = substr(l, RSTART); sub(/^[ \t]+#[ \t]*/, "", note); l = substr(l, 1, RSTART - 1) }
         sub(/[ \t]+$/, "", l)
         if (l == "") next
         if (pend != "" && shares(l)) { pend = pend "\037" l; pnote = pnote (note == "" ? "" : " " note) }
         else { flush(); pend = l; pat = at; pnote = note }
         assigns(l) }
       END { flush() }' "$1"
}
# --help: the lines under "Examples:"; a description follows two spaces.
help_examples() {
  "$1" --help | awk '/^Examples:/ { ex = 1; next }
       ex && /^[ \t]*$/ { exit }
       ex && /^  [^ ]/ { l = substr($0, 3); note = ""
                         if (match(l, /  +/)) { note = substr(l, RSTART + RLENGTH); l = substr(l, 1, RSTART - 1) }
                         printf "E\texample %d\t%s\t%s\n", ++n, l, note }'
}

X_SRC=() X_PAGE=() X_WHERE=() X_CMD=() X_NOTE=()
add_examples() {  # add_examples SOURCE PAGE < extractor output
  local kind a b c i=-1
  while IFS=$'\t' read -r kind a b c; do
    case $kind in
      E) i=${#X_CMD[@]}
         X_SRC+=("$1") X_PAGE+=("$2") X_WHERE+=("$a") X_CMD+=("${b//$'\037'/$'\n'}") X_NOTE+=("$c")
         : > "$W/expect/$i" ;;
      O) [ "$i" -ge 0 ] && printf '%s\n' "$a" >> "$W/expect/$i" ;;
    esac
  done
}
# Order: the README (it makes the card), then the man pages and the --help
# texts, nexsim's first (it adds footage), the others by name.
add_examples README README.md < <(readme_examples "$NEX_SOURCE_DIR/README.md")
pages=$(ls "$build"/man/*.[1-9] "$NEX_SOURCE_DIR"/man/*.[1-9] 2>/dev/null | awk -F/ '{ print ($NF ~ /^nexsim\./ ? 0 : 1) "\t" $NF "\t" $0 }' | sort | cut -f3)
for p in $pages; do add_examples man "$(basename "$p")" < <(man_examples "$p"); done
for t in $TOOLS; do add_examples help "$t --help" < <(help_examples "$t"); done

# ---- Running one -----------------------------------------------------------
map_places() {  # the command with the docs' names replaced by the test's (one pass)
  local s=$1 i
  for ((i = 0; i < ${#PLACES[@]}; i += 2)); do s=${s//"${PLACES[i]}"/$'\x01'$i$'\x02'}; done
  s=$(sed -E "s|s3://[A-Za-z0-9._-]+/[A-Za-z0-9._-]+|$S3_BACKUP|g" <<< "$s")
  for ((i = 0; i < ${#PLACES[@]}; i += 2)); do s=${s//$'\x01'$i$'\x02'/"${PLACES[i + 1]}"}; done
  printf '%s' "$s"
}
tool_of() {  # the nex tool a command line runs last (nexls ... | nexcut ...: nexcut)
  grep -oE '(^|[[:space:]|;&(])(nexsim|nexls|nexcut|nexsync)([[:space:]]|$)' <<< "$1" | tail -1 | tr -d ' \t|;&(' || true
}
# Options whose --help says "exit N when ...": N is the documented outcome
# too (nexls --check: problems found).
OPTION_EXITS=$(for t in $TOOLS; do "$t" --dump-cli | jq -r --arg t "$t" \
  '.. | objects | select(.names? and ((.description // "") | test("exit [0-9]+ when"))) |
   "\($t) \(.names[] | select(startswith("--"))) \(.description | capture("exit (?<n>[0-9]+) when").n)"'; done)
allowed_exits() {  # allowed_exits CMD NOTE TOOL -> "0 3" ...
  local want=0 t opt n
  if [[ $2 =~ exit\ ([0-9]+)\ (when|if) ]]; then want="0 ${BASH_REMATCH[1]}"
  elif [[ $2 =~ exit\ ([0-9]+) ]]; then want=${BASH_REMATCH[1]}
  fi
  while read -r t opt n; do
    [ "$t" = "$3" ] && [[ " $1 " == *" $opt "* ]] && want="$want $n"
  done <<< "$OPTION_EXITS"
  echo "$want"
}
# The shape of what the README shows after a command, found in what it printed:
# a table header's columns, a JSON line's keys (in order), a report's labels.
check_shape() {  # check_shape EXPECTED ACTUAL -> messages on stdout
  local line cols keys label rows=0 header=""
  while IFS= read -r line; do
    [ -n "${line//[[:space:]]/}" ] || continue
    if [[ $line =~ ^[A-Z][A-Z0-9\ ]*[A-Z0-9]$ && $line == *"  "* ]]; then
      cols=$(sed -E 's/ {2,}/|/g' <<< "$line"); header=$cols
      sed -E 's/ {2,}/|/g' "$2" | grep -qxF -- "$cols" || echo "no table with the columns $cols"
    elif [[ $line == "{"* ]]; then
      keys=$(jq -c keys_unsorted <<< "$line")
      jq -c 'select(type == "object") | keys_unsorted' "$2" 2>/dev/null | grep -qxF -- "$keys" || echo "no JSON line with the keys $keys"
    elif [[ $line =~ ^([a-z][a-z\ ]*):\  ]]; then
      label=${BASH_REMATCH[1]}
      grep -q "^$label: " "$2" || echo "no '$label:' line"
    elif [ -n "$header" ]; then
      rows=$((rows + 1))
    fi
  done < "$1"
  if [ -n "$header" ] && [ "$rows" -gt 0 ]; then
    [ "$(grep -cvE '^[[:space:]]*$' "$2")" -gt 1 ] || echo "the table has no rows"
  fi
}
# What an example names as its output is there afterwards: -o/--to/> targets,
# files its note lists.
check_outputs() {  # check_outputs CMD NOTE (in the example's folder)
  local w prev="" f
  local -a words targets=()
  read -r -d '' -a words <<< "${1//>/ > }"
  for w in "${words[@]}"; do
    case $prev in   # (nexcut --to is a time; nexsync pull --to a folder)
      -o|--output|">") [[ $w == -* ]] || targets+=("${w//\"/}") ;;
      --to) [[ $w == [-+0-9]* ]] || targets+=("${w//\"/}") ;;
    esac
    prev=$w
  done
  for f in $(grep -oE '[A-Za-z0-9_./-]+\.(mp4|jpg|gpx|json|csv)' <<< "$2"); do targets+=("$f"); done
  for f in "${targets[@]}"; do
    [ "$f" = - ] && continue
    f=$(env "${EXAMPLE_VARS[@]}" bash -c "printf %s \"$f\"")
    if [ -d "$f" ]; then [ -n "$(ls -A "$f")" ] || echo "$f is empty"
    elif [ -s "$f" ] || compgen -G "${f%.*}_*" >/dev/null; then :
    else echo "no $f"
    fi
  done
}
# --watch follows the card: the test records a parking incident on it, as the
# camera would, waits for it to reach the destination, then presses Ctrl-C.
run_watch() {  # run_watch CMD (in the example's folder) -> exit status
  local -a words
  read -ra words <<< "$1"
  local card=${words[1]} dest=${words[2]} new pid
  setsid env "${EXAMPLE_VARS[@]}" bash -o pipefail -o nounset -c "$1" < /dev/null > .out 2> .err & pid=$!
  nexls "$card" --events --format ndjson | jq -r .id | sort > .events.before
  nexsim park "$card" --duration 10m --incident impact@1m -q > /dev/null
  new=$(nexls "$card" --events --format ndjson | jq -r .id | sort | comm -13 .events.before -)
  [ -n "$new" ] || fail "nexsim park made no new incident"
  arrived() { nexls "$dest" --events --format ndjson 2>/dev/null | grep -q "\"$new\"" || ! kill -0 $pid 2>/dev/null; }
  wait_for 300 "the --watch run to upload $new to $dest" arrived
  kill -INT -- -$pid 2>/dev/null || true
  local rc=0; wait $pid || rc=$?
  nexls "$dest" --events --format ndjson | grep -q "\"$new\"" || echo "--watch did not upload $new" >> .problems
  return $rc
}

# nexsim serve runs until Ctrl-C: once it printed its URL, the camera must
# answer as one (/api/info), then Ctrl-C ends it with exit 0.
run_serve() {  # run_serve CMD (in the example's folder) -> exit status
  local pid url
  setsid env "${EXAMPLE_VARS[@]}" bash -o pipefail -o nounset -c "$1" < /dev/null > .out 2> .err & pid=$!
  ready() { [ -s .out ] || ! kill -0 $pid 2>/dev/null; }
  wait_for 120 "nexsim serve to print its URL" ready
  url=$(head -1 .out)
  if [ "$(curl -sf "$url/api/info" | jq -r .kind)" != nex-camera ]; then echo "$url/api/info is not a camera" >> .problems; fi
  kill -INT -- -$pid 2>/dev/null || true
  local rc=0; wait $pid || rc=$?
  return $rc
}

failures=()
declare -A ran=() counts=() runs=()
prepare_customer_card
for ((i = 0; i < ${#X_CMD[@]}; i++)); do
  src=${X_SRC[i]} page=${X_PAGE[i]} where=${X_WHERE[i]} note=${X_NOTE[i]}
  cmd=$(map_places "${X_CMD[i]}")
  tool=$(tool_of "$cmd")
  label="$page $where"
  counts[$src/${tool:-none}]=$((${counts[$src/${tool:-none}]:-0} + 1))
  runs[$src/${tool:-none}]=$((${runs[$src/${tool:-none}]:-0} + 1))
  [ -n "$tool" ] || { failures+=("$label: runs none of $TOOLS: ${X_CMD[i]}"); continue; }
  if [ "$src" = README ]; then dir=$W; else
    dir=$W/pages/${page// /_}; mkdir -p "$dir"; [ -e "$dir/card" ] || ln -s ../../card "$dir/card"
  fi
  # a path the table does not map would reach outside the test
  for p in $(grep -oE '(^|[[:space:]"'\''=<>])/[^[:space:]"'\'';|&)]*' <<< "$cmd" | sed -E 's/^[^/]//'); do
    [[ $p == "$WORK"* || $p == /dev/null ]] || { failures+=("$label: no placeholder for $p: ${X_CMD[i]}"); continue 2; }
  done
  # the same command in an earlier page has run already (nexsim init twice
  # on one card would not work, and need not)
  key=$(tr -s ' ' <<< "$cmd")
  if [ -n "${ran[$key]:-}" ] && [ "${ran[$key]}" != "$page" ]; then
    echo "same  $label: ${cmd//$'\n'/; } (as ${ran[$key]})"
    runs[$src/$tool]=$((runs[$src/$tool] - 1))
    continue
  fi
  ran[$key]=${ran[$key]:-$page}
  t0=$SECONDS
  (
    set +e; cd "$dir"; : > .problems; rm -f "$W"/outbox/*
    rc=0
    if [[ " $cmd " == *" --watch "* ]]; then
      want=130; run_watch "$cmd" || rc=$?
    elif [[ " $cmd " == *" nexsim serve "* ]]; then
      want=0; run_serve "$cmd" || rc=$?
    else
      want=$(allowed_exits "$cmd" "$note" "$tool")
      PATH="$W/bin:$PATH" env "${EXAMPLE_VARS[@]}" bash -o pipefail -o nounset -c "$cmd" < /dev/null > .out 2> .err || rc=$?
    fi
    [[ " $want " == *" $rc "* ]] || echo "exited $rc, the docs imply ${want// / or }" >> .problems
    if [ "$rc" = 0 ] && grep -q "error:" .err; then echo "exit 0 with an error on stderr" >> .problems; fi
    if [[ $note == *"nothing printed"* ]] && [ -s .out ]; then echo "printed something; the docs say nothing" >> .problems; fi
    if grep -q '^verdict:' .out && [[ " $want " == *" 3 "* ]]; then
      if grep -q '^verdict: *card is clean' .out; then [ "$rc" = 0 ] || echo "clean card, exit $rc" >> .problems
      else [ "$rc" = 3 ] || echo "problems found, exit $rc" >> .problems; fi
    fi
    [ -s "$W/expect/$i" ] && check_shape "$W/expect/$i" .out >> .problems
    [ "$rc" != 0 ] || check_outputs "$cmd" "$note" >> .problems
    for m in "$W"/outbox/*; do [ -e "$m" ] && echo "      ($(head -1 "$m"): $(($(wc -l < "$m") - 1)) lines)"; done
    if [ -s .problems ]; then
      echo "FAIL  $label: ${cmd//$'\n'/; }"; sed 's/^/      /' .problems
      echo "      --- stdout"; head -20 .out | sed 's/^/      /'; echo "      --- stderr"; head -20 .err | sed 's/^/      /'
      exit 1
    fi
    echo "ok    $label: ${cmd//$'\n'/; } (exit $rc, $((SECONDS - t0))s)"
  ) || failures+=("$label: ${X_CMD[i]}")
done

echo
echo "examples per tool: found (run here; the others are an earlier page's command)"
zero=()
for src in README man help; do
  line=$(printf '  %-7s' "$src")
  for t in $TOOLS; do
    line="$line $(printf '%-16s' "$t ${counts[$src/$t]:-0} (${runs[$src/$t]:-0})")"
    [ "${counts[$src/$t]:-0}" -gt 0 ] || zero+=("$src/$t")
  done
  echo "$line"
done
[ ${#zero[@]} -eq 0 ] || fail "no examples found for ${zero[*]}: is the extractor broken?"
if [ ${#failures[@]} -gt 0 ]; then
  printf '  %s\n' "${failures[@]}" >&2
  fail "${#failures[@]} of ${#X_CMD[@]} examples do not run as the docs say"
fi
echo "ok: ${#X_CMD[@]} examples"
