#!/usr/bin/env bash
# nexsync against a real S3 server (Ceph radosgw on 127.0.0.1): bad
# credentials, kill -9 at several points of multipart uploads and the resume
# that sends only what is missing, stale uploads aborted, the gateway stopped
# mid-run and restarted, quota rollover keeping events and starred items,
# every object downloaded again and its SHA-256 checked, --watch, nexls.
. "$(dirname "$0")/lib.sh"
cd "$WORK"
s3_test
summary() { tail -1 "$WORK/out" | jq -r ".$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# A road-only Nexar Pro: a 1-minute drive with a hard brake (the 62 MB segment
# is 8 parts of 8 MiB), a parking incident; --drives full sends the segments.
nexsim init card --model pro --capacity 8G --serial PRO-S1 -q
nexsim drive card --start 2026-11-20T08:12:00 --duration 1m --event hard-brake@40s -q >/dev/null
nexsim park card --duration 1h --incident impact@10m -q >/dev/null
ev=$(nexls card --events --kind hard-brake --format ndjson | jq -r .id)
pk=$(nexls card --events --kind parking-impact --format ndjson | jq -r .id)

# --- a wrong secret: one clear error line, exit 1, the secret never printed
AWS_SECRET_ACCESS_KEY=wrong-secret-Xq7Zp expect_exit 1 nexsync card "$S3/a" -vvv
assert_eq "$(grep -c 'error:' "$WORK/err")" 1
assert_contains "$WORK/err" "SignatureDoesNotMatch"
assert_not_contains "$WORK/err" "wrong-secret-Xq7Zp"
AWS_ACCESS_KEY_ID=NOSUCHKEY expect_exit 1 nexsync card "$S3/a"
assert_contains "$WORK/err" "does not know this access key"
expect_exit 1 nexsync card "s3://no-such-bucket-$run/x"
assert_contains "$WORK/err" "does not exist"
# the right secret is not printed either, even at -vvv
expect_exit 0 nexsync card "$S3/a" --drives none --dry-run -vvv
assert_not_contains "$WORK/err" "$AWS_SECRET_ACCESS_KEY"

# --- the backup, then a no-op re-run: one LIST, nothing sent
expect_exit 0 nexsync card "$S3/b" --drives full --format ndjson -vv
assert_eq "$(summary items_uploaded)" 3
total_parts=$(summary parts_sent)
[ "$total_parts" -ge 8 ] || fail "the 62 MB segment was not sent in parts"
# every object verified by HEAD; the server's ETags match the MD5s of what was
# sent (radosgw computes them), the multipart ones as MD5 of the parts' MD5s
grep -E 'verified s3://.*/footage/.*_1\.mp4: [0-9]+ bytes, sha256, ETag [0-9a-f]{32}-[0-9]+$' "$WORK/err" >/dev/null ||
  { cat "$WORK/err"; fail "the multipart segment's ETag was not checked"; }
grep -E 'verified s3://.*\.jpg: [0-9]+ bytes, sha256, ETag [0-9a-f]{32}$' "$WORK/err" >/dev/null ||
  fail "a single PUT's ETag was not checked"
assert_not_contains "$WORK/err" "verification failed"
expect_exit 0 nexsync card "$S3/b" --drives full --format ndjson
assert_eq "$(summary bytes_sent)" 0
assert_eq "$(summary list_requests)" 1
assert_eq "$(summary items_up_to_date)" 3
# nexls reads the cloud with the card's keys
nexls card --events --format ndjson | jq -c '{type,id,kind,time}' > card_events
nexls "$S3/b" --events --format ndjson | jq -c '{type,id,kind,time}' > s3_events
cmp card_events s3_events || fail "nexls of the cloud differs from the card"

# --- every object downloaded again, SHA-256 checked against manifest and card
nexls "$S3/b" --events --format ndjson > items
nexls "$S3/b" --format ndjson >> items
expect_exit 0 nexsync pull --items - --to got --format ndjson < items
assert_eq "$(jq -r .action "$WORK/out" | sort -u)" downloaded
n=0
for m in got/PRO-S1/*/*/*.json; do
  while read -r key size want; do
    f="got/PRO-S1/$key"
    assert_eq "$(stat -c %s "$f")" "$size" "($key)"
    assert_eq "$(sha "$f")" "$want" "($key)"
    n=$((n + 1))
  done < <(jq -r '.files[] | "\(.key) \(.size) \(.sha256)"' "$m")
done
# the segment's 4 files, the event's clip with its window's .gps/.acc, the parking clip
assert_eq "$n" 8 "(files pulled)"
cmp card/drive/20261120_081200_1.mp4 got/PRO-S1/footage/20261120/20261120_081200_1.mp4 || fail "segment differs"
# a partial download resumes with a Range request
expect_exit 2 nexsync pull "$S3/b/PRO-S1/footage/20261120" --to x
expect_exit 0 nexsync pull "$S3/b/PRO-S1/drives/20261120_081200" --to got2 --format ndjson
mv got2/PRO-S1/footage/20261120/20261120_081200_1.mp4 seg
head -c 20000000 seg > got2/PRO-S1/footage/20261120/.20261120_081200_1.mp4.part
expect_exit 0 nexsync pull "$S3/b/PRO-S1/drives/20261120_081200" --to got2 -v
assert_contains "$WORK/err" "resuming"
cmp seg got2/PRO-S1/footage/20261120/20261120_081200_1.mp4 || fail "resumed download differs"

# --- kill -9 at several points of multipart uploads; each resume sends only what is missing
# (a card of two parking clips: 20 MB each, 4 parts of 5 MiB; nothing to cut)
nexsim init card2 --model pro --capacity 8G --serial PRO-S2 -q
nexsim park card2 --start 2026-11-21T20:00:00 --duration 1h --incident impact@10m --incident impact@30m -q >/dev/null
for point in after-create:1 after-part:3 after-part:6 before-complete:1 after-complete:1 before-manifest:1; do
  p="$S3/k-${point//:/-}"
  set +e; NEX_SYNC_FAULT=$point nexsync card2 "$p" --part-size 5M -j 2 -q >/dev/null 2>&1; rc=$?; set -e
  assert_eq "$rc" 137 "(kill -9 at $point)"
  expect_exit 0 nexsync card2 "$p" --part-size 5M -j 2 --format ndjson
  assert_eq "$(summary items_failed)" 0 "($point)"
  assert_eq "$(( $(summary items_uploaded) + $(summary items_up_to_date) ))" 2 "($point)"
  resumed=$(summary parts_resumed); sent=$(summary parts_sent); present=$(summary files_present)
  case $point in
    after-part:3) assert_eq "$resumed" 3 "(the journal's parts)" ;;
    after-part:*|before-complete:*) [ "$resumed" -ge 1 ] || fail "$point: nothing resumed" ;;
    after-complete:*|before-manifest:*) [ "$present" -ge 1 ] || fail "$point: a complete object was sent again" ;;
  esac
  expect_exit 0 nexsync card2 "$p" --part-size 5M --format ndjson
  assert_eq "$(summary bytes_sent)" 0 "($point: the run after the resume)"
  nexls "$p" --events --format ndjson | jq -r .location | xargs nexsync pull --to "got-$point" -q >/dev/null ||
    fail "$point: pull failed"
  # only what was missing: the parts sent by both runs are at most the card's parts
  # plus the ones in flight when the process died (-j 2)
  all=$(jq -s '[.[].files[].size | if . > 5242880 then ((. + 5242879) / 5242880 | floor) else 0 end] | add' \
    got-"$point"/PRO-S2/events/*/event.json)
  assert_eq "$all" 8
  [ $((resumed + sent)) -le "$all" ] || fail "$point: $sent parts sent after $resumed resumed (of $all)"
done

# --- a stale upload (its journal lost) is aborted
set +e; NEX_SYNC_FAULT=after-part:2 nexsync card2 "$S3/stale" --part-size 5M -q >/dev/null 2>&1; set -e
rm -f "$NEX_SYNC_WORK_DIR"/PRO-S2-*/journal
expect_exit 0 nexsync card2 "$S3/stale" --part-size 5M --format ndjson
[ "$(summary uploads_aborted)" -ge 1 ] || fail "the stale upload was not aborted"

# --- quota: drives roll over oldest first; events and the starred drive stay
expect_exit 0 nexsync card "$S3/q" --drives full --content-md5 --format ndjson   # Content-MD5 as well
expect_exit 0 nexsync star --from "$S3/q" 20261120_081200
nexsim drive card --start 2026-11-20T10:00:00 --duration 1m -q >/dev/null
nexsim drive card --start 2026-11-20T11:00:00 --duration 1m -q >/dev/null
# room for everything there is now plus one more minute
used=$(nexls "$S3/q" --format ndjson | jq -s 'map(.backed_up_bytes)|add')
evb=$(nexls "$S3/q" --events --format ndjson | jq -s 'map(.backed_up_bytes)|add')
expect_exit 0 nexsync card "$S3/q" --drives full --quota $((used + evb + 70000000)) --format ndjson
assert_eq "$(jq -r 'select(.action=="uploaded")|.item' "$WORK/out")" "PRO-S1/drives/20261120_110000"
assert_eq "$(jq -r 'select(.action=="rolled over")|.item' "$WORK/out" 2>/dev/null)" ""
nexsync card "$S3/q" --drives full --quota $((used + evb + 70000000)) --dry-run --format ndjson > plan
assert_eq "$(jq -r 'select(.action=="rolled over")|.item' plan)" "PRO-S1/drives/20261120_100000"
assert_eq "$(nexls "$S3/q" --format ndjson | jq -r '.id' | tr '\n' ' ')" "20261120_081200 20261120_110000 "
assert_eq "$(nexls "$S3/q" --events --format ndjson | wc -l)" 2
# lower the quota: the unstarred drive goes, the starred one and the events stay; exit 3
expect_exit 3 nexsync card "$S3/q" --drives full --quota $((used + evb)) --format ndjson
assert_eq "$(jq -r 'select(.action=="deleted")|.item' "$WORK/out")" "PRO-S1/drives/20261120_110000"
assert_eq "$(nexls "$S3/q" --format ndjson | jq -r '"\(.id) \(.starred)"')" "20261120_081200 true"
assert_eq "$(nexls "$S3/q" --events --format ndjson | wc -l)" 2

# --- --watch: a new parking incident reaches the cloud within seconds
nexsync card "$S3/w" --watch --drives none --format ndjson > watch.out 2> watch.err & w=$!
# (each wait also ends if the --watch run died; the checks below then say so)
watch_wrote() { grep -q "$1" watch.out 2>/dev/null || ! kill -0 $w 2>/dev/null; }
wait_for 300 "--watch to back up what the card had ($pk)" watch_wrote "$pk"
nexsim park card --duration 1h --incident impact@5m -q >/dev/null
new=$(nexls card --events --kind parking-impact --format ndjson | jq -r .id | sort | tail -1)
wait_for 300 "--watch to upload the new incident $new" watch_wrote "\"$new\".*uploaded"
kill -INT $w; wait $w || true
grep -q "\"$new\".*uploaded" watch.out || { cat watch.err; fail "--watch did not upload $new"; }
assert_eq "$(nexls "$S3/w" --events --format ndjson | jq -r .id | grep -c "$new")" 1

# --- the gateway stopped mid-run, then restarted (our own server: the shared one stays up)
rgw="$WORK/rgw"
NEX_RGW_MEMSTORE_BYTES=$((1 << 30)) "$NEX_SOURCE_DIR/scripts/radosgw" start "$rgw" >/dev/null 2>&1 ||
  fail "cannot start a second radosgw"
trap 'kill $(jobs -p) 2>/dev/null || true; "$NEX_SOURCE_DIR/scripts/radosgw" stop "$rgw" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
(
  . "$rgw/env"
  S=s3://$NEX_S3_BUCKET/r
  journal="$NEX_SYNC_WORK_DIR/PRO-S1-$(printf '%s' "$S" | sha256sum | cut -c1-12)/journal"
  nexsync card "$S" --drives full -j 2 --bwlimit 10M --retries 3 --format ndjson > run1.out 2> run1.err &
  pid=$!
  # wait until some parts are in the journal, then stop the gateway (the
  # run is still going: 10 MB/s for footage of hundreds of MB)
  parts_journaled() {
    [ "$(grep -c '"op":"part"' "$journal" 2>/dev/null)" -ge 2 ] 2>/dev/null || ! kill -0 $pid 2>/dev/null
  }
  wait_for 300 "two parts in the journal" parts_journaled
  kill -0 $pid 2>/dev/null || { cat run1.err; fail "the run ended before the gateway was stopped"; }
  gw=$(cat "$rgw/run/client.pid")
  kill "$gw"
  # gone before it is started again on its port
  gw_gone() { ! kill -0 "$gw" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$gw/stat" 2>/dev/null)" = Z ]; }
  wait_for 300 "the stopped radosgw (pid $gw) to exit" gw_gone
  set +e; wait $pid; rc=$?; set -e
  assert_eq "$rc" 1 "(the run with the server gone)"
  assert_contains run1.err "Couldn't connect"
  assert_eq "$(grep -c 'error:' run1.err)" 1
  # the same gateway again (same port, the data kept by the OSD)
  radosgw -c "$rgw/ceph.conf" -n client.rgw.a
  wait_for 300 "the restarted radosgw to answer on $AWS_ENDPOINT_URL" curl -s -o /dev/null "$AWS_ENDPOINT_URL"
  nexsync card "$S" --drives full -j 2 --format ndjson > run2.out
  tail -1 run2.out | jq -e '.items_failed == 0 and .parts_resumed >= 2' >/dev/null ||
    fail "no resume after the restart: $(tail -1 run2.out)"
  nexsync card "$S" --drives full --format ndjson | tail -1 | jq -e '.bytes_sent == 0' >/dev/null ||
    fail "the run after the resume sent data"
  nexls "$S" --format ndjson | jq -r .location | xargs nexsync pull --to got-r -q >/dev/null
  cmp card/drive/20261120_081200_1.mp4 got-r/PRO-S1/footage/20261120/20261120_081200_1.mp4 || fail "after restart"
)
echo "nexsync s3: ok"
