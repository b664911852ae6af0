#!/usr/bin/env bash
# Man pages and completions are generated from the tools' option definitions;
# check them against what --help says, and load the bash completion in a
# real bash.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "jq missing" >&2; exit 125; }
build=$(cd "$NEX_BIN/.." && pwd)
[ -d "$build/man" ] || { echo "no generated docs (python3 missing at build time)" >&2; exit 125; }

for tool in nexsim nexls nexcut nexsync; do
  [ -x "$NEX_BIN/$tool" ] || continue
  page="$build/man/$tool.1"
  [ -f "$page" ] || fail "$tool: no man page"
  for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"; do
    grep -q "^\.SH $s" "$page" || fail "$tool.1 lacks $s"
  done
  sed 's/\\-/-/g' "$page" > "$WORK/page"
  # every option --help shows (tool and each subcommand) is in the man page ...
  { "$tool" --help; for sub in $("$tool" --dump-cli | jq -r '.subcommands[].name'); do "$tool" "$sub" --help; done; } \
    | grep -E -- '^ +(-[a-zA-Z], ?)?--[a-z]' | grep -oE -- '--[a-z][a-z0-9-]*' \
    | sort -u > "$WORK/help-opts"
  while read -r opt; do
    grep -qE -- "\\\\fB$opt\\\\fR" "$WORK/page" || fail "$tool: $opt is in --help but not in the man page"
  done < "$WORK/help-opts"
  # ... and the man page documents no option that does not exist
  grep -oE -- '\\fB--[a-z][a-z0-9-]*\\fR' "$WORK/page" | sed 's/\\fB//; s/\\fR//' | sort -u > "$WORK/man-opts"
  while read -r opt; do
    grep -qx -- "$opt" "$WORK/help-opts" || fail "$tool: man page documents $opt, which --help does not know"
  done < "$WORK/man-opts"
  for f in "$build/completions/bash/$tool" "$build/completions/zsh/_$tool" "$build/completions/fish/$tool.fish"; do
    [ -s "$f" ] || fail "missing completion $f"
  done
done

# bash completion in a real bash
complete_words() {  # complete_words TOOL WORD... : completions of the last word
  bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    "_$1"; printf "%s\n" "${COMPREPLY[@]}"' _ "$build/completions/bash/$1" "$@"
}
assert_eq "$(complete_words nexsim nexsim dr)" "drive"
assert_eq "$(complete_words nexsim nexsim init card --model ne | tr '\n' ' ')" "nexc1 nexc2 nexs1 "
complete_words nexsim nexsim drive card --int | grep -qx -- --interior || fail "nexsim drive --int"
assert_eq "$(complete_words nexls nexls card --format '' | tr '\n' ' ')" "table json ndjson csv "
assert_eq "$(complete_words nexls nexls card --camera '' | tr '\n' ' ')" "road interior "
mkdir "$WORK/cardx"
complete_words nexls nexls "$WORK/car" | grep -qx "$WORK/cardx" || fail "path completion"
if [ -x "$NEX_BIN/nexcut" ]; then
  complete_words nexcut nexcut card --camera '' | grep -qx both || fail "nexcut --camera both"
fi
echo ok
