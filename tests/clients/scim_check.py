"""Runs the SCIM compliance checker (scim2-tester) against /scim/v2, then creates, patches and
deletes a user with scim2-client. Exits non-zero on any failed check.

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
    if failures:
        print(f"{len(failures)} SCIM check(s) failed")
        sys.exit(1)
    print("scim_check: ok")
