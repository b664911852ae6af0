#!/usr/bin/env bash
# nexls over a fleet's backup against `rclone lsjson -R` of the same bucket
# prefix (what a user would otherwise run to see what is there), on a radosgw
# of its own (scripts/radosgw).
#
# The fleet: one small camera (two parking incidents, 1 s clips, and a 2 s
# drive) is backed up by nexsync, then its objects are planted under
# NEX_BENCH_CAMERAS (default 300) serials with the serial rewritten in the
# manifests: a bucket of 300 cameras and 900 items in a few seconds, not
# hours of nexsim. Times are the best of 3 after a warm-up.
#
# The planted manifests are not the ones the camera's catalogue names (the
# serial differs), so the planter writes each camera's catalogue itself from
# a LIST (docs/nexsync.md "Catalogue": what nexsync writes), and nexls is
# timed with the catalogues and, with them removed, reading every manifest.
. "$(dirname "$0")/common.sh"
command -v rclone >/dev/null || { echo "rclone missing (apt-get install rclone)" >&2; exit 1; }
cameras=${NEX_BENCH_CAMERAS:-300}
rgw=$BENCH/rgw
"$root/scripts/radosgw" start "$rgw" >/dev/null 2>&1 || { echo "cannot start radosgw" >&2; exit 1; }
trap '"$root/scripts/radosgw" stop "$rgw" >/dev/null 2>&1; rm -rf "$BENCH"' EXIT
# shellcheck disable=SC1091
. "$rgw/env"
export RCLONE_CONFIG_NEX_TYPE=s3 RCLONE_CONFIG_NEX_PROVIDER=Ceph RCLONE_CONFIG_NEX_ENDPOINT="$AWS_ENDPOINT_URL" \
  RCLONE_CONFIG_NEX_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_NEX_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
  RCLONE_CONFIG_NEX_REGION="$AWS_REGION" NEX_SYNC_WORK_DIR="$BENCH/state" NEX_CONFIG="$BENCH/config.yaml"
: > "$NEX_CONFIG"
# rclone 1.60's AWS SDK fails on AWS_CA_BUNDLE with its own HTTP transport (plain http here anyway)
rclone() { env -u AWS_CA_BUNDLE rclone "$@"; }
cd "$BENCH"
B=$NEX_S3_BUCKET

nexsim init card --model pro --capacity 8G --serial PRO-00000000 -q
nexsim park card --start 2026-11-21T20:00:00 --duration 1h --incident impact@10m --incident motion@40m --clip-length 1s -q >/dev/null
nexsim drive card --start 2026-11-22T08:00:00 --duration 2s -q >/dev/null
nexsync card "s3://$B/one" --drives timelapse -q >/dev/null
mkdir -p one && rclone copy "nex:$B/one" one >/dev/null

# Plant it under $cameras serials (16 PUTs in flight, SigV4 by hand).
t=$(now)
python3 - "$cameras" "$B" <<'PY'
import concurrent.futures, datetime, hashlib, hmac, http.client, os, sys
from urllib.parse import quote, urlsplit
n, bucket = int(sys.argv[1]), sys.argv[2]
ep = urlsplit(os.environ["AWS_ENDPOINT_URL"]); ak = os.environ["AWS_ACCESS_KEY_ID"]
sk = os.environ["AWS_SECRET_ACCESS_KEY"]; region = os.environ["AWS_REGION"]
files = []
for d, _, names in os.walk("one/PRO-00000000"):
    for name in names:
        p = os.path.join(d, name)
        files.append((os.path.relpath(p, "one/PRO-00000000"), open(p, "rb").read()))
def h(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
def put(conn, key, body):
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    path = "/" + bucket + "/" + quote(key, safe="/-_.~")
    sha = hashlib.sha256(body).hexdigest()
    creq = "\n".join(["PUT", path, "", "host:" + ep.netloc, "x-amz-content-sha256:" + sha, "x-amz-date:" + amz, "",
                      "host;x-amz-content-sha256;x-amz-date", sha])
    scope = day + "/" + region + "/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(h(h(h(h(("AWS4" + sk).encode(), day), region), "s3"), "aws4_request"), sts.encode(), hashlib.sha256).hexdigest()
    conn.request("PUT", path, body=body, headers={"Host": ep.netloc, "x-amz-date": amz, "x-amz-content-sha256": sha,
                 "x-amz-meta-sha256": sha, "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders="
                 "host;x-amz-content-sha256;x-amz-date, Signature=%s" % (ak, scope, sig)})
    r = conn.getresponse(); r.read()
    if r.status != 200: sys.exit("PUT %s: HTTP %d" % (key, r.status))
def camera(i):
    serial = "PRO-%08X" % (i + 1)
    conn = http.client.HTTPConnection(ep.hostname, ep.port)
    for rel, body in files:
        if rel.endswith(".json"): body = body.replace(b"PRO-00000000", serial.encode())
        put(conn, "fleet/" + serial + "/" + rel, body)
with concurrent.futures.ThreadPoolExecutor(16) as ex:
    list(ex.map(camera, range(n)))
PY
catalogues() {  # catalogues: write | remove
python3 - "$1" "$B" <<'PY'
import collections, concurrent.futures, datetime, hashlib, hmac, http.client, json, os, sys
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlsplit
what, bucket = sys.argv[1], sys.argv[2]
ep = urlsplit(os.environ["AWS_ENDPOINT_URL"]); ak = os.environ["AWS_ACCESS_KEY_ID"]
sk = os.environ["AWS_SECRET_ACCESS_KEY"]; region = os.environ["AWS_REGION"]
def h(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
def req(conn, method, key, query=None, body=b""):
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    path = "/" + bucket + ("/" + quote(key, safe="/-_.~") if key else "")
    q = "&".join("%s=%s" % (quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in sorted((query or {}).items()))
    sha = hashlib.sha256(body).hexdigest()
    creq = "\n".join([method, path, q, "host:" + ep.netloc, "x-amz-content-sha256:" + sha, "x-amz-date:" + amz, "",
                      "host;x-amz-content-sha256;x-amz-date", sha])
    scope = day + "/" + region + "/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(h(h(h(h(("AWS4" + sk).encode(), day), region), "s3"), "aws4_request"), sts.encode(), hashlib.sha256).hexdigest()
    conn.request(method, path + ("?" + q if q else ""), body=body, headers={"Host": ep.netloc, "x-amz-date": amz,
                 "x-amz-content-sha256": sha, "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders="
                 "host;x-amz-content-sha256;x-amz-date, Signature=%s" % (ak, scope, sig)})
    r = conn.getresponse(); data = r.read()
    if r.status // 100 != 2: sys.exit("%s %s: HTTP %d" % (method, key, r.status))
    return data
conn = http.client.HTTPConnection(ep.hostname, ep.port)
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
listed, token = [], None
while True:
    q = {"list-type": "2", "prefix": "fleet/"}
    if token: q["continuation-token"] = token
    root = ET.fromstring(req(conn, "GET", "", q))
    for c in root.findall(ns + "Contents"):
        listed.append((c.find(ns + "Key").text, int(c.find(ns + "Size").text), c.find(ns + "ETag").text.strip('"'),
                       c.find(ns + "LastModified").text))
    token = root.findtext(ns + "NextContinuationToken")
    if root.findtext(ns + "IsTruncated") != "true": break
cams = collections.defaultdict(list)
for key, size, etag, lm in listed:
    rel = key[len("fleet/"):]
    parts = rel.split("/")
    if len(parts) == 4 and parts[3] in ("event.json", "clip.json", "drive.json"):
        cams[parts[0]].append((rel, size, etag, lm))
    elif what == "remove" and len(parts) == 2 and parts[1] == "catalogue.json":
        req(conn, "DELETE", key)
def write(serial):
    c = http.client.HTTPConnection(ep.hostname, ep.port)
    items = []
    for rel, size, etag, lm in sorted(cams[serial]):
        text = req(c, "GET", "fleet/" + rel)
        assert len(text) == size
        items.append({"key": rel, "size": size, "etag": etag, "last_modified": lm,
                      "sha256": hashlib.sha256(text).hexdigest(), "manifest": text.decode()})
    cat = {"format": "nex-catalogue", "version": 1, "serial": serial, "written": "", "items": items}
    req(c, "PUT", "fleet/" + serial + "/catalogue.json", body=(json.dumps(cat) + "\n").encode())
if what == "write":
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        list(ex.map(write, sorted(cams)))
if what == "drives":  # 300 more drives of PRO-00000000 (copies of its drive.json under other ids)
    base = "fleet/PRO-00000000/drives/20261122_080000/drive.json"
    text = req(conn, "GET", base).decode()
    t0 = datetime.datetime(2026, 10, 1)
    for i in range(300):
        did = (t0 + datetime.timedelta(minutes=i)).strftime("%Y%m%d_%H%M%S")
        req(conn, "PUT", "fleet/PRO-00000000/drives/%s/drive.json" % did, body=text.replace("20261122_080000", did).encode())
PY
}
catalogues write
plant=$(elapsed "$t")
objects=$(rclone lsf -R --files-only "nex:$B/fleet" | wc -l)
items=$(nexls "s3://$B/fleet" --events --format ndjson | wc -l)
[ "$items" -eq $((cameras * 2)) ] || { echo "nexls lists $items events, expected $((cameras * 2))" >&2; exit 1; }

reads=$(nexls "s3://$B/fleet" --events --format ndjson -vv 2>&1 >/dev/null | grep -o '[0-9]* catalogue(s) read, [0-9]* manifest(s) read')
[ "$reads" = "$cameras catalogue(s) read, 0 manifest(s) read" ] || { echo "nexls read: $reads" >&2; exit 1; }
nexls_t=$(best nexls "s3://$B/fleet" --events --format ndjson)
items_t=$(best nexls "s3://$B/fleet" --format ndjson)
rclone_t=$(best rclone lsjson -R "nex:$B/fleet")
catalogues remove
events_without=$(nexls "s3://$B/fleet" --events --format ndjson | wc -l)
[ "$events_without" -eq "$items" ] || { echo "without catalogues: $events_without events" >&2; exit 1; }
manifests_t=$(best nexls "s3://$B/fleet" --events --format ndjson)
# The quota plan of one camera of the fleet holding 301 drives, from a machine
# without the backup's state (every drive's manifest is needed: starred, footage).
nexsync card "s3://$B/fleet" --drives timelapse -q >/dev/null
catalogues drives
catalogues write
quota_plan() { rm -rf "$BENCH/fresh"; NEX_SYNC_WORK_DIR="$BENCH/fresh" nexsync card "s3://$B/fleet" --quota 100G --dry-run "$@"; }
reads=$(quota_plan -vv 2>&1 >/dev/null | grep -o 'manifests at the destination: .*')
[[ "$reads" =~ ^manifests\ at\ the\ destination:\ 3[0-9][0-9]\ from\ the\ catalogue,\ 0\ read$ ]] || { echo "nexsync: $reads" >&2; exit 1; }
quota_t=$(best quota_plan)
catalogues remove
quota_manifests_t=$(best quota_plan)
echo "nexls over a fleet: $cameras cameras, $((cameras * 3)) items, $objects objects (planted in ${plant} s)"
echo "  nexls s3://.../fleet --events:  ${nexls_t} s  (one LIST, one catalogue per camera, 16 at a time)"
echo "  nexls s3://.../fleet (drives):  ${items_t} s"
echo "  without catalogues:             ${manifests_t} s  (one LIST, every manifest, 16 at a time)"
echo "  rclone lsjson -R:               ${rclone_t} s  -> nexls --events at $(ratio "$nexls_t" "$rclone_t")x rclone's time" \
  "($(ratio "$manifests_t" "$rclone_t")x without catalogues)"
echo "nexsync --quota --dry-run of one camera with 301 drives, no state: ${quota_t} s from its catalogue," \
  "${quota_manifests_t} s reading every manifest"
