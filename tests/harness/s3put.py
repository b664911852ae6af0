#!/usr/bin/env python3
"""Puts a file into S3 as is, under any key (tests only: plants hostile objects).

    s3put.py BUCKET KEY FILE

Reads AWS_ENDPOINT_URL (http only), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
and AWS_REGION from the environment; signs with AWS Signature V4. The key is
sent as given (only percent-encoded), so it may hold '..' or start with '/'.
Prints the HTTP status; exits 0 on 2xx. Python 3 standard library only.
"""
import datetime
import hashlib
import hmac
import http.client
import os
import sys
from urllib.parse import quote, urlsplit


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    bucket, key, path = sys.argv[1:]
    body = open(path, "rb").read()
    ep = urlsplit(os.environ["AWS_ENDPOINT_URL"])
    ak = os.environ["AWS_ACCESS_KEY_ID"]
    sk = os.environ["AWS_SECRET_ACCESS_KEY"]
    region = os.environ.get("AWS_REGION", "us-east-1")
    now = datetime.datetime.now(datetime.timezone.utc)
    amz = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz[:8]
    uri = "/" + quote(bucket, safe="") + "/" + quote(key, safe="/~")
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": ep.netloc, "x-amz-content-sha256": payload, "x-amz-date": amz}
    names = ";".join(sorted(headers))
    canonical = "\n".join(["PUT", uri, ""] + [f"{k}:{headers[k]}" for k in sorted(headers)] +
                          ["", names, payload])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = sign(("AWS4" + sk).encode(), day)
    k = sign(k, region)
    k = sign(k, "s3")
    k = sign(k, "aws4_request")
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={ak}/{scope}, "
                                f"SignedHeaders={names}, Signature={sig}")
    conn = http.client.HTTPConnection(ep.hostname, ep.port or 80, timeout=30)
    conn.request("PUT", uri, body=body, headers=headers)
    r = conn.getresponse()
    r.read()
    print(r.status)
    sys.exit(0 if 200 <= r.status < 300 else 1)


if __name__ == "__main__":
    main()
