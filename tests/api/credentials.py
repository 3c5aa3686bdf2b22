"""Signs in the demo's people for infra/test-api and issues an Open311 key.

Reads the demo's demo.json (argument 1) and prints, one per line:
centre=<token>, admin=<token>, county=<token> (bearer tokens of the first
township's centre and administrator and of the county centre), open311=<key>
(issued by that administrator) and township=<its code>.
"""

import json
import sys
import urllib.request


def call(base, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def sign_in(base, logins, role):
    login = next(l for l in logins if l["role"] == role)
    answer = call(base, "POST", "/api/v1/auth/login",
                  {"login": login["login"], "password": login["password"]})
    return answer["token"]


def main():
    demo = json.load(open(sys.argv[1], encoding="utf-8"))
    base = demo["base_url"].rstrip("/")
    township = next(t for t in demo["townships"] if t.get("logins"))
    admin = sign_in(base, township["logins"], "township_admin")
    key = call(base, "POST", "/api/v1/admin/open311-keys",
               {"name": "schemathesis"}, token=admin)["key"]
    print("centre=" + sign_in(base, township["logins"], "township_centre"))
    print("admin=" + admin)
    print("county=" + sign_in(base, demo["county_logins"], "county_centre"))
    print("open311=" + key)
    print("township=" + township["code"])


if __name__ == "__main__":
    main()
