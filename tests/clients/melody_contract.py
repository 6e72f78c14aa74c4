"""Every GET answer of the management API, item by item, against Melody Auth's S2S spec.

Run against a server filled with data (users with roles, orgs, groups, attributes, consents,
sessions, passkeys, MFA, logs, banners, SAML IdPs): a list that is empty proves nothing, so the
lists named in REQUIRED must hold items. Path parameters are taken from the lists' items.
Env: ISSUER, TOKEN (an S2S token with root), SPEC (Melody's OpenAPI 3.0 document).
Prints each path with its item count; ends with "melody contract: ok" or the differences.
"""

import copy
import json
import os
import sys
import urllib.request

from jsonschema import Draft7Validator

ISSUER = os.environ["ISSUER"]
TOKEN = os.environ["TOKEN"]
SPEC = json.load(open(os.environ["SPEC"]))

# Lists the filled server must answer with at least one item: (path, key of the list).
REQUIRED = [
    ("/api/v1/scopes", "scopes"),
    ("/api/v1/roles", "roles"),
    ("/api/v1/orgs", "orgs"),
    ("/api/v1/apps", "apps"),
    ("/api/v1/app-banners", "appBanners"),
    ("/api/v1/users", "users"),
    ("/api/v1/user-attributes", "userAttributes"),
    ("/api/v1/logs/sign-in", "logs"),
    ("/api/v1/logs/email", "logs"),
    ("/api/v1/logs/sms", "logs"),
    ("/api/v1/saml/idps", "idps"),
    ("/api/v1/roles/{id}/users", "users"),
    ("/api/v1/orgs/{id}/users", "users"),
    ("/api/v1/org-groups", "orgGroups"),
    ("/api/v1/org-groups/{id}/users", "users"),
    ("/api/v1/users/{authId}/consented-apps", "consentedApps"),
    ("/api/v1/users/{authId}/passkeys", "passkeys"),
    ("/api/v1/users/{authId}/active-sessions", "activeSessions"),
    ("/api/v1/users/{authId}/orgs", "orgs"),
    ("/api/v1/users/{authId}/locked-ips", "lockedIPs"),
]


def resolve(node):
    """The schema with every `$ref` inlined and OpenAPI 3.0's `nullable` as a JSON Schema type."""
    if isinstance(node, list):
        return [resolve(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].split("/")[-1]
        return resolve(copy.deepcopy(SPEC["components"]["schemas"][name]))
    out = {k: resolve(v) for k, v in node.items()}
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else out["type"] + ["null"]
        if "enum" in out:
            out["enum"] = out["enum"] + [None]
    return out


def get(path):
    request = urllib.request.Request(ISSUER + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request) as response:
        return response.status, json.load(response)


def schema_of(template):
    op = SPEC["paths"][template]["get"]
    return resolve(op["responses"]["200"]["content"]["application/json"]["schema"])


def items(body):
    """The first list in an answer, and its key."""
    for key, value in body.items():
        if isinstance(value, list):
            return key, value
    return None, []


problems = []
counts = {}


def check(template, path):
    status, body = get(path)
    if status != 200:
        problems.append(f"GET {path}: {status}")
        return body
    key, listed = items(body)
    counts[(template, key)] = max(counts.get((template, key), 0), len(listed))
    for error in Draft7Validator(schema_of(template)).iter_errors(body):
        where = "/".join(str(p) for p in error.absolute_path)
        problems.append(f"GET {path} at {where or '(root)'}: {error.message}")
    print(f"  {path}: {len(listed) if key else 'object'} {key or ''}")
    return body


ids = {}
for template, list_key, id_key in [
    ("/api/v1/scopes", "scopes", "id"),
    ("/api/v1/roles", "roles", "id"),
    ("/api/v1/orgs", "orgs", "id"),
    ("/api/v1/apps", "apps", "id"),
    ("/api/v1/app-banners", "appBanners", "id"),
    ("/api/v1/users", "users", "authId"),
    ("/api/v1/user-attributes", "userAttributes", "id"),
    ("/api/v1/logs/email", "logs", "id"),
    ("/api/v1/logs/sms", "logs", "id"),
    ("/api/v1/logs/sign-in", "logs", "id"),
    ("/api/v1/saml/idps", "idps", "id"),
]:
    body = check(template, template)
    ids[template] = [item[id_key] for item in body.get(list_key, []) if id_key in item]

check("/info", "/info")
details = {
    "/api/v1/scopes/{id}": "/api/v1/scopes",
    "/api/v1/roles/{id}": "/api/v1/roles",
    "/api/v1/roles/{id}/users": "/api/v1/roles",
    "/api/v1/orgs/{id}": "/api/v1/orgs",
    "/api/v1/orgs/{id}/users": "/api/v1/orgs",
    "/api/v1/orgs/{id}/all-users": "/api/v1/orgs",
    "/api/v1/apps/{id}": "/api/v1/apps",
    "/api/v1/app-banners/{id}": "/api/v1/app-banners",
    "/api/v1/users/{authId}": "/api/v1/users",
    "/api/v1/users/{authId}/locked-ips": "/api/v1/users",
    "/api/v1/users/{authId}/consented-apps": "/api/v1/users",
    "/api/v1/users/{authId}/passkeys": "/api/v1/users",
    "/api/v1/users/{authId}/active-sessions": "/api/v1/users",
    "/api/v1/users/{authId}/orgs": "/api/v1/users",
    "/api/v1/user-attributes/{id}": "/api/v1/user-attributes",
    "/api/v1/logs/email/{id}": "/api/v1/logs/email",
    "/api/v1/logs/sms/{id}": "/api/v1/logs/sms",
    "/api/v1/logs/sign-in/{id}": "/api/v1/logs/sign-in",
    "/api/v1/saml/idps/{id}": "/api/v1/saml/idps",
}
for template, source in details.items():
    name = "{authId}" if "{authId}" in template else "{id}"
    for value in ids[source]:
        check(template, template.replace(name, str(value)))
for org in ids["/api/v1/orgs"]:
    groups = check("/api/v1/org-groups", f"/api/v1/org-groups?org_id={org}")
    for group in groups.get("orgGroups", []):
        check("/api/v1/org-groups/{id}/users", f"/api/v1/org-groups/{group['id']}/users")

covered = {t for t, _ in counts}
for template, ops in SPEC["paths"].items():
    if "get" in ops and template not in covered:
        problems.append(f"GET {template}: not exercised")
for template, key in REQUIRED:
    if counts.get((template, key), 0) == 0:
        problems.append(f"GET {template}: no {key} in any answer (fill the server first)")

if problems:
    print(f"melody contract: {len(problems)} difference(s)")
    for problem in problems:
        print(f"- {problem}")
    sys.exit(1)
print(f"melody contract: ok ({len(counts)} answers' shapes checked)")
