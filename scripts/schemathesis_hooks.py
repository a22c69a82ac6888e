"""Schemathesis hooks for scripts/schemathesis (loaded through SCHEMATHESIS_HOOKS).

`PATCH /api/tickets/{id}` depends on state that no schema can state, so generated valid data is
almost never valid for the ticket it is sent to. In valid (positive) PATCHes only, and only for
a ticket the caller (DOCKET_TOKEN) can read, this fills in that state before the request goes
out:

- the version: a PATCH must carry the ticket's current version, in `If-Match` or in the body's
  `version` (a stale one is 412 or 409, none at all 428). The one that was generated is set to
  the current version (the body's `version` when neither was generated);
- the assignee: it must be an active agent or admin, and any UUID is well formed. A generated
  `assignee_id` becomes the run's agent (DOCKET_STAFF_ID); null and absent stay as generated.

Invalid (negative) data is left alone, and so is everything else about valid data. That stale,
missing and malformed versions and unknown assignees are refused is tested in
services/tickets/tests.
"""

import os

import requests
import schemathesis

BASE_URL = os.environ["DOCKET_BASE_URL"]
TOKEN = os.environ["DOCKET_TOKEN"]
STAFF_ID = os.environ["DOCKET_STAFF_ID"]


def current_version(ticket_id: str) -> int | None:
    resp = requests.get(
        f"{BASE_URL}/api/tickets/{ticket_id}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    return resp.json()["version"] if resp.status_code == 200 else None


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.method.upper() != "PATCH" or case.operation.path != "/api/tickets/{id}":
        return
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if not isinstance(case.body, dict) or not isinstance(case.path_parameters, dict):
        return
    version = current_version(str(case.path_parameters.get("id")))
    if version is None:
        return
    headers = {k.lower(): k for k in (case.headers or {})}
    if "if-match" in headers:
        case.headers[headers["if-match"]] = f'"{version}"'
    else:
        case.body["version"] = version
    if isinstance(case.body.get("assignee_id"), str):
        case.body["assignee_id"] = STAFF_ID
