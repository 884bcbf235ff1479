# api_bad_input.sh - bad input of every kind answers a clear 4xx with the
# error shape and leaves the database unchanged: malformed JSON, unknown
# fields, wrong types, missing fields, huge bodies (Content-Length and
# chunked), invalid schedules (422 with the position), SQL metacharacters,
# NUL escapes, very long strings and bytes that are not UTF-8 in every
# string field of every body and in every query parameter, bad headers,
# path traversal and odd ids.  Free-text fields (descriptions, names of
# tokens, commands...) must take the metacharacters and store them byte
# for byte instead.  The server stays up throughout.
#
# The driver (python3, standard library) reads the request bodies and query
# parameters from docs/openapi.json, so a field or a route added there is
# covered; the document itself is checked against src/api_routes.c by
# api_permissions.sh.  After every request it compares a digest of the data
# (every table but instances, without the timestamps the API refreshes)
# with the fixtures' digest.
. "$TC_SRCDIR/tests/lib.sh"
. "$TC_SRCDIR/tests/api_lib.sh"
api_need_tools

"$TABLECRON" migrate >/dev/null 2>&1 || api_bail "migrate failed"
api_fixtures
api_start bad

cat >"$TC_TMP/driver.py" <<'PYTHON'
import hashlib, http.client, json, os, subprocess, sys, urllib.parse

url, doc_path, fixtures = sys.argv[1:4]
host, port = url.split("//")[1].split(":")
port = int(port)
doc = json.load(open(doc_path))
MAX_BODY = 1048576

def result(ok, desc, *details):
    print("\t".join([("PASS" if ok else "FAIL"), desc] + [str(d) for d in details]), flush=True)

# --- the database: one psql session ------------------------------------------
MARK = "--driver-done--"
psql = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=0"],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True, encoding="utf-8", errors="replace")

def sql(text):
    psql.stdin.write(text + "\n;\n\\echo " + MARK + "\n")
    psql.stdin.flush()
    out = []
    for line in psql.stdout:
        line = line.rstrip("\n")
        if line == MARK:
            break
        out.append(line)
    return "\n".join(out)

# Everything the API could change, without what it refreshes by itself
# (created_at of re-inserted fixtures, last use of tokens and sessions).
SNAPSHOT = """SELECT md5(string_agg(r, E'\\n' ORDER BY r)) FROM (
  SELECT 'departments ' || (to_jsonb(t) - 'created_at')::text FROM departments t
  UNION ALL SELECT 'users ' || (to_jsonb(t) - 'created_at' - 'updated_at')::text FROM users t
  UNION ALL SELECT 'memberships ' || (to_jsonb(t) - 'created_at')::text FROM memberships t
  UNION ALL SELECT 'api_tokens ' || (to_jsonb(t) - 'created_at' - 'last_used_at')::text FROM api_tokens t
  UNION ALL SELECT 'sessions ' || (to_jsonb(t) - 'created_at' - 'last_seen_at' - 'expires_at')::text FROM sessions t
  UNION ALL SELECT 'jobs ' || (to_jsonb(t) - 'created_at' - 'updated_at')::text FROM jobs t
  UNION ALL SELECT 'executions ' || to_jsonb(t)::text FROM executions t
  UNION ALL SELECT 'audit_log ' || (to_jsonb(t) - 'at')::text FROM audit_log t) s(r)"""

def reset():
    out = sql("\\i " + fixtures)
    if "ERROR" in out:
        print("Bail out! cannot reset the fixtures: " + out, flush=True)
        sys.exit(1)

reset()
BASELINE = sql(SNAPSHOT)

def unchanged():
    return sql(SNAPSHOT) == BASELINE

# --- HTTP -------------------------------------------------------------------
def request(method, path, body=None, headers=None, token="tok-admin", chunked=False):
    """(status, body bytes); status 0 when the server did not answer."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        if token is not None:
            conn.putheader("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            if isinstance(body, str):
                body = body.encode("utf-8")
            conn.putheader("Content-Type", "application/json")
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            else:
                conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body is not None:
            try:
                if chunked:
                    for i in range(0, len(body), 65536):
                        piece = body[i:i + 65536]
                        conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                    conn.send(b"0\r\n\r\n")
                else:
                    conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # a server refusing a body early may close before reading it
        r = conn.getresponse()
        return r.status, r.read()
    except Exception as e:
        return 0, repr(e).encode()
    finally:
        conn.close()

def error_of(raw):
    """The error object of an answer, or None when it lacks the shape."""
    try:
        d = json.loads(raw)
        e = d["error"]
        if list(d) != ["error"] or not isinstance(e, dict):
            return None
        if not (isinstance(e.get("code"), str) and e["code"] and
                isinstance(e.get("message"), str) and e["message"]):
            return None
        if "field" in e and not isinstance(e["field"], str):
            return None
        return e
    except Exception:
        return None

def show(raw):
    return raw[:200].decode("utf-8", "replace")

def expect_4xx(desc, method, path, body=None, status=None, code=None, field=None, **kw):
    """A 4xx (exactly `status` if given) with the error shape (and code and
    field if given), and the database unchanged."""
    got, raw = request(method, path, body, **kw)
    e = error_of(raw)
    problems = []
    if not (400 <= got < 500) or (status is not None and got != status):
        problems.append("status %s, expected %s" % (got, status or "4xx"))
    if e is None:
        problems.append("not the error shape")
    else:
        if code is not None and e.get("code") != code:
            problems.append("code %r, expected %r" % (e.get("code"), code))
        if field is not None and e.get("field") != field:
            problems.append("field %r, expected %r" % (e.get("field"), field))
    if not unchanged():
        problems.append("the database changed")
        reset()
    result(not problems, desc, "; ".join(problems), show(raw))
    return got, e

# --- what the document says ----------------------------------------------------
def resolve(x):
    while isinstance(x, dict) and "$ref" in x:
        node = doc
        for part in x["$ref"].lstrip("#/").split("/"):
            node = node[part]
        x = node
    return x

def operations():
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                yield method.upper(), path, op

# A request that succeeds for every operation with a body, on the fixtures
# (api_lib.sh): the path, the body, and headers.  An operation with a body
# missing here fails the test, so that new routes get covered.
BASE = {
    "login": ("/api/v1/login", {"login": "a_operator", "password": "operator password"}, {}),
    "createJob": ("/api/v1/jobs", {"name": "bi-new", "department": "A", "schedule": "0 5 * * *",
                                   "kind": "shell", "config": {"command": "true"}}, {}),
    "updateJob": ("/api/v1/jobs/51", {"version": 1, "description": "changed"}, {}),
    "createDepartment": ("/api/v1/departments", {"name": "bi-dept", "description": "d"}, {}),
    "putMember": ("/api/v1/departments/11/members/c_user", {"role": "viewer"}, {}),
    "createUser": ("/api/v1/users", {"login": "bi-user", "password": "bi password",
                                     "display_name": "B I"}, {}),
    "createToken": ("/api/v1/tokens", {"name": "bi token"}, {}),
    "reportExecution": ("/api/v1/executions/63/progress", {"progress": 10, "message": "m"},
                        {"X-Tablecron-Token": "callback-secret"}),
    "createAlertChannel": ("/api/v1/alert-channels", {"name": "bi-chan", "department": "A",
                                                      "kind": "webhook", "url": "http://127.0.0.1:9/x",
                                                      "template": "json"}, {}),
    "updateAlertChannel": ("/api/v1/alert-channels/91", {"name": "bi-renamed"}, {}),
    "createAlertRule": ("/api/v1/alert-rules", {"department": "A", "channel": 91,
                                                "events": ["failed"]}, {}),
    "updateAlertRule": ("/api/v1/alert-rules/93", {"enabled": False}, {}),
    "addJobDependency": ("/api/v1/jobs/51/dependencies", {"upstream": "job-b", "condition": "always"}, {}),
    "replaceJobDependencies": ("/api/v1/jobs/51/dependencies",
                               {"upstreams": [{"job": 52, "condition": "failure"}]}, {}),
}
body_ops = [(m, p, op) for m, p, op in operations() if "requestBody" in op]
missing = [op["operationId"] for m, p, op in body_ops if op["operationId"] not in BASE]
result(not missing, "every operation with a body in docs/openapi.json has a base request here",
       "missing: " + ", ".join(missing))
cases = [(op["operationId"], m) + BASE[op["operationId"]] for m, p, op in body_ops
         if op["operationId"] in BASE]

def props_of(op):
    sch = resolve(op["requestBody"]["content"]["application/json"]["schema"])
    return sch.get("properties", {}), sch.get("required", [])

def op_by_id(op_id):
    return next(op for m, p, op in operations() if op.get("operationId") == op_id)

# Sanity: each base request succeeds (then the fixtures are put back).
for op_id, method, path, body, headers in cases:
    got, raw = request(method, path, json.dumps(body), headers=headers)
    result(200 <= got < 300, "%s %s with its base body succeeds" % (method, path), got, show(raw))
    reset()

# --- malformed JSON -------------------------------------------------------------
MALFORMED = [
    ("an unterminated object", b'{"name": "x"'),
    ("a cut-off member", b'{"name":'),
    ("a trailing comma", b'{"name": "x",}'),
    ("single quotes", b"{'name': 'x'}"),
    ("garbage after the object", b'{"name": "x"} {"more": 1}'),
    ("a duplicate member", b'{"name": "a", "name": "b"}'),
    ("an array", b'[{"name": "x"}]'),
    ("a string", b'"name"'),
    ("a number", b'42'),
    ("null", b'null'),
    ("an empty body", b''),
    ("only spaces", b'   '),
    ("a byte-order mark", b'\xef\xbb\xbf{}'),
    ("a NUL byte", b'{"name": "x"}\x00'),
    ("bytes that are not UTF-8", b'{"name": "\xff\xfe"}'),
    ("a lone surrogate escape", b'{"name": "\\ud800"}'),
    ("a NUL escape", b'{"name": "a\\u0000b"}'),
    ("an integer too big for 64 bits", b'{"name": 99999999999999999999999}'),
    ("a number too big for a double", b'{"name": 1e999}'),
    ("deep nesting", b'[' * 100000 + b']' * 100000),
]
for op_id, method, path, body, headers in cases:
    for what, raw in MALFORMED:
        expect_4xx("%s %s with %s: 400" % (method, path, what), method, path, raw, status=400,
                   headers=headers)
# Actions need no body, but one that is sent must be a JSON object without fields.
for action in ("run", "pause", "resume", "kill"):
    p = "/api/v1/jobs/51/" + action
    expect_4xx("POST %s with a malformed body: 400" % p, "POST", p, b'{"x"', status=400)
    expect_4xx("POST %s with a field: 400 naming it" % p, "POST", p, b'{"now": true}',
               status=400, code="unknown_field", field="now")

# --- unknown fields, wrong types, missing fields --------------------------------
WRONG = {"string": [123, True, [], {}], "integer": ["12", 1.5, True, [], {}],
         "boolean": ["true", 1, [], {}], "object": ["x", 1, []], "array": ["x", {}]}
for op_id, method, path, body, headers in cases:
    props, required = props_of(op_by_id(op_id))
    b = dict(body, bogus_field=1)
    expect_4xx("%s %s with an unknown field: 400 naming it" % (method, path), method, path,
               json.dumps(b), status=400, code="unknown_field", field="bogus_field",
               headers=headers)
    b = dict(body)
    b["Name" if "name" in body else "Role"] = "x"
    expect_4xx("%s %s: field names are case-sensitive" % (method, path), method, path,
               json.dumps(b), status=400, code="unknown_field", headers=headers)
    for name, sch in props.items():
        sch = resolve(sch)
        kinds = [resolve(x).get("type") for x in sch["oneOf"]] if "oneOf" in sch else [sch.get("type")]
        wrongs = [v for k in kinds for v in WRONG.get(k, [])]
        wrongs = [v for v in wrongs if not any(
            (k == "string" and isinstance(v, str)) or
            (k == "integer" and isinstance(v, int) and not isinstance(v, bool)) for k in kinds)]
        if not sch.get("nullable"):
            wrongs.append(None)
        for v in wrongs:
            b = dict(body)
            b[name] = v
            expect_4xx("%s %s with %s = %s: 400 naming it" % (method, path, name, json.dumps(v)),
                       method, path, json.dumps(b), status=400, field=name, headers=headers)
    for name in required:
        b = {k: v for k, v in body.items() if k != name}
        expect_4xx("%s %s without %s: 400 naming it" % (method, path, name), method, path,
                   json.dumps(b), status=400, code="missing_field", field=name, headers=headers)

# --- strings: SQL metacharacters and friends in every string field ----------------
# Free text must be stored byte for byte; any other string field must refuse
# them with a 4xx.  read_back: SQL giving md5 of what was stored.
FREE = {
    ("createJob", "description"): "SELECT md5(description) FROM jobs WHERE name = 'bi-new'",
    ("createJob", "config.command"): "SELECT md5(config->>'command') FROM jobs WHERE name = 'bi-new'",
    ("updateJob", "description"): "SELECT md5(description) FROM jobs WHERE id = 51",
    ("updateJob", "config.command"): "SELECT md5(config->>'command') FROM jobs WHERE id = 51",
    ("createJob", "config.body"): "SELECT md5(config->>'body') FROM jobs WHERE name = 'bi-new'",
    ("createDepartment", "description"): "SELECT md5(description) FROM departments WHERE name = 'bi-dept'",
    ("createUser", "display_name"): "SELECT md5(display_name) FROM users WHERE login = 'bi-user'",
    ("createUser", "password"): None,  # checked by logging in with it
    ("createToken", "name"): "SELECT md5(name) FROM api_tokens WHERE id = (SELECT max(id) FROM api_tokens)",
    ("reportExecution", "message"): "SELECT md5(message) FROM executions WHERE id = 63",
    ("reportExecution", "output"): "SELECT md5(output) FROM executions WHERE id = 63",
    ("reportExecution", "error"): "SELECT md5(error) FROM executions WHERE id = 63",
}
# Free text kept bounded, as a task's output is: longer values keep their
# last BOUNDED bytes after a "[... N bytes dropped ...]" line.
BOUNDED = {("reportExecution", "output"): 65536}
# Bodies that reach a field at all (output and error need a status; the
# password of a login is checked for a login that does not exist, so that
# failed logins are not counted).
FIELD_BASE = {
    ("reportExecution", "output"): {"status": "failed", "output": "o", "error": "e"},
    ("reportExecution", "error"): {"status": "failed", "output": "o", "error": "e"},
    ("reportExecution", "status"): {"status": "failed"},
    ("login", "password"): {"login": "nobody", "password": "x"},
    ("createJob", "config.url"): dict(BASE["createJob"][1], kind="http",
                                      config={"url": "http://127.0.0.1:9/x"}),
    ("createJob", "config.body"): dict(BASE["createJob"][1], kind="http",
                                       config={"url": "http://127.0.0.1:9/x", "method": "POST"}),
}
PAYLOADS = [
    ("quotes", "O'Reilly \"quoted\" `back`"),
    ("an SQL injection", "'; DROP TABLE jobs; --"),
    ("an always-true clause", "x' OR '1'='1"),
    ("backslashes", "C:\\temp\\new \\' \\\" \\\\x00 \\0"),
    ("format directives", "%s%s%n%x %d %%"),
    ("dollar quotes", "$1 $$ $tag$ E'\\x41'"),
    ("comments and semicolons", "/* c */ -- ; ;;"),
    ("control characters", "tab\there\nnew line\r\x01\x1f\x7f"),
    ("non-ASCII text", "naïve – 日本語 🚀 \u202ertl"),
    ("JSON in a string", "{\"a\": [1, 2]}"),
    ("very long text (100,000 characters)", "a" * 100000),
]
def nested_set(body, name, value):
    b = json.loads(json.dumps(body))
    if "." in name:
        outer, inner = name.split(".", 1)
        b.setdefault(outer, {})[inner] = value
    else:
        b[name] = value
    return b

for op_id, method, path, body, headers in cases:
    props, _ = props_of(op_by_id(op_id))
    fields = [n for n, sch in props.items()
              if resolve(sch).get("type") == "string" or
              any(resolve(x).get("type") == "string" for x in resolve(sch).get("oneOf", []))]
    if op_id in ("createJob", "updateJob"):
        fields.append("config.command")
    if op_id == "createJob":
        fields += ["config.url", "config.body"]
    for name in fields:
        base = FIELD_BASE.get((op_id, name), body)
        free = (op_id, name) in FREE
        for what, value in PAYLOADS:
            b = nested_set(base, name, value)
            desc = "%s %s with %s in %s" % (method, path, what, name)
            if not free:
                expect_4xx(desc + ": 4xx", method, path, json.dumps(b), headers=headers)
                continue
            got, raw = request(method, path, json.dumps(b), headers=headers)
            read_back = FREE[(op_id, name)]
            if 200 <= got < 300:
                if read_back is None:  # the password: log in with it
                    g2, raw2 = request("POST", "/api/v1/login",
                                       json.dumps({"login": "bi-user", "password": value}), token=None)
                    ok, detail = g2 == 200, "login with it: %s %s" % (g2, show(raw2))
                elif len(value.encode()) > BOUNDED.get((op_id, name), len(value.encode())):
                    keep = BOUNDED[(op_id, name)]
                    dropped = len(value.encode()) - keep
                    stored = sql(read_back)
                    expected = "[... %d bytes dropped ...]\n" % dropped + value.encode()[-keep:].decode()
                    ok = stored == hashlib.md5(expected.encode()).hexdigest()
                    detail = "stored md5 %s (bounded to its last %d bytes)" % (stored, keep)
                else:
                    stored = sql(read_back)
                    ok = stored == hashlib.md5(value.encode()).hexdigest()
                    detail = "stored md5 %s" % stored
                reset()
                ok = ok and unchanged()
                result(ok, desc + (": stored bounded" if (op_id, name) in BOUNDED and
                                   len(value) > BOUNDED[(op_id, name)] else ": stored as sent"),
                       detail, show(raw))
            elif (what.startswith("control") or len(value) > 1000) and 400 <= got < 500 and \
                    (error_of(raw) or {}).get("field") == name.split(".")[0]:
                # A limit of the field (no control characters, a length): refused, naming it.
                result(unchanged(), desc + ": refused naming the field, database unchanged", show(raw))
            else:
                result(False, desc + ": stored as sent", "status %s" % got, show(raw))
                reset()
        # Not JSON strings at all: refused by the parser, for every field.
        for what, frag in (("a NUL escape", b'"a\\u0000b"'), ("bytes that are not UTF-8", b'"a\xff\xfeb"'),
                           ("an overlong UTF-8 encoding", b'"\xc0\xaf"'), ("a lone surrogate", b'"\\udc00"')):
            marker = "@@VALUE@@"
            raw = json.dumps(nested_set(base, name, marker)).encode().replace(
                json.dumps(marker).encode(), frag)
            expect_4xx("%s %s with %s in %s: 400" % (method, path, what, name), method, path,
                       raw, status=400, headers=headers)

# --- huge bodies ------------------------------------------------------------------
big = b'{"name": "' + b"a" * (2 * MAX_BODY) + b'"}'
for chunked in (False, True):
    how = "chunked" if chunked else "with Content-Length"
    expect_4xx("a 2 MiB body %s: 413" % how, "POST", "/api/v1/jobs", big, status=413,
               code="body_too_large", chunked=chunked)
    expect_4xx("a 2 MiB body %s to a route without a body: 413" % how, "POST",
               "/api/v1/jobs/51/run", big, status=413, chunked=chunked)
just = b'{"description": "' + b"a" * (MAX_BODY - 40) + b'"}'
expect_4xx("a body just under the limit is read (400 for its content, not 413)", "POST",
           "/api/v1/jobs", just, status=400, code="missing_field")

# --- invalid schedules: 422 with the position --------------------------------------
SCHEDULES = [("61 * * * *", 0), ("* 99 * * *", 2), ("* * * * * * * *", 14), ("*/0 * * * *", None),
             ("@every 0s", 7), ("@at not-a-time", None), ("@bogus", None), ("0 3 * * mon-", None),
             ("'; DROP TABLE jobs; --", None), ("1,2,,3 * * * *", None)]
for sched, pos in SCHEDULES:
    b = dict(BASE["createJob"][1], schedule=sched)
    got, e = expect_4xx("POST /api/v1/jobs with schedule %r: 422 naming it" % sched, "POST",
                        "/api/v1/jobs", json.dumps(b), status=422, code="bad_schedule",
                        field="schedule")
    if e is not None and pos is not None:
        result(e.get("position") == pos, "and gives its position %d" % pos, e)
    elif e is not None:
        result(isinstance(e.get("position"), int), "and gives a position", e)
    expect_4xx("PATCH /api/v1/jobs/51 with schedule %r: 422" % sched, "PATCH", "/api/v1/jobs/51",
               json.dumps({"version": 1, "schedule": sched}), status=422, code="bad_schedule",
               field="schedule")
    q = "/api/v1/cron/next?expr=" + "".join("%%%02X" % c for c in sched.encode())
    expect_4xx("GET /cron/next with %r: 422" % sched, "GET", q, status=422, code="bad_schedule",
               field="expr")
for tz in ("Mars/Olympus", "../../etc/passwd", "UTC'; --", ""):
    if tz:
        b = dict(BASE["createJob"][1], timezone=tz)
        expect_4xx("POST /api/v1/jobs with timezone %r: 4xx naming it" % tz, "POST",
                   "/api/v1/jobs", json.dumps(b), field="timezone")

# --- query parameters ----------------------------------------------------------------
# (what, the value as it goes in the URL)
Q = lambda text: urllib.parse.quote(text, safe="")
QUERY_PAYLOADS = [
    ("a quote", Q("'")), ("an SQL injection", Q("'; DROP TABLE jobs; --")),
    ("backslashes", Q("\\x")), ("a NUL byte", "%00"), ("a NUL in the middle", "1%002"),
    ("bytes that are not UTF-8", "%FF%FE"), ("a lone continuation byte", "%80"),
    ("a very long value", "9" * 5000), ("a negative number", "-1"), ("zero", "0"),
    ("a number beyond 64 bits", "99999999999999999999"), ("an exponent", "1e3"),
    ("hexadecimal", "0x10"), ("a trailing space", "1%20"), ("a percent sign", "%25"),
    ("a path", Q("../../etc/passwd")),
]
# Filters that are free text answer 200 (nothing matches) or a 4xx; every
# other parameter must refuse what it cannot take with 400 naming it.
FREE_QUERY = {("listJobs", "q"), ("listAudit", "action"), ("listTokens", "user")}
def plain(value):
    return "%" not in value.replace("%25", "") and "\\" not in value
for method, path, op in operations():
    if method not in ("GET", "DELETE"):
        continue
    real = path.replace("{id}", "51")
    for prm in [resolve(p) for p in op.get("parameters", [])]:
        if prm.get("in") != "query":
            continue
        name = prm["name"]
        sch = resolve(prm["schema"])
        base = "expr=%40hourly&" if op["operationId"] == "cronNext" and name != "expr" else ""
        for what, value in QUERY_PAYLOADS:
            target = "%s?%s%s=%s" % (real, base, name, value)
            desc = "%s %s with %s in ?%s" % (method, real, what, name)
            is_number = sch.get("type") == "integer"
            if (op["operationId"], name) in FREE_QUERY:
                got, raw = request(method, target)
                ok = (got == 200 or (400 <= got < 500 and error_of(raw) is not None)) and unchanged()
                result(ok, desc + ": 200 or a 4xx", got, show(raw))
                continue
            if is_number and value in ("-1", "0") and "minimum" not in sch:
                continue
            if method == "DELETE":
                continue  # ?force on a real job: covered below
            if (op["operationId"], name) == ("cronNext", "expr"):
                expect_4xx(desc + ": 4xx naming it", method, target, field=name)
                continue
            expect_4xx(desc + ": 400 naming it", method, target, status=400, field=name)
expect_4xx("DELETE /api/v1/jobs/51?force=maybe: 400 naming it", "DELETE", "/api/v1/jobs/51?force=maybe",
           status=400, field="force")
expect_4xx("GET /api/v1/jobs?cursor=<a cursor of another list>: 400", "GET",
           "/api/v1/jobs?cursor=ZXhlY3V0aW9ucwoyMDI2LTExLTIxVDAyOjU0OjE1LjA4MTk3NloKNjI",
           status=400, field="cursor")

# --- headers -------------------------------------------------------------------------
for what, value in (("bytes that are not UTF-8", b"tok-admin\xff\xfe"), ("a quote", b"tok'--"),
                    ("a very long token", b"x" * 8000)):
    expect_4xx("a bearer token with %s: 401" % what, "GET", "/api/v1/me", token=None,
               headers={"Authorization": b"Bearer " + value}, status=401)
    expect_4xx("a session cookie with %s: 401" % what, "GET", "/api/v1/me", token=None,
               headers={"Cookie": b"tablecron_session=" + value}, status=401)
expect_4xx("a CSRF header that is not UTF-8: 403", "POST", "/api/v1/jobs/51/pause", token=None,
           headers={"Cookie": "tablecron_session=cookie-operator", "X-CSRF-Token": b"\xff\xfe"},
           status=403)
expect_4xx("a callback secret that is not UTF-8: 404", "POST", "/api/v1/executions/63/progress",
           json.dumps({"progress": 1}), token=None, headers={"X-Tablecron-Token": b"\xff\xfe"},
           status=404)
got, raw = request("POST", "/api/v1/login", json.dumps({"login": "nobody", "password": "x"}),
                   token=None, headers={"User-Agent": b"\xff\xfe agent"})
result(got == 401 and unchanged(), "a login with a User-Agent that is not UTF-8 answers as any other", got, show(raw))
got, raw = request("POST", "/api/v1/login", json.dumps(BASE["login"][1]), token=None,
                   headers={"User-Agent": b"\xff\xfe agent"})
result(got == 200, "and a good password still signs in", got, show(raw))
reset()
got, raw = request("GET", "/api/v1/me", headers={"X-Huge": "x" * 200000})
result(400 <= got < 500 or got == 0, "a 200 KB header is refused", got, show(raw))

# --- odd paths and ids ------------------------------------------------------------------
ODD = [
    "/api/v1/../../etc/passwd", "/api/v1/%2e%2e/%2e%2e/etc/passwd", "/api/v1/jobs/..%2F..%2Fetc%2Fpasswd",
    "/api/v1/jobs/%2e%2e", "/../api/v1/jobs", "//api/v1/jobs", "/api/v1//jobs", "/api/v1/jobs/",
    "/api/v1/jobs/51/", "/api/v1/jobs//51", "/API/V1/JOBS", "/api/v1/jobs/51%2F",
    "/api/v1/jobs/51%00", "/api/v1/jobs/51%00/../52", "/api/v1/me%00", "/api/v1/jobs/51%20",
    "/api/v1/jobs/0", "/api/v1/jobs/-1", "/api/v1/jobs/99999999999999999999", "/api/v1/jobs/1e3",
    "/api/v1/jobs/0x10", "/api/v1/jobs/51abc", "/api/v1/jobs/51.0", "/api/v1/jobs/+51",
    "/api/v1/jobs/%35%31x", "/api/v1/jobs/51;DROP%20TABLE%20jobs", "/api/v1/jobs/51'",
    "/api/v1/executions/61%FF", "/api/v1/departments/11/members/%FF%FE",
    "/api/v1/departments/11/members/a%2Fb", "/api/v1/departments/11/members/..",
    "/api/v1/departments/11/members/%27%3B%20DROP%20TABLE%20users%3B%20--",
    "/api/v1/departments/11/members/c_user%27%20OR%20%271%27%3D%271",
    "/api/v1/departments/11/members/" + "a" * 200, "/api/v1/" + "x" * 20000,
    "/api/v1/departments/0/members/c_user", "/api/v1/tokens/-5", "/healthz/../api/v1/jobs",
    "/api/v1/jobs/51/run/../../52",
]
for p in ODD:
    for method in ("GET", "POST", "PUT", "DELETE"):
        expect_4xx("%s %s: 4xx" % (method, p[:80]), method, p,
                   None if method in ("GET", "DELETE") else b'{"role": "viewer"}')
expect_4xx("an unknown method: 405", "BREW", "/api/v1/jobs", status=405)
expect_4xx("PUT on a collection: 405", "PUT", "/api/v1/jobs", b"{}", status=405)

# The server is still there.
got, raw = request("GET", "/healthz", token=None)
result(got == 200, "the server still answers /healthz", got)
result(unchanged(), "and the database holds the fixtures, unchanged")
PYTHON

# The driver's results as TAP lines.
while IFS=$'\t' read -r verdict desc details; do
    case $verdict in
    PASS) pass "$desc" ;;
    FAIL) fail "$desc" "${details:0:600}" ;;
    'Bail out!'*) echo "$verdict"; exit 1 ;;
    *) fail "driver: $verdict $desc" ;;
    esac
done < <(apy "$TC_TMP/driver.py" "$API_URL" "$TC_SRCDIR/docs/openapi.json" "$TC_TMP/fixtures.sql" 2>&1)
[ "$tap_n" -gt 100 ] && pass "the driver ran to the end ($tap_n checks)" || fail "the driver stopped early"

api_healthy "the server is up and logged no 5xx answer"
plan "$tap_n"
done_testing
