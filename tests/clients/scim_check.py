"""Runs the SCIM compliance checker (scim2-tester) against /scim/v2, then creates, patches and
deletes a user with scim2-client. Exits non-zero on any failed check not listed in KNOWN_GAPS,
and on a listed one that passes.

Environment: SCIM_URL (…/scim/v2), SCIM_TOKEN (a token holding read_scim and write_scim).
"""

import os
import sys
import uuid

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import PatchOp, PatchOperation, User
from scim2_tester import Status, check_server

FAILED = {Status.ERROR, Status.CRITICAL}

# What the checker finds missing today, each (resource type, check, words of its reason). A failure
# not listed here fails the run, and so does a listed one that no longer fails: closing a gap
# means taking it off this list. Why each is open:
# - the checker sends a random password the password policy refuses;
# - an account's email changes only through the emailed-code flow, so SCIM refuses to change it;
# - groups are roles, which keep no externalId;
# - POST /.search is not served.
KNOWN_GAPS = {
    ("User", "object_query_with_attributes", "Password must be"),
    ("User", "object_list_with_attributes", "Password must be"),
    ("User", "search_with_attributes", "Password must be"),
    ("User", "check_remove_attribute", "Password must be"),
    ("User", "object_replacement", "emails cannot be changed"),
    ("User", "check_replace_attribute", "emails cannot be changed"),
    ("Group", "object_query_with_attributes", "externalId"),
    ("Group", "object_list_with_attributes", "externalId"),
    ("Group", "search_with_attributes", "No such SCIM endpoint"),
    ("Group", "check_add_attribute", "'externalId'"),
    ("Group", "check_add_attribute", "'members'"),
    ("Group", "check_replace_attribute", "'externalId'"),
    ("Group", "check_replace_attribute", "'members'"),
}


def known_gap(result):
    return next(
        (
            gap
            for gap in KNOWN_GAPS
            if gap[0] == (result.resource_type or "-")
            and gap[1] == result.title
            and gap[2] in (result.reason or "")
        ),
        None,
    )


def client():
    http = Client(
        base_url=os.environ["SCIM_URL"],
        headers={"Authorization": f"Bearer {os.environ['SCIM_TOKEN']}"},
    )
    scim = SyncSCIMClient(http)
    scim.discover()
    return scim


def run_checker():
    results = check_server(client())
    counts = {}
    failures = []
    for result in results:
        counts[result.status.name] = counts.get(result.status.name, 0) + 1
        line = f"{result.status.name:10} {result.resource_type or '-':6} {result.title}"
        if result.status in FAILED or result.status == Status.SKIPPED:
            line += f": {result.reason}"
        print(line)
        if result.status in FAILED:
            failures.append(result)
    print("scim2-tester:", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return failures


def client_round_trip():
    scim = client()
    email = f"scim-{uuid.uuid4().hex[:8]}@example.com"
    user = scim.create(User(user_name=email, active=True))
    assert user.user_name == email, user
    patch = PatchOp[User](
        operations=[PatchOperation(op=PatchOperation.Op.replace_, path="active", value=False)]
    )
    scim.modify(User, user.id, patch)
    fetched = scim.query(User, user.id)
    assert fetched.active is False, fetched
    scim.delete(User, user.id)
    print("scim2-client: created, patched and deleted", email)


if __name__ == "__main__":
    failures = run_checker()
    client_round_trip()
    unexpected = [f for f in failures if known_gap(f) is None]
    closed = KNOWN_GAPS - {known_gap(f) for f in failures}
    for f in unexpected:
        print(f"unexpected failure: {f.resource_type} {f.title}: {f.reason}")
    for gap in sorted(closed):
        print(f"known gap no longer fails, take it off KNOWN_GAPS: {gap}")
    if unexpected or closed:
        sys.exit(1)
    print(f"scim_check: ok ({len(failures)} known gaps)")
