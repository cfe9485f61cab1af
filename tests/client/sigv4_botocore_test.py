#!/usr/bin/env python3
"""Signs KVS-style requests with botocore's SigV4Auth and with kvsparser
(through sigv4_tool) and requires identical Authorization headers.

usage: sigv4_botocore_test.py <sigv4_tool>   (skips without botocore)

botocore reads the clock inside add_auth; the clock is frozen at a fixed
instant so that both signers use the same X-Amz-Date. botocore up to 1.3x
calls datetime.datetime.utcnow() from botocore.auth, later versions
botocore.auth.get_current_datetime(); either is replaced for the call."""

import contextlib
import datetime
import json
import os
import subprocess
import sys
import types
from unittest import mock
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))  # kvsp_testing
import kvsp_testing  # noqa: E402

try:
    import botocore
    import botocore.auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    kvsp_testing.skip("botocore not available to %s" % sys.executable)

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = ("IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLXdlc3QtMiJHMEUCIQD+example"
         "/token+with==")
WHEN = datetime.datetime(2024, 1, 5, 9, 15, 0)
AMZ_DATE = WHEN.strftime("%Y%m%dT%H%M%SZ")


@contextlib.contextmanager
def frozen_clock(when=WHEN):
    if hasattr(botocore.auth, "get_current_datetime"):
        with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
            yield
        return

    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when

    fake = types.SimpleNamespace(datetime=Frozen)
    with mock.patch.object(botocore.auth, "datetime", fake):
        yield


def case(name, url, body, region, token, extra=(), service="kinesisvideo", method="POST"):
    return dict(name=name, url=url, body=body, region=region, token=token, extra=list(extra),
                service=service, method=method)


def kvs_cases():
    control = "https://kinesisvideo.{}.amazonaws.com/getDataEndpoint"
    data = "https://s-1a2b3c4d.kinesisvideo.{}.amazonaws.com/{}"
    get_media = {"StreamName": "front-door", "StartSelector": {"StartSelectorType": "NOW"}}
    list_fragments = {
        "StreamName": "front-door", "MaxResults": 100,
        "FragmentSelector": {"FragmentSelectorType": "SERVER_TIMESTAMP",
                             "TimestampRange": {"StartTimestamp": 1704445200.5,
                                                "EndTimestamp": 1704448800}}}
    cases = []
    for token in (None, TOKEN):
        tag = "token" if token else "no-token"
        cases.append(case(f"getDataEndpoint us-west-2 {tag}", control.format("us-west-2"),
                          {"StreamName": "front-door", "APIName": "GET_MEDIA"}, "us-west-2", token))
        for region in ("us-east-1", "eu-west-1"):
            cases.append(case(f"getDataEndpoint {region} {tag}", control.format(region),
                              {"StreamARN": f"arn:aws:kinesisvideo:{region}:123456789012:stream/"
                                            "front-door/1234567890123",
                               "APIName": "LIST_FRAGMENTS"}, region, token))
            cases.append(case(f"getMedia {region} {tag}", data.format(region, "getMedia"),
                              get_media, region, token))
            cases.append(case(f"listFragments {region} {tag}",
                              data.format(region, "listFragments"), list_fragments, region, token))
    # Beyond the KVS calls: canonicalisation both signers must agree on.
    cases += [
        case("non-ASCII body", data.format("eu-west-1", "getMedia"),
             {"StreamName": "caméra-☃", "StartSelector": {"StartSelectorType": "EARLIEST"}},
             "eu-west-1", TOKEN),
        case("empty body", control.format("us-east-1"), None, "us-east-1", None),
        case("white space and repeated headers", data.format("us-east-1", "getMedia"), get_media,
             "us-east-1", None,
             extra=[("X-Custom", "  a   b\tc  "), ("x-custom", "second"), ("X-Empty", "")]),
        case("query and dot segments", "https://s-1a2b3c4d.kinesisvideo.eu-west-1.amazonaws.com"
             "/a/./b//../getMedia?b=2&a=%2F1&a=0", get_media, "eu-west-1", TOKEN),
        case("encoded path", "https://kinesisvideo.us-east-1.amazonaws.com/stream%20name/x~y",
             None, "us-east-1", None, method="GET"),
    ]
    return cases


def botocore_sign(c, body):
    creds = Credentials(AKID, SECRET, c["token"])
    headers = {"Content-Type": "application/json", "User-Agent": "kvsparser-test/1"}
    request = AWSRequest(method=c["method"], url=c["url"], data=body, headers=headers)
    for name, value in c["extra"]:
        request.headers[name] = value  # HTTPHeaders keeps repeated names
    signer = SigV4Auth(creds, c["service"], c["region"])
    with frozen_clock():
        signer.add_auth(request)
    if request.headers["X-Amz-Date"] != AMZ_DATE:
        raise RuntimeError("botocore's clock was not frozen: " + request.headers["X-Amz-Date"])
    return request.headers["Authorization"], signer.canonical_request(request)


def kvsparser_sign(tool, c, body):
    # The headers a KVS client sends and signs; botocore never signs
    # User-Agent, so it is not listed here either.
    parts = urlsplit(c["url"])
    headers = [["Host", parts.netloc], ["Content-Type", "application/json"],
               ["X-Amz-Date", AMZ_DATE]]
    if c["token"]:
        headers.append(["X-Amz-Security-Token", c["token"]])
    headers += [list(h) for h in c["extra"]]
    description = {
        "method": c["method"], "path": parts.path, "query": parts.query or None,
        "headers": headers, "body": body.decode("utf-8"), "region": c["region"],
        "service": c["service"], "amz_date": AMZ_DATE, "normalize_path": True,
        "access_key_id": AKID, "secret_access_key": SECRET, "session_token": c["token"],
    }
    run = subprocess.run([tool], input=json.dumps(description).encode(), capture_output=True,
                         check=False)
    if run.returncode != 0:
        raise RuntimeError(f"sigv4_tool failed: {run.stderr.decode()}")
    return json.loads(run.stdout)


def main():
    tool = sys.argv[1]
    print(f"botocore {botocore.__version__} ({botocore.__file__}), Python {sys.version.split()[0]}")
    failures = 0
    cases = kvs_cases()
    for c in cases:
        body = b"" if c["body"] is None else json.dumps(c["body"], ensure_ascii=False).encode()
        expected, expected_creq = botocore_sign(c, body)
        ours = kvsparser_sign(tool, c, body)
        if ours["authorization"] == expected and ours["verified"] == "ok":
            print(f"ok   {c['name']}")
            continue
        failures += 1
        print(f"FAIL {c['name']}\n  botocore:  {expected}\n  kvsparser: {ours['authorization']}"
              f"\n  verify: {ours['verified']}")
        print("--- botocore canonical request\n" + expected_creq)
        print("--- kvsparser canonical request\n" + ours["canonical_request"])
    print(f"{len(cases) - failures} of {len(cases)} Authorization headers identical")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
