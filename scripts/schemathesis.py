"""Data and configuration for one run of scripts/schemathesis (not meant to be run by hand).

    schemathesis.py BASE_URL TOKEN ROLE DOCUMENT CONFIG_PATH

As the user whose access token is TOKEN (a requester, agent or admin: ROLE; an admin also
registers someone to change, so that no other run's user is touched): opens a ticket,
comments on it twice and uploads three PNGs to it, and opens five more tickets with one PNG
each for the deletes; then writes a schemathesis.toml that offers those ids for the path
parameters half the time (the other half stays generated, so unknown and malformed ids are tried
too), makes every warning a failure (a run whose requests all end in 403 or 404 proves
nothing), and says what DOCUMENT (auth, tickets or attachments) cannot: see the comments in
CONFIG below, and schemathesis_hooks.py.
"""

import json
import struct
import sys
import urllib.request
import uuid
import zlib

COMMON = """\
# Written by scripts/schemathesis.py for one run.
warnings = {{ fail-on = true }}

[cache]
enabled = false

[dictionaries.tickets]
values = {tickets}
[dictionaries.attachments]
values = {attachments}
[dictionaries.users]
values = {users}
# Deletes get their own tickets and attachments, so the others stay for the rest of the run.
[dictionaries.disposable-tickets]
values = {disposable_tickets}
[dictionaries.disposable-attachments]
values = {disposable_attachments}
"""

# The operations a role may not use: every call is the 403 (or, where the resource itself must
# stay hidden, 404) that role must get, so the "only 401/403" and "only 404" warnings are the
# expected result there rather than a gap in the data; so is "validation mismatch" (all 4xx),
# and leaving it on would bring the global 404 warning back (schemathesis 4.32 decides that one
# by the operation's settings but reports it by the run's). Everything else stays a failure.
FORBIDDEN = {
    "requester": ["GET /api/agents", "PATCH /api/users/{id}", "DELETE /api/tickets/{id}"],
    "agent": ["PATCH /api/users/{id}", "DELETE /api/tickets/{id}"],
    "admin": [],
}
EXPECTED_REFUSAL = """
[[operations]]
include-name = {names}
warnings = {{ display = ["missing_deserializer", "unsupported_regex", "method_not_allowed", "unmatched_filter", "unresolvable_reference", "dictionary_mismatch"], fail-on = true }}
"""

# What each document's operations need beyond what the document says.
CONFIG = {
    "auth": """
[[operations]]
include-path = "/api/users/{{id}}"
parameters = {{ "path.id" = {{ dictionary = "users", probability = 0.5 }} }}
""",
    "tickets": """
[[operations]]
include-name = "DELETE /api/tickets/{{id}}"
parameters = {{ "path.id" = {{ dictionary = "disposable-tickets", probability = 0.5 }} }}

# PATCH also needs the ticket's current version and an assignee who is staff: valid data gets
# both from schemathesis_hooks.py.
[[operations]]
include-path = ["/api/tickets/{{id}}", "/api/tickets/{{id}}/comments", "/api/tickets/{{id}}/events"]
parameters = {{ "path.id" = {{ dictionary = "tickets", probability = 0.5 }} }}
""",
    "attachments": """
[[operations]]
include-name = "DELETE /api/attachments/{{id}}"
parameters = {{ "path.id" = {{ dictionary = "disposable-attachments", probability = 0.5 }} }}

[[operations]]
include-name = "GET /api/attachments/{{id}}/download"
parameters = {{ "path.id" = {{ dictionary = "attachments", probability = 0.5 }} }}

[[operations]]
include-path = "/api/tickets/{{id}}/attachments"
parameters = {{ "path.id" = {{ dictionary = "tickets", probability = 0.5 }} }}

# An upload is accepted only when each file's bytes are an allowed type (JPEG, PNG, GIF, PDF,
# DOC, DOCX, XLS, XLSX) that its filename's extension agrees with. The document says so, but a
# schema types the bytes only as `binary`, so generated files are mostly refused with 415.
[[operations]]
include-name = "POST /api/tickets/{{id}}/attachments"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "415", "429", "5xx"]
""",
}


def main() -> None:
    base, token, role, document, config = sys.argv[1:6]
    auth = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(
            base + path, data=body, method=method, headers={**auth, **(headers or {})}
        )
        with urllib.request.urlopen(req) as resp:
            return json.load(resp)

    def post_json(path: str, value: object):
        return call("POST", path, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def upload(ticket_id: str, count: int) -> list[dict]:
        boundary = uuid.uuid4().hex
        parts = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="dot{i}.png"\r\n'
            "Content-Type: image/png\r\n\r\n".encode()
            + png()
            + b"\r\n"
            for i in range(count)
        ) + f"--{boundary}--\r\n".encode()
        return call(
            "POST",
            f"/api/tickets/{ticket_id}/attachments",
            parts,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    def new_ticket(subject: str) -> dict:
        return post_json("/api/tickets", {"subject": subject, "description": "Seeded for schemathesis."})

    me = call("GET", "/api/auth/me")
    users = [me["id"]]
    if role == "admin":
        # Someone for the admin to promote and deactivate who is in no other run.
        req = urllib.request.Request(
            base + "/api/auth/register",
            data=json.dumps(
                {"email": f"target-{uuid.uuid4().hex[:8]}@example.com", "password": uuid.uuid4().hex, "name": "Tess Target"}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req) as resp:
            users.append(json.load(resp)["user"]["id"])
    ticket = new_ticket("Printer on fire")
    for text in ("First comment", "Second comment"):
        post_json(f"/api/tickets/{ticket['id']}/comments", {"body": text})
    uploaded = upload(ticket["id"], 3)
    disposable = [new_ticket(f"To be deleted {i}") for i in range(5)]
    disposable_attachments = [upload(t["id"], 1)[0] for t in disposable]
    forbidden = FORBIDDEN[role]
    with open(config, "w", encoding="utf-8") as f:
        # Where several [[operations]] entries match an operation, each setting comes from the
        # first that has it.
        f.write(
            COMMON.format(
                tickets=json.dumps([ticket["id"]]),
                attachments=json.dumps([a["id"] for a in uploaded]),
                users=json.dumps(users),
                disposable_tickets=json.dumps([t["id"] for t in disposable]),
                disposable_attachments=json.dumps([a["id"] for a in disposable_attachments]),
            )
            + (EXPECTED_REFUSAL.format(names=json.dumps(forbidden)) if forbidden else "")
            + CONFIG[document].format()
        )


def png() -> bytes:
    """A 1×1 greyscale PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    main()
