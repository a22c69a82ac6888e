#!/usr/bin/env python3
"""Docket's fault drills (issue 26); run through `scripts/drill`, which builds and cleans up.

Starts a stack of its own — Postgres (initdb into the work folder, its own port, trust auth),
Redis (no persistence), moto's S3 server and the four Docket services, all on free loopback
ports — puts a bounded background load on it through the gateway (registered requesters and
an agent creating tickets, commenting, uploading small PNG/PDF files, listing, reading,
downloading, deleting), and kills and restarts one component at a time: Redis, the S3
server, auth, tickets, attachments, the gateway (SIGKILL, then start again) and Postgres
(immediate stop, then start). For each fault it prints what the load saw during the outage,
the time until every request succeeded again, and the errors after recovery (must be 0); at
the end it checks that everything the load saw acknowledged is still there and that the
bucket and the attachment rows agree (0 lost, 0 orphaned).

Standard library only. Never touches the machine's shared Postgres or Redis: every server is
started here, on ports picked here, with data under --work.

moto keeps its state in memory, so a restarted moto would come back empty, which no real S3
does. The drill runs it with moto's request recorder on and, after the restart, sends the
recorded writes (PUT/POST/DELETE) again to the new process (see Stack.moto_start): that stands
in for S3's durability.
"""

import argparse
import base64
import collections
import glob
import hashlib
import http.client
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVICES = ["auth", "tickets", "attachments", "gateway"]
BUCKET = "drill"
PASSWORD = "drill-password-1"
HTTP_TIMEOUT = 10.0


def log(msg):
    print(msg, flush=True)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_until(pred, secs, what):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {secs} s waiting for {what}")


def http_get_status(port, path, timeout=1.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


# --------------------------------------------------------------------------------------------
# Processes


class Stack:
    """Every server of the drill. Each pid goes to WORK/pids too, so that scripts/drill's trap
    can end them (by pid) even if this program dies."""

    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.logs = os.path.join(self.work, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.procs = {}
        (self.pg_port, self.redis_port, self.moto_port, *svc_ports) = free_ports(3 + len(SERVICES))
        self.ports = dict(zip(SERVICES, svc_ports))
        self.pg_bin = self._pg_bin()
        self.pg_dir = os.path.join(self.work, "pg")
        self.pg_data = os.path.join(self.pg_dir, "data")
        self.pg_sock = os.path.join(self.pg_dir, "sock")
        self.moto_rec = os.path.join(self.work, "moto-recording.jsonl")
        self.moto_history = []  # the writes of the moto processes before this one
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @staticmethod
    def _pg_bin():
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                       key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
        if not found:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        return os.path.dirname(found[-1])

    def _spawn(self, name, argv, env=None, cwd=ROOT):
        out = open(os.path.join(self.logs, f"{name}.log"), "ab")
        p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        self.procs[name] = p
        with open(os.path.join(self.work, "pids"), "a") as f:
            f.write(f"{p.pid}\n")
        return p

    def sigkill(self, name):
        p = self.procs.pop(name, None)
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait(10)

    # --- Postgres
    def pg_init(self):
        os.makedirs(self.pg_sock, exist_ok=True)
        if self.as_postgres:
            os.chmod(self.work, 0o755)
            subprocess.run(["chown", "-R", "postgres:postgres", self.pg_dir], check=True)
        subprocess.run(self.as_postgres + [f"{self.pg_bin}/initdb", "-D", self.pg_data, "-U", "postgres",
                                           "--auth=trust", "-E", "UTF8", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def pg_start(self):
        opts = (f"-p {self.pg_port} -k {self.pg_sock} -c listen_addresses=127.0.0.1 "
                "-c max_connections=200")
        subprocess.run(self.as_postgres + [f"{self.pg_bin}/pg_ctl", "-D", self.pg_data, "-l",
                                           os.path.join(self.pg_dir, "postgres.log"), "-o", opts,
                                           "-w", "-t", "60", "start"],
                       check=True, stdout=subprocess.DEVNULL)

    def pg_stop_immediate(self):
        subprocess.run(self.as_postgres + [f"{self.pg_bin}/pg_ctl", "-D", self.pg_data, "-m",
                                           "immediate", "-w", "stop"],
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def psql(self, db, sql):
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres",
                            "-d", db, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                            "-c", sql],
                           check=True, capture_output=True, text=True,
                           env={**os.environ, "PGCONNECT_TIMEOUT": "5"})
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def db_url(self, service):
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/docket_{service}"

    # --- Redis
    def redis_start(self):
        self._spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--daemonize", "no"])
        wait_until(self.redis_ping, 20, "redis")

    def redis_ping(self):
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    # --- moto
    def moto_url(self):
        return f"http://127.0.0.1:{self.moto_port}"

    def _recorded_writes(self):
        """The PUT/POST/DELETE requests moto has recorded in the current file, minus the drill's
        own replays (reads would only slow a replay down)."""
        out = []
        if os.path.exists(self.moto_rec):
            with open(self.moto_rec) as f:
                for line in f:
                    entry = json.loads(line)
                    if (entry.get("method") in ("PUT", "POST", "DELETE")
                            and "/moto-api/" not in entry.get("url", "")
                            and "X-Drill-Replay" not in entry.get("headers", {})):
                        out.append(entry)
        return out

    def _send_recorded(self, entry):
        body = entry.get("body") or ""
        body = base64.b64decode(body) if entry.get("body_encoded") else body.encode()
        headers = {k: v for k, v in entry.get("headers", {}).items()
                   if k.lower() not in ("host", "transfer-encoding", "content-length")}
        headers["X-Drill-Replay"] = "1"
        headers["Content-Length"] = str(len(body))
        u = urllib.parse.urlsplit(entry["url"])
        c = http.client.HTTPConnection("127.0.0.1", self.moto_port, timeout=30)
        try:
            c.request(entry["method"], u.path + ("?" + u.query if u.query else ""), body=body, headers=headers)
            c.getresponse().read()
        finally:
            c.close()

    def moto_start(self, replay=False):
        """Starts moto with its recorder on. With `replay`, moto has just been killed: every
        write recorded so far is sent again to the new process, so that it holds what a durable
        S3 would. The services reach the new process as soon as it listens, so a DELETE they
        send while the replay runs could be undone by a replayed PUT of the same key; such live
        DELETEs (recorded meanwhile, without the replay's marker header) are sent once more
        after the replay."""
        if replay:
            self.moto_history += self._recorded_writes()
        with open(self.moto_rec, "w"):
            pass
        env = {**os.environ, "MOTO_ENABLE_RECORDING": "1", "MOTO_RECORDER_FILEPATH": self.moto_rec}
        self._spawn("moto", [os.path.join(ROOT, ".venv/bin/moto_server"), "-H", "127.0.0.1",
                             "-p", str(self.moto_port)], env=env)
        wait_until(lambda: http_get_status(self.moto_port, "/moto-api/") == 200, 60, "moto")
        if replay:
            for entry in self.moto_history:
                self._send_recorded(entry)
            for entry in self._recorded_writes():
                if entry["method"] == "DELETE":
                    self._send_recorded(entry)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.moto_port, timeout=10)
            c.request("PUT", f"/{BUCKET}")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status != 200:
                raise RuntimeError(f"creating the bucket answered {r.status}")

    def bucket_objects(self):
        """{key: size} of every object in the bucket."""
        objects, token = {}, None
        ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        for _ in range(1000):
            q = {"list-type": "2", "max-keys": "1000"}
            if token:
                q["continuation-token"] = token
            c = http.client.HTTPConnection("127.0.0.1", self.moto_port, timeout=30)
            c.request("GET", f"/{BUCKET}?{urllib.parse.urlencode(q)}")
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status != 200:
                raise RuntimeError(f"listing the bucket answered {r.status}: {body[:200]!r}")
            root = ET.fromstring(body)
            for item in root.iter(f"{ns}Contents"):
                objects[item.find(f"{ns}Key").text] = int(item.find(f"{ns}Size").text)
            if root.findtext(f"{ns}IsTruncated") == "true":
                token = root.findtext(f"{ns}NextContinuationToken")
            else:
                break
        return objects

    # --- Docket services
    def service_env(self, service):
        urls = {f"{s.upper()}_URL": f"http://127.0.0.1:{self.ports[s]}" for s in ("auth", "tickets", "attachments")}
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("RATE_LIMIT_", "DATABASE_URL", "AWS_", "S3_", "STORAGE_", "SECRETS_ID"))}
        env.update(urls)
        env.update({
            "HOST": "127.0.0.1",
            "PORT": str(self.ports[service]),
            "LOG_LEVEL": "info",
            "LOG_FORMAT": "pretty",
            "NO_COLOR": "1",
            "COOKIE_SECURE": "false",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}",
            "DATA_DIR": os.path.join(self.work, "auth-data"),
            "UPLOAD_DIR": os.path.join(self.work, "uploads"),
            "WEB_DIR": os.path.join(self.work, "no-web"),
            "STORAGE_TYPE": "s3",
            "S3_ATTACHMENTS_BUCKET": BUCKET,
            "AWS_ENDPOINT_URL": self.moto_url(),
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_EC2_METADATA_DISABLED": "true",
            # Raised for the run with the normal settings: the load is one client doing far
            # more than a person would.
            "RATE_LIMIT_API": "100000/60",
            "RATE_LIMIT_UPLOADS": "100000/60",
            "RATE_LIMIT_AUTH_FAILURES": "10000/60",
        })
        if service != "gateway":
            env["DATABASE_URL"] = self.db_url(service)
        return env

    def bin(self, service):
        return os.path.join(self.args.bin_dir, f"docket-{service}")

    def service_start(self, service, ready_path="/health/live", secs=60):
        self._spawn(service, [self.bin(service)], env=self.service_env(service))
        port = self.ports[service]

        def up():
            p = self.procs.get(service)
            if p is not None and p.poll() is not None:
                raise RuntimeError(f"{service} exited with {p.returncode}; see {self.logs}/{service}.log")
            return http_get_status(port, ready_path) == 200

        deadline = time.monotonic() + secs
        while True:
            try:
                if up():
                    return
            except RuntimeError:
                raise
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{service} did not answer {ready_path} within {secs} s")
            time.sleep(0.05)

    def cli(self, service, argv, extra_env=None, timeout=120):
        env = self.service_env(service)
        env.update(extra_env or {})
        return subprocess.run([self.bin(service)] + argv, env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout)

    def start_all(self):
        self.pg_init()
        self.pg_start()
        for s in ("auth", "tickets", "attachments"):
            self.psql("postgres", f"CREATE DATABASE docket_{s}")
        self.redis_start()
        self.moto_start()
        for s in SERVICES:
            self.service_start(s, "/health/ready")

    def stop_all(self):
        for name in list(self.procs):
            p = self.procs.pop(name)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    pass
        if os.path.exists(os.path.join(self.pg_data, "postmaster.pid")):
            self.pg_stop_immediate()


# --------------------------------------------------------------------------------------------
# The load


def png_bytes(rng):
    w, h = 4, 4
    raw = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(3 * w)) for _ in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pdf_bytes(rng):
    text = f"drill {rng.getrandbits(64):016x}"
    stream = f"BT /F1 12 Tf 20 50 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, o)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def multipart(files):
    boundary = uuid.uuid4().hex
    body = bytearray()
    for name, ctype, data in files:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                 f"Content-Type: {ctype}\r\n\r\n").encode()
        body += data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(body)


class Rec:
    __slots__ = ("t0", "t1", "op", "status")

    def __init__(self, t0, t1, op, status):
        self.t0, self.t1, self.op, self.status = t0, t1, op, status


def ok(status):
    return isinstance(status, int) and 200 <= status < 400


def is_5xx_or_net(status):
    return not isinstance(status, int) or status >= 500


class Load:
    def __init__(self, stack, args):
        self.stack = stack
        self.args = args
        self.port = stack.ports["gateway"]
        self.lock = threading.Lock()
        self.records = []          # every request to Docket
        self.fetches = []          # (t0, ok, detail) for the presigned GETs to the S3 server
        self.stop = threading.Event()
        self.count = 0
        # What the load saw acknowledged.
        self.tickets = {}          # id -> owner email
        self.comments = {}         # id -> ticket id
        self.attachments = {}      # id -> {ticket, size, sha256, owner}
        self.deleted = set()       # attachment ids whose DELETE answered 204
        self.delete_unknown = set()  # a DELETE that failed: either outcome is allowed
        self.versions = {}         # ticket id -> highest version an acknowledged PATCH returned
        self.id_shapes = collections.Counter()
        self.health = []           # (t0, t1, http status, verdict, services not healthy)
        self.users = {}            # email -> {token, id, role}

    # --- one request
    def call(self, op, method, path, token=None, body=None, ctype=None, headers=None, record=True):
        h = {"Connection": "close"}
        if token:
            h["Authorization"] = f"Bearer {token}"
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
            ctype = "application/json"
        if ctype:
            h["Content-Type"] = ctype
        h.update(headers or {})
        t0 = time.monotonic()
        status, rh, data = None, {}, b""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            status, rh = r.status, {k.lower(): v for k, v in r.getheaders()}
        except socket.timeout:
            status = "timeout"
        except ConnectionRefusedError:
            status = "refused"
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
            status = "reset"
        except (OSError, http.client.HTTPException) as e:
            status = type(e).__name__
        finally:
            c.close()
        t1 = time.monotonic()
        if record:
            with self.lock:
                self.records.append(Rec(t0, t1, op, status))
                self.count += 1
                if self.count >= self.args.max_requests:
                    self.stop.set()
        js = None
        if data and rh.get("content-type", "").split(";")[0].strip().endswith("json"):
            try:
                js = json.loads(data)
            except ValueError:
                js = None
        return status, rh, js

    def note_id(self, value):
        try:
            canonical = str(uuid.UUID(value))
        except (ValueError, TypeError, AttributeError):
            self.id_shapes["not a uuid"] += 1
            return
        self.id_shapes["canonical" if canonical == value else "non-canonical"] += 1

    # --- setup
    def register(self, email, name):
        status, _, js = self.call("register", "POST", "/api/auth/register",
                                  body={"email": email, "password": PASSWORD, "name": name}, record=False)
        if status != 201:
            raise RuntimeError(f"registering {email} answered {status}: {js}")
        self.users[email] = {"token": js["access_token"], "id": js["user"]["id"], "role": "requester"}

    def login(self, email, role):
        status, _, js = self.call("login", "POST", "/api/auth/login",
                                  body={"email": email, "password": PASSWORD}, record=False)
        if status != 200:
            raise RuntimeError(f"logging in {email} answered {status}: {js}")
        self.users[email] = {"token": js["access_token"], "id": js["user"]["id"], "role": role}

    # --- requester ops
    def op_create(self, w):
        n = w["rng"].getrandbits(32)
        status, _, js = self.call("create ticket", "POST", "/api/tickets", w["token"],
                                  {"subject": f"Drill ticket {n:08x}",
                                   "description": f"Made by the fault drill, load {w['email']}"})
        if status == 201 and js:
            self.note_id(js.get("id"))
            with self.lock:
                self.tickets[js["id"]] = w["email"]
            w["tickets"].append(js["id"])

    def op_comment(self, w, internal=False):
        t = self.pick_ticket(w)
        if not t:
            return self.op_create(w)
        body = {"body": f"drill comment {w['rng'].getrandbits(32):08x}"}
        if internal:
            body["internal"] = True
        status, _, js = self.call("comment", "POST", f"/api/tickets/{t}/comments", w["token"], body)
        if status == 201 and js:
            self.note_id(js.get("id"))
            with self.lock:
                self.comments[js["id"]] = t

    def op_upload(self, w):
        t = self.pick_ticket(w)
        if not t:
            return self.op_create(w)
        rng = w["rng"]
        files = []
        for _ in range(rng.choice((1, 1, 2))):
            n = rng.getrandbits(24)
            if rng.random() < 0.5:
                files.append((f"screenshot-{n}.png", "image/png", png_bytes(rng)))
            else:
                files.append((f"report-{n}.pdf", "application/pdf", pdf_bytes(rng)))
        ctype, body = multipart(files)
        status, _, js = self.call("upload", "POST", f"/api/tickets/{t}/attachments", w["token"], body, ctype)
        if status == 201 and isinstance(js, list):
            by_name = {name: data for name, _, data in files}
            for item in js:
                self.note_id(item.get("id"))
                data = by_name.get(item.get("filename"), b"")
                with self.lock:
                    self.attachments[item["id"]] = {"ticket": t, "size": item.get("size"), "owner": w["email"],
                                                    "sha256": hashlib.sha256(data).hexdigest(), "data": data}
                w["attachments"].append(item["id"])

    def op_list(self, w):
        self.call("list tickets", "GET", "/api/tickets?limit=20", w["token"])

    def op_get(self, w):
        t = self.pick_ticket(w)
        if t:
            self.call("get ticket", "GET", f"/api/tickets/{t}", w["token"])

    def op_comments(self, w):
        t = self.pick_ticket(w)
        if t:
            self.call("list comments", "GET", f"/api/tickets/{t}/comments?limit=20", w["token"])

    def op_attachments(self, w):
        t = self.pick_ticket(w)
        if t:
            self.call("list attachments", "GET", f"/api/tickets/{t}/attachments?limit=20", w["token"])

    def op_download(self, w):
        if not w["attachments"]:
            return self.op_upload(w)
        a = w["rng"].choice(w["attachments"])
        status, rh, _ = self.call("download", "GET", f"/api/attachments/{a}/download", w["token"])
        if status == 302 and rh.get("location"):
            self.fetch(a, rh["location"])

    def fetch(self, a, location):
        t0 = time.monotonic()
        u = urllib.parse.urlsplit(location)
        okay, detail = False, ""
        if u.hostname not in ("127.0.0.1", "localhost"):
            detail = f"not a loopback URL: {u.netloc}"
        else:
            c = http.client.HTTPConnection("127.0.0.1", u.port or 80, timeout=HTTP_TIMEOUT)
            try:
                c.request("GET", u.path + ("?" + u.query if u.query else ""))
                r = c.getresponse()
                data = r.read()
                want = self.attachments[a]["sha256"]
                okay = r.status == 200 and hashlib.sha256(data).hexdigest() == want
                detail = str(r.status) if r.status != 200 else ("bytes differ" if not okay else "")
            except (OSError, http.client.HTTPException) as e:
                detail = type(e).__name__
            finally:
                c.close()
        with self.lock:
            self.fetches.append((t0, okay, detail))

    def op_delete(self, w):
        if len(w["attachments"]) < 3:
            return self.op_upload(w)
        a = w["attachments"].pop(w["rng"].randrange(len(w["attachments"])))
        status, _, _ = self.call("delete attachment", "DELETE", f"/api/attachments/{a}", w["token"])
        with self.lock:
            (self.deleted if status == 204 else self.delete_unknown).add(a)

    def op_me(self, w):
        self.call("me", "GET", "/api/auth/me", w["token"])

    # --- agent ops
    def op_agent_list(self, w):
        self.call("list tickets", "GET", "/api/tickets?limit=50", w["token"])

    def op_agent_get(self, w):
        t = self.any_ticket(w)
        if t:
            self.call("get ticket", "GET", f"/api/tickets/{t}", w["token"])

    def op_agent_note(self, w):
        t = self.any_ticket(w)
        if t:
            w["tickets"] = [t]
            self.op_comment(w, internal=True)

    def op_agent_patch(self, w):
        t = self.any_ticket(w)
        if not t:
            return
        status, _, js = self.call("get ticket", "GET", f"/api/tickets/{t}", w["token"])
        if status != 200 or not js:
            return
        new = w["rng"].choice(["in_progress", "waiting", "open", "resolved"])
        if new == js.get("status"):
            new = "in_progress" if new != "in_progress" else "waiting"
        status, _, js = self.call("patch ticket", "PATCH", f"/api/tickets/{t}", w["token"],
                                  {"status": new}, headers={"If-Match": str(js["version"])})
        if status == 200 and js:
            with self.lock:
                self.versions[t] = max(self.versions.get(t, 0), js["version"])

    def pick_ticket(self, w):
        return w["rng"].choice(w["tickets"]) if w["tickets"] else None

    def any_ticket(self, w):
        with self.lock:
            keys = list(self.tickets)
        return w["rng"].choice(keys) if keys else None

    def worker(self, w, ops):
        names, weights = zip(*ops)
        deadline = time.monotonic() + self.args.max_seconds
        while not self.stop.is_set() and time.monotonic() < deadline:
            op = w["rng"].choices(names, weights)[0]
            try:
                getattr(self, op)(w)
            except Exception as e:  # a bug in the drill, not in Docket: say so and go on
                log(f"!! load {op}: {type(e).__name__}: {e}")
            self.stop.wait(w["rng"].uniform(0.02, 0.06))

    def health_poller(self):
        """GET /health on the gateway (every service's deep check, gathered) twice a second."""
        deadline = time.monotonic() + self.args.max_seconds
        while not self.stop.is_set() and time.monotonic() < deadline:
            t0 = time.monotonic()
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                c.request("GET", "/health")
                r = c.getresponse()
                body = r.read()
                try:
                    verdict = json.loads(body).get("status", "?")
                except ValueError:
                    verdict = "?"
                sick = []
                try:
                    for svc in json.loads(body).get("checks", []):
                        if svc.get("status") not in ("healthy", "pass"):
                            sick.append(svc.get("name", "?"))
                except (ValueError, AttributeError):
                    pass
                result = (r.status, verdict, tuple(sick))
            except (OSError, http.client.HTTPException) as e:
                result = (type(e).__name__, "no answer", ())
            finally:
                c.close()
            with self.lock:
                self.health.append((t0, time.monotonic(), *result))
            self.stop.wait(0.5)

    def start(self, requesters, agent_email):
        req_ops = [("op_create", 10), ("op_comment", 14), ("op_upload", 12), ("op_list", 12),
                   ("op_get", 14), ("op_comments", 8), ("op_attachments", 8), ("op_download", 10),
                   ("op_delete", 3), ("op_me", 5)]
        agent_ops = [("op_agent_list", 10), ("op_agent_get", 10), ("op_agent_note", 8), ("op_agent_patch", 8)]
        self.threads = [threading.Thread(target=self.health_poller, daemon=True)]
        self.threads[0].start()
        for i, email in enumerate(requesters + [agent_email]):
            w = {"email": email, "token": self.users[email]["token"], "rng": random.Random(i * 7919 + 17),
                 "tickets": [], "attachments": []}
            ops = agent_ops if email == agent_email else req_ops
            th = threading.Thread(target=self.worker, args=(w, ops), daemon=True)
            th.start()
            self.threads.append(th)

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join(HTTP_TIMEOUT * 3)


# --------------------------------------------------------------------------------------------
# Faults


def fault_actions(stack):
    def service(name):
        return (lambda: stack.sigkill(name), lambda: stack.service_start(name, "/health/live"))

    return {
        "redis": ("SIGKILL", lambda: stack.sigkill("redis"), stack.redis_start),
        "s3": ("SIGKILL", lambda: stack.sigkill("moto"), lambda: stack.moto_start(replay=True)),
        "auth": ("SIGKILL", *service("auth")),
        "tickets": ("SIGKILL", *service("tickets")),
        "attachments": ("SIGKILL", *service("attachments")),
        "gateway": ("SIGKILL", *service("gateway")),
        "postgres": ("immediate stop", stack.pg_stop_immediate, stack.pg_start),
    }


def status_counts(recs):
    c = collections.Counter(str(r.status) for r in recs)
    return " ".join(f"{k}×{v}" for k, v in sorted(c.items())) or "-"


def short_health(entries):
    c = collections.Counter(v for (_, _, _, v, _) in entries)
    return " ".join(f"{k}×{n}" for k, n in sorted(c.items())) or "-"


def analyse(phase, records, health=()):
    """phase: dict with t_kill, t_up, t_end (monotonic). Adds the figures to it."""
    hp = [h for h in health if phase["t_kill"] <= h[1] < phase["t_end"]]
    phase["health_outage"] = short_health([h for h in hp if h[0] < phase["t_up"]])
    phase["health_after"] = short_health([h for h in hp if h[0] >= phase["t_up"] + phase["settle"]])
    phase["health_sick_after"] = collections.Counter(
        n for h in hp if h[0] >= phase["t_up"] + phase["settle"] for n in h[4])
    # /health may say degraded; a 503 or no answer once everything is back is a failure.
    phase["health_bad_after"] = sum(1 for h in hp if h[0] >= phase["t_up"] + phase["settle"]
                                    and h[2] != 200)
    # A request belongs to the phase in which it finished: one in flight when a fault strikes
    # is that fault's, not the previous one's.
    inside = sorted((r for r in records if phase["t_kill"] <= r.t1 < phase["t_end"]), key=lambda r: r.t0)
    outage = [r for r in inside if r.t0 < phase["t_up"]]
    phase["requests"] = len(inside)
    phase["outage_n"] = len(outage)
    phase["outage_counts"] = status_counts(outage)
    failures = [r for r in inside if not ok(r.status)]
    if not failures:
        phase["recovery"] = 0.0
    else:
        last = failures[-1]
        later = [r for r in inside if r.t0 > last.t0]
        # Not recovered if the last failure is within the final second of the window.
        phase["recovery"] = (later[0].t0 - phase["t_kill"]) if later and phase["t_end"] - last.t0 > 1.0 else None
    check_from = phase["t_up"] + phase["settle"]
    after = [r for r in inside if r.t0 >= check_from]
    phase["after_n"] = len(after)
    phase["after_5xx"] = sum(1 for r in after if is_5xx_or_net(r.status))
    phase["after_other"] = [r for r in after if not ok(r.status) and not is_5xx_or_net(r.status)]
    bad_after = [r for r in after if not ok(r.status)]
    phase["after_detail"] = collections.Counter(f"{r.op} {r.status}" for r in bad_after)
    phase["failures_by_op"] = collections.Counter(f"{r.op} {r.status}" for r in failures)
    phase["pass"] = phase["after_5xx"] == 0 and not phase["after_other"] and phase["recovery"] is not None \
        and phase["after_n"] > 0 and phase["health_bad_after"] == 0


# --------------------------------------------------------------------------------------------
# Integrity


def integrity(stack, load, args):
    results = []   # (name, expected, found, pass, detail)

    def check(name, n_expected, missing, detail=""):
        results.append((name, n_expected, n_expected - len(missing), not missing, detail))
        return missing

    att_rows = {r[0]: {"state": r[1], "key": r[2], "size": int(r[3]), "ticket": r[4]}
                for r in stack.psql("docket_attachments",
                                    "SELECT id, state, storage_key, size, ticket_id FROM attachments")}
    objects = stack.bucket_objects()
    keys = {row["key"] for row in att_rows.values()}
    pre = {
        "pending": sum(1 for r in att_rows.values() if r["state"] == "pending"),
        "deleting": sum(1 for r in att_rows.values() if r["state"] == "deleting"),
        "unnamed objects": sum(1 for k in objects if k not in keys),
        "ready rows without object": sum(1 for r in att_rows.values()
                                         if r["state"] == "ready" and r["key"] not in objects),
    }
    log("==> before the sweep: " + ", ".join(f"{v} {k}" for k, v in pre.items()))

    time.sleep(1.5)
    log(f"==> docket-attachments sweep --older-than 1 (the load has stopped: nothing is in flight)")
    r = stack.cli("attachments", ["sweep", "--older-than", "1"])
    sweep_line = (r.stdout.strip().splitlines() or [""])[-1]
    log(f"    {sweep_line or r.stderr.strip()[-300:]} (exit {r.returncode})")
    results.append(("sweep ran cleanly", 1, 1 if r.returncode == 0 else 0, r.returncode == 0, sweep_line))

    att_rows = {r[0]: {"state": r[1], "key": r[2], "size": int(r[3]), "ticket": r[4]}
                for r in stack.psql("docket_attachments",
                                    "SELECT id, state, storage_key, size, ticket_id FROM attachments")}
    objects = stack.bucket_objects()
    tickets = {r[0]: int(r[1]) for r in stack.psql("docket_tickets", "SELECT id, version FROM tickets")}
    comments = {r[0] for r in stack.psql("docket_tickets", "SELECT id FROM comments")}

    def find(table, ident):
        """The row key for an id the API gave, exactly or after canonicalising it."""
        if ident in table:
            return ident
        try:
            c = str(uuid.UUID(ident))
        except ValueError:
            return None
        return c if c in table else None

    missing = [t for t in load.tickets if find(tickets, t) is None]
    check("acknowledged tickets in the database", len(load.tickets), missing, " ".join(missing[:3]))
    missing = [c for c in load.comments if find(comments, c) is None]
    check("acknowledged comments in the database", len(load.comments), missing, " ".join(missing[:3]))
    live = [a for a in load.attachments if a not in load.deleted and a not in load.delete_unknown]
    missing = []
    for a in live:
        k = find(att_rows, a)
        if k is None or att_rows[k]["state"] != "ready":
            missing.append(a)
    check("acknowledged attachments ready in the database", len(live), missing, " ".join(missing[:3]))
    gone = [a for a in load.deleted if find(att_rows, a) is not None]
    check("acknowledged deletes gone from the database", len(load.deleted), gone, " ".join(gone[:3]))
    stale_versions = [t for t, v in load.versions.items() if find(tickets, t) is None or tickets[find(tickets, t)] < v]
    check("acknowledged PATCHes kept (version)", len(load.versions), stale_versions, " ".join(stale_versions[:3]))

    keys = {row["key"]: ident for ident, row in att_rows.items()}
    orphans = [k for k in objects if k not in keys]
    ready = {i: r for i, r in att_rows.items() if r["state"] == "ready"}
    lost = [i for i, r in ready.items() if r["key"] not in objects]
    wrong_size = [i for i, r in ready.items() if r["key"] in objects and objects[r["key"]] != r["size"]]
    leftover = [i for i, r in att_rows.items() if r["state"] != "ready"]
    check("objects named by a row (orphaned objects)", len(objects), orphans, " ".join(orphans[:3]))
    check("ready rows whose object exists (lost objects)", len(ready), lost, " ".join(lost[:3]))
    check("ready objects of the row's size", len(ready), wrong_size, " ".join(wrong_size[:3]))
    check("rows left pending/deleting after the sweep", len(att_rows), leftover,
          " ".join(f"{i}:{att_rows[i]['state']}" for i in leftover[:3]))

    # The API's view: every acknowledged ticket readable by its requester, with its comments and
    # attachments listed.
    api_missing = []
    by_ticket_att = collections.defaultdict(set)
    for a in live:
        by_ticket_att[load.attachments[a]["ticket"]].add(a)
    by_ticket_com = collections.defaultdict(set)
    for c, t in load.comments.items():
        by_ticket_com[t].add(c)
    agent_token = load.users[args.agent_email]["token"]
    for t in load.tickets:
        status, _, js = load.call("verify", "GET", f"/api/tickets/{t}", agent_token, record=False)
        if status != 200:
            api_missing.append(f"ticket {t}: {status}")
            continue
        for what, want in (("comments", by_ticket_com.get(t, set())), ("attachments", by_ticket_att.get(t, set()))):
            if not want:
                continue
            seen, cursor = set(), None
            for _ in range(100):
                q = "limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
                status, _, js = load.call("verify", "GET", f"/api/tickets/{t}/{what}?{q}", agent_token, record=False)
                if status != 200 or not js:
                    api_missing.append(f"{what} of {t}: {status}")
                    break
                seen.update(i["id"] for i in js["items"])
                cursor = js.get("next_cursor")
                if not cursor:
                    break
            api_missing += [f"{what[:-1]} {i}" for i in want - seen]
    n_api = len(load.tickets) + len(load.comments) + len(live)
    check("acknowledged tickets/comments/attachments seen through the API", n_api, api_missing,
          " ".join(api_missing[:2]))

    # Informational: attachment events are best-effort (upload succeeds when tickets is down).
    events = {r[0] for r in stack.psql("docket_tickets",
                                       "SELECT data FROM events WHERE kind = 'attachment_added'")}
    ev_ids = set()
    for d in events:
        try:
            ev_ids.add(json.loads(d).get("attachment_id"))
        except ValueError:
            pass
    no_event = [a for a in load.attachments if a not in ev_ids]
    info = {"attachments without an attachment_added event (best-effort by design)": len(no_event)}
    return results, pre, info


# --------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True)
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--faults", default="redis,s3,auth,tickets,attachments,gateway,postgres")
    ap.add_argument("--down", type=float, default=3.0, help="seconds each component stays down")
    ap.add_argument("--observe", type=float, default=12.0, help="seconds watched after a component is back")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="seconds after a component is back from which no request may fail")
    ap.add_argument("--baseline", type=float, default=5.0)
    ap.add_argument("--requesters", type=int, default=3)
    ap.add_argument("--max-requests", type=int, default=40000)
    ap.add_argument("--max-seconds", type=float, default=400.0)
    ap.add_argument("--verbose", action="store_true", help="also print each fault's /health timeline")
    args = ap.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    stack = Stack(args)
    actions = fault_actions(stack)
    for f in faults:
        if f not in actions:
            sys.exit(f"unknown fault {f!r}; known: {', '.join(actions)}")

    def on_term(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    failed = False
    try:
        t = time.monotonic()
        log(f"==> starting Postgres :{stack.pg_port}, Redis :{stack.redis_port}, moto :{stack.moto_port}, "
            + ", ".join(f"{s} :{p}" for s, p in stack.ports.items()) + f" (work: {args.work})")
        stack.start_all()
        log(f"    up in {time.monotonic() - t:.1f} s")

        load = Load(stack, args)
        args.agent_email = "agent@drill.example.com"
        r = stack.cli("auth", ["create-user", "--email", args.agent_email, "--name", "Drill Agent",
                               "--role", "agent"], {"DOCKET_PASSWORD": PASSWORD})
        if r.returncode != 0:
            raise RuntimeError(f"docket-auth create-user failed: {r.stderr.strip()[-500:]}")
        load.login(args.agent_email, "agent")
        requesters = [f"requester{i}@drill.example.com" for i in range(1, args.requesters + 1)]
        for i, email in enumerate(requesters, 1):
            load.register(email, f"Drill Requester {i}")
        log(f"==> load: {len(requesters)} requesters and an agent through the gateway "
            f"(at most {args.max_requests} requests, {args.max_seconds:.0f} s)")
        load.start(requesters, args.agent_email)

        phases = []
        t0 = time.monotonic()
        time.sleep(args.baseline)
        phases.append({"name": "baseline", "how": "-", "t_kill": t0, "t_up": t0, "t_end": time.monotonic(),
                       "settle": 0.0, "down": 0.0})
        for f in faults:
            if load.stop.is_set():
                log("!! the load's request budget ran out before every fault was drilled")
                failed = True
                break
            how, kill, restart = actions[f]
            ph = {"name": f, "how": how, "settle": args.settle}
            log(f"==> {f}: {how}")
            ph["t_kill"] = time.monotonic()
            kill()
            time.sleep(args.down)
            t_restart = time.monotonic()
            try:
                restart()
            except Exception as e:
                log(f"!! restarting {f} failed: {e}")
                ph["restart_error"] = str(e)
                raise
            ph["t_up"] = time.monotonic()
            ph["down"] = ph["t_up"] - ph["t_kill"]
            log(f"    back after {ph['down']:.1f} s (restart took {ph['t_up'] - t_restart:.1f} s); "
                f"watching {args.observe:.0f} s")
            time.sleep(args.observe)
            ph["t_end"] = time.monotonic()
            phases.append(ph)
        load.finish()
        log(f"==> load stopped: {len(load.records)} requests; acknowledged {len(load.tickets)} tickets, "
            f"{len(load.comments)} comments, {len(load.attachments)} attachments "
            f"({len(load.deleted)} deleted, {len(load.delete_unknown)} deletes unanswered), "
            f"{len(load.versions)} tickets PATCHed")

        for ph in phases:
            analyse(ph, load.records, load.health)
        # The baseline is judged from its start.
        base = phases[0]
        base["t_up"] = base["t_kill"]
        analyse(base, load.records, load.health)
        base["pass"] = all(ok(r.status) for r in load.records if base["t_kill"] <= r.t1 < base["t_end"]) \
            and base["health_bad_after"] == 0

        results, pre, info = integrity(stack, load, args)

        # ---- the table
        log("")
        log("Fault drills — requests through the gateway, each counted in the phase it finished in. 'down s': kill")
        log(f"until the component answered again; 'recovery s': from the kill until every later request succeeded;")
        log(f"'after': requests started {args.settle:g} s or more after the component was back, '5xx after': those")
        log("that failed with a 5xx or a network error (must be 0)")
        hdr = f"{'fault':<12} {'how':<15} {'down s':>6} {'reqs':>5}  {'during the outage (status×count)':<44} {'recovery s':>10} {'after':>5} {'5xx after':>9}  result"
        log(hdr)
        log("-" * len(hdr))
        for ph in phases:
            rec = "-" if ph["name"] == "baseline" else ("never" if ph["recovery"] is None else f"{ph['recovery']:.1f}")
            outage = "-" if ph["name"] == "baseline" else f"{ph['outage_n']}: {ph['outage_counts']}"
            if ph["name"] == "baseline":
                bad = sum(1 for r in load.records if ph["t_kill"] <= r.t1 < ph["t_end"] and not ok(r.status))
                res = "ok" if ph["pass"] else f"FAIL ({bad} failed)"
                down = "-"
            else:
                res = "ok" if ph["pass"] else "FAIL"
                down = f"{ph['down']:.1f}"
            log(f"{ph['name']:<12} {ph['how']:<15} {down:>6} {ph['requests']:>5}  {outage:<44} {rec:>10} "
                f"{ph['after_n']:>5} {ph['after_5xx']:>9}  {res}")
        log("")
        log("GET /health on the gateway, twice a second (verdict×count)")
        hdr3 = f"{'fault':<12} {'during the outage':<40} {'after':<30} {'not healthy after'}"
        log(hdr3)
        log("-" * 100)
        for ph in phases:
            during = "-" if ph["name"] == "baseline" else ph["health_outage"]
            sick = ", ".join(f"{k}×{v}" for k, v in sorted(ph["health_sick_after"].items())) or "-"
            log(f"{ph['name']:<12} {during:<40} {ph['health_after']:<30} {sick}")
        if args.verbose:
            for ph in phases[1:]:
                log(f"  {ph['name']} /health timeline (s from the kill; back at {ph['t_up'] - ph['t_kill']:.1f}): "
                    + ", ".join(f"{h[0] - ph['t_kill']:.1f}-{h[1] - ph['t_kill']:.1f} {h[2]} {h[3]}"
                                + (f" ({'/'.join(h[4])})" if h[4] else "")
                                for h in load.health if ph["t_kill"] <= h[1] < ph["t_end"]))
        log("")
        for ph in phases:
            if ph["failures_by_op"]:
                log(f"  {ph['name']}: failures by request: "
                    + ", ".join(f"{k}×{v}" for k, v in sorted(ph["failures_by_op"].items())))
            if ph["after_detail"]:
                log(f"  {ph['name']}: failures after recovery: "
                    + ", ".join(f"{k}×{v}" for k, v in sorted(ph["after_detail"].items())))
        fetch_bad = [f for f in load.fetches if not f[1]]
        log(f"  presigned downloads fetched from the S3 server: {len(load.fetches)}, "
            f"{len(fetch_bad)} failed" + (f" ({collections.Counter(f[2] for f in fetch_bad)})" if fetch_bad else ""))
        log(f"  ids the API answered with: " + ", ".join(f"{k} {v}" for k, v in load.id_shapes.items()))
        log("")
        log(f"Integrity (after docket-attachments sweep --older-than 1)")
        hdr2 = f"{'check':<62} {'expected':>8} {'found':>6}  result"
        log(hdr2)
        log("-" * len(hdr2))
        for name, n, found, passed, detail in results:
            log(f"{name:<62} {n:>8} {found:>6}  {'ok' if passed else 'FAIL  ' + detail}")
        for k, v in info.items():
            log(f"  info: {v} {k}")
        failed = failed or not all(ph["pass"] for ph in phases) or not all(r[3] for r in results)
        log("")
        log("drill: " + ("FAILED" if failed else "passed"))
    finally:
        stack.stop_all()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
