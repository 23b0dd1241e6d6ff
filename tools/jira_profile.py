#!/usr/bin/env python3
"""Generates suites/mocks/jira-cloud.yaml (the mock's Jira Cloud profile) and
suites/jira-cloud.yaml (the forum case as a suite) from Jira's operations and
their Connect scopes (tools/jira_endpoint_scopes.tsv, derived from Jira's OpenAPI document).

The TSV gives each operation's Connect scope, whether anonymous access is
allowed and its documented status codes. Permissions and existence-hiding 404s
are not in the TSV: the rules below model them and the generated files mark
them "modeled". So are the profile's issues (ISSUES below): a project, a
security level and two seeded issues, kept by the mock's issue store and
served by the routes of STORE. Run from the repository root:

    python3 tools/jira_profile.py [tools/jira_endpoint_scopes.tsv]
"""
import collections
import sys

FORUM = [("GET", "configuration"), ("GET", "search"), ("GET", "permissions"), ("GET", "settings/columns")]
# The identity check every principal's canary uses, and objects Jira hides from who cannot browse them.
EXTRA = [("GET", "myself"), ("GET", "issue/{issueIdOrKey}"), ("GET", "project/{projectIdOrKey}")]
PER_SCOPE = {"ADMIN": 14, "READ": 16, "WRITE": 8, "DELETE": 6, "PROJECT_ADMIN": 6, "NONE": 4,
             "INACCESSIBLE": 6, "ACT_AS_USER": 4, "ACCESS_EMAIL_ADDRESSES": 2}
# Modeled: which global permission a scope's operations need, and who holds it.
PERMISSION = {"ADMIN": "ADMINISTER", "PROJECT_ADMIN": "ADMINISTER_PROJECTS", "DELETE": "DELETE_ISSUES",
              "WRITE": "EDIT_ISSUES", "READ": "BROWSE_PROJECTS"}
HOLDERS = {"ADMINISTER": ["site-admins"], "ADMINISTER_PROJECTS": ["site-admins"],
           "DELETE_ISSUES": ["site-admins"], "EDIT_ISSUES": ["jira-users"],
           # `anyone` is every caller, anonymous included: the projects are public (modeled).
           "BROWSE_PROJECTS": ["jira-users", "anyone"],
           # Only the store's create route needs it (STORE below).
           "CREATE_ISSUES": ["jira-users"]}
# Modeled: the issues the mock keeps (its `issues:` section). TEST-1 has no security level, so
# whoever may call the read route sees it (the suite's GET /rest/api/2/issue/TEST-1 is 200 for
# every principal); TEST-2 is at level Restricted, which only site-admins (and its reporter)
# see: anyone else, an app calling as itself or impersonating a regular user included, gets
# Jira's 404 "Issue does not exist or you do not have permission to see it." Ids start at 10000
# in seed order; created issues get the next id and TEST-3, TEST-4, ...
ISSUES = {"project": "TEST",
          "security_levels": {"Restricted": ["site-admins"]},
          "seed": [{"key": "TEST-1", "summary": "A public issue", "reporter": "user"},
                   {"key": "TEST-2", "summary": "Salary review", "reporter": "admin", "security": "Restricted"}]}
# Routes answered by the issue store, by (method, path): its action and the permission it needs.
# The read and search routes are the suite's own (EXTRA, FORUM): search lists the issues the
# caller may browse, by the read route's rule, so its status for each principal is unchanged;
# create, edit and delete are in the profile only, so the generated suite and its snapshot do
# not change: a suite that creates, edits, reads and deletes issues declares them itself. On
# edit and delete routes the permission is what editing or deleting an issue someone else
# reported needs: its reporter may without (404 first when the caller cannot see the issue,
# then 403 without the permission).
STORE = {("POST", "issue"): ("create", "CREATE_ISSUES"),
         ("GET", "issue/{issueIdOrKey}"): ("read", None),
         ("GET", "search"): ("search", None),
         ("PUT", "issue/{issueIdOrKey}"): ("edit", "EDIT_ISSUES"),
         ("DELETE", "issue/{issueIdOrKey}"): ("delete", "DELETE_ISSUES")}
CHAIN = ["NONE", "READ", "WRITE", "DELETE", "PROJECT_ADMIN", "ADMIN"]
SAMPLE = {"issueIdOrKey": "TEST-1", "projectIdOrKey": "TEST", "projectKeyOrId": "TEST", "key": "jira-software",
          "fieldId": "customfield_10000", "fieldKey": "customfield_10000", "accountId": "5b10a2844c20165700ede21g"}


def covers(held, needed):
    if needed == "INACCESSIBLE":
        return False
    if needed == "NONE":
        return True
    if held in CHAIN and needed in CHAIN:
        return CHAIN.index(held) >= CHAIN.index(needed)
    return held == needed


def granted(scopes, needed):
    return any(covers(s, needed) for s in scopes)


def read(tsv):
    ops = []
    for line in open(tsv, encoding="utf-8"):
        if line.startswith("#"):
            continue
        path, method, scope, _classic, _granular, anonymous, codes = line.rstrip("\n").split("\t")
        if not path.startswith("/rest/api/{2|3}/"):
            continue
        success = next((int(c) for c in codes.split(",") if c.startswith("2")), 200)
        ops.append(dict(path=path[len("/rest/api/{2|3}/"):], method=method, scope=scope,
                        anonymous=anonymous == "yes", success=success))
    return ops


def pick(ops):
    chosen = [o for m, p in FORUM + EXTRA for o in ops if o["method"] == m and o["path"] == p]
    by_scope = collections.defaultdict(list)
    for o in sorted(ops, key=lambda o: (o["method"] != "GET", o["path"], o["method"])):
        if o not in chosen:
            by_scope[o["scope"]].append(o)
    for scope, n in PER_SCOPE.items():
        # Prefer plain paths, one operation per path, so the matrix reads well.
        seen, taken = set(), []
        for o in by_scope[scope]:
            if o["path"] in seen or o["path"].count("{") > 1:
                continue
            seen.add(o["path"])
            taken.append(o)
            if len(taken) == n:
                break
        chosen += taken
    return chosen


def store_ops(ops, chosen):
    """The store's routes that are not among the suite's operations, from the TSV."""
    return [o for (m, p) in STORE for o in ops
            if o["method"] == m and o["path"] == p and o not in chosen]


def permission(o):
    if (o["method"], o["path"]) in STORE and STORE[o["method"], o["path"]][1]:
        return STORE[o["method"], o["path"]][1]
    # Jira documents both as needing the "Administer Jira" global permission, whatever their scope:
    # auditing/record is READ in Connect's terms, so a READ app impersonating a non-admin is refused.
    if o["path"] in ("settings/columns", "auditing/record"):
        return "ADMINISTER"
    return PERMISSION.get(o["scope"])


def hidden(o):
    return o["scope"] == "READ" and ("{issueIdOrKey}" in o["path"] or "{projectIdOrKey}" in o["path"])


def concrete(path):
    for name, value in SAMPLE.items():
        path = path.replace("{" + name + "}", value)
    while "{" in path:
        start = path.index("{")
        path = path[:start] + "10000" + path[path.index("}", start) + 1:]
    return path


def expected(o, principal):
    perm = permission(o)
    ok = o["success"]
    denied_user = 404 if hidden(o) else 403
    if principal == "anonymous":
        return ok if o["anonymous"] and (perm is None or "anyone" in HOLDERS[perm]) else 401
    if principal == "admin":
        return ok
    if principal == "user":
        return ok if perm is None or "jira-users" in HOLDERS[perm] else denied_user
    if principal == "app":
        return ok if granted(["READ", "ACT_AS_USER"], o["scope"]) else 403
    if principal == "admin-app":
        return ok if granted(["ADMIN"], o["scope"]) else 403
    if principal == "app-as-admin":
        return ok if granted(["READ", "ACT_AS_USER"], o["scope"]) else 401
    if principal == "app-as-user":
        if not granted(["READ", "ACT_AS_USER"], o["scope"]):
            return 401
        return expected(o, "user")
    raise ValueError(principal)


def versions(o):
    # Both API versions for the forum's operations, v2 for the rest.
    return ["2", "3"] if (o["method"], o["path"]) in FORUM else ["2"]


def write_issues(out):
    w = out.write
    w("\n# Modeled: the issues the mock keeps, for the routes with `issue:` (see ISSUES in the generator).\n")
    w("issues:\n")
    w(f"  project: {ISSUES['project']}\n")
    w("  security_levels:                  # groups whose members see an issue at the level (and its reporter)\n")
    for level, groups in ISSUES["security_levels"].items():
        w(f"    {level}: [{', '.join(groups)}]\n")
    w("  seed:                             # issues that exist when the mock starts; ids from 10000\n")
    for issue in ISSUES["seed"]:
        fields = [f"key: {issue['key']}", f"summary: \"{issue['summary']}\"", f"reporter: {issue['reporter']}"]
        if "security" in issue:
            fields.append(f"security: {issue['security']}")
        w(f"    - {{ {', '.join(fields)} }}\n")


def write_route(o, v, out):
    w = out.write
    w(f"  - route: {o['method']} /rest/api/{v}/{o['path']}\n")
    w(f"    scope: {o['scope']}\n")
    if o["anonymous"]:
        w("    anonymous: true\n")
    perm = permission(o)
    if perm:
        w(f"    permission: {perm}          # modeled\n")
    if hidden(o):
        w("    hidden: true                  # modeled: Jira hides what the user cannot browse\n")
    store = STORE.get((o["method"], o["path"]))
    if store:
        w(f"    issue: {store[0]}".ljust(34) + "# modeled: answered by the issue store\n")
        return
    body = {"configuration": "{ timeTrackingEnabled: true, attachmentsEnabled: true }",
            "permissions": "{ permissions: { ADMINISTER: { key: ADMINISTER, type: GLOBAL } } }",
            "settings/columns": "[{ label: Key, value: issuekey }]"}.get(o["path"])
    if o["success"] != {"POST": 201, "DELETE": 204}.get(o["method"], 200) or body:
        w(f"    response: {{ status: {o['success']}" + (f", json: {body}" if body else "") + " }\n")


def write_profile(chosen, store, out):
    w = out.write
    w("# Jira Cloud profile for permatrix's mock, generated by tools/jira_profile.py from\n")
    w("# jira_endpoint_scopes.tsv (Jira Cloud platform OpenAPI, 2022-07-17): each route's Connect\n")
    w("# scope and anonymous access come from it. Permissions, existence-hiding 404s and the\n")
    w("# users, apps and groups are modeled (see the comments); edit the generator, not this file.\n")
    w("mock: jira-cloud\n")
    w("description: Jira Cloud as a Connect app and its users see it (docs/atlassian-facts.md §1, §4, §5).\n")
    w("token_lifetime: 15m\n\n")
    w("# What a suite gets as variables when this mock serves its run. Never sent to a real site:\n")
    w("# against a real base URL these names must come from --var or the environment.\n")
    w("vars:\n")
    for k, v in [("JIRA_ADMIN_EMAIL", "admin@example.com"), ("JIRA_ADMIN_API_TOKEN", "mock-admin-api-token-1f2e"),
                 ("JIRA_USER_EMAIL", "user@example.com"), ("JIRA_USER_API_TOKEN", "mock-user-api-token-3d4c"),
                 ("ADMIN_ACCOUNT_ID", "5b10a2844c20165700ede21g"), ("USER_ACCOUNT_ID", "5b10a2844c20165700ede21h"),
                 ("APP_KEY", "risk-register"),
                 ("APP_SECRET", "mock-shared-secret-risk-register-5a6b"), ("APP_OAUTH_CLIENT_ID", "mock-oauth-client-risk-register"),
                 ("ADMIN_APP_KEY", "admin-console"), ("ADMIN_APP_SECRET", "mock-shared-secret-admin-console-7c8d"),
                 ("AUTH_SERVER", "")]:
        w(f"  {k}: \"{v}\"\n")
    w("\nusers:\n")
    w("  admin:   { email: admin@example.com, api_token: mock-admin-api-token-1f2e, account_id: 5b10a2844c20165700ede21g, groups: [site-admins, jira-users] }\n")
    w("  user:    { email: user@example.com,  api_token: mock-user-api-token-3d4c,  account_id: 5b10a2844c20165700ede21h, groups: [jira-users] }\n")
    w("\napps:\n")
    w("  risk-register: { shared_secret: mock-shared-secret-risk-register-5a6b, oauth_client_id: mock-oauth-client-risk-register, scopes: [READ, ACT_AS_USER] }\n")
    w("  admin-console: { shared_secret: mock-shared-secret-admin-console-7c8d, scopes: [ADMIN] }\n")
    w("\n# Atlassian Connect's scope hierarchy (developer.atlassian.com/cloud/jira/platform/scopes-for-connect-apps):\n")
    w("# each scope implies the next. NONE is every app's; INACCESSIBLE no app's.\n")
    w("scope_implies: { ADMIN: [PROJECT_ADMIN], PROJECT_ADMIN: [DELETE], DELETE: [WRITE], WRITE: [READ], READ: [NONE] }\n")
    w("\n# Modeled: global permissions and the groups holding them.\npermissions:\n")
    for perm, groups in HOLDERS.items():
        w(f"  {perm}: [{', '.join(groups)}]\n")
    write_issues(out)
    w("\nroutes:\n")
    for o in chosen:
        for v in versions(o):
            write_route(o, v, out)
    w("  # The issue store's create, edit and delete (not in the generated suite; see STORE in the generator).\n")
    for o in store:
        write_route(o, "2", out)


PRINCIPALS = ["anonymous", "admin", "user", "app", "app-as-admin", "app-as-user", "admin-app"]


def write_suite(chosen, out):
    w = out.write
    w("""# The forum case (README: \"The forum case, walked through\"): which Jira endpoints a Connect app reaches, by auth mode.
# Generated by tools/jira_profile.py with the mock profile; against the mock it needs
# no environment. Against a real site set JIRA_BASE_URL and the variables listed in
# the README: any that is missing is a load error naming it.
suite: jira-cloud
description: Which Jira REST endpoints a Connect app reaches, by auth mode (the forum case).

target:
  base_url: ${JIRA_BASE_URL:-}
  mock: mocks/jira-cloud.yaml
  timeout: 10s
  concurrency: 8

principals:
  anonymous:
    auth: none
  admin:
    description: site administrator, Basic with an API token
    auth:
      basic: { username: "${JIRA_ADMIN_EMAIL}", password: "${JIRA_ADMIN_API_TOKEN}" }
  user:
    description: a regular user, Basic with an API token
    probes: [wrong_password]      # README "Tamper probes": the password altered must be refused
    auth:
      basic: { username: "${JIRA_USER_EMAIL}", password: "${JIRA_USER_API_TOKEN}" }
  app:
    description: the Connect app, installed with READ and ACT_AS_USER, calling as itself
    scopes: [READ, ACT_AS_USER]
    probes: [bad_signature, expired, wrong_qsh]   # what a Connect JWT verifier must check
    auth:
      connect_jwt: { issuer: "${APP_KEY}", secret: "${APP_SECRET}" }
  app-as-admin:
    description: the same app impersonating the site admin (JWT-bearer grant)
    scopes: [READ, ACT_AS_USER]
    canary: GET /rest/api/2/myself
    auth:
      jwt_bearer_grant:
        token_url: "${AUTH_SERVER}/oauth2/token"
        client_id: "${APP_OAUTH_CLIENT_ID}"
        secret: "${APP_SECRET}"
        subject: "urn:atlassian:connect:useraccountid:${ADMIN_ACCOUNT_ID}"
        tenant: "${BASE_URL}"
        scope: READ ACT_AS_USER   # sent as written: Atlassian names its scopes in upper case
  app-as-user:
    description: the same app impersonating a regular user (JWT-bearer grant), the forum case
    scopes: [READ, ACT_AS_USER]
    canary: GET /rest/api/2/myself
    auth:
      jwt_bearer_grant:
        token_url: "${AUTH_SERVER}/oauth2/token"
        client_id: "${APP_OAUTH_CLIENT_ID}"
        secret: "${APP_SECRET}"
        subject: "urn:atlassian:connect:useraccountid:${USER_ACCOUNT_ID}"
        tenant: "${BASE_URL}"
        scope: READ ACT_AS_USER
  admin-app:
    description: a Connect app granted ADMIN
    scopes: [ADMIN]
    auth:
      connect_jwt: { issuer: "${ADMIN_APP_KEY}", secret: "${ADMIN_APP_SECRET}" }

# Atlassian Connect's scope hierarchy (developer.atlassian.com/cloud/jira/platform/scopes-for-connect-apps):
# each scope implies the next; NONE (app-defined data) is implied by every scope of the chain.
# ACT_AS_USER and ACCESS_EMAIL_ADDRESSES imply nothing; INACCESSIBLE is what no Connect app holds.
scope_implies: { ADMIN: [PROJECT_ADMIN], PROJECT_ADMIN: [DELETE], DELETE: [WRITE], WRITE: [READ], READ: [NONE] }
scopes_known: [ADMIN, PROJECT_ADMIN, DELETE, WRITE, READ, NONE, ACT_AS_USER, ACCESS_EMAIL_ADDRESSES, INACCESSIBLE]

defaults:
  headers: { Accept: application/json }

# Each endpoint's `scopes:` is its x-atlassian-connect-scope in Jira's OpenAPI document.
endpoints:
""")
    for o in chosen:
        for v in versions(o):
            path = concrete(o["path"])
            if o["path"] == "search":
                path += "?jql=project%3DTEST&maxResults=10"
            statuses = {p: expected(o, p) for p in PRINCIPALS}
            common = collections.Counter(statuses.values()).most_common(1)[0][0]
            parts = ['"*": %d' % common] + [f"{p}: {s}" for p, s in statuses.items() if s != common]
            w(f"  - request: {o['method']} /rest/api/{v}/{path}\n")
            if o["method"] in ("POST", "PUT"):
                w("    json: {}\n")
            w(f"    scopes: [{o['scope']}]\n")
            w(f"    expect: {{ {', '.join(parts)} }}\n")


def main():
    ops = read(sys.argv[1] if len(sys.argv) > 1 else "tools/jira_endpoint_scopes.tsv")
    chosen = pick(ops)
    store = store_ops(ops, chosen)
    with open("suites/mocks/jira-cloud.yaml", "w", encoding="utf-8") as out:
        write_profile(chosen, store, out)
    with open("suites/jira-cloud.yaml", "w", encoding="utf-8") as out:
        write_suite(chosen, out)
    routes = sum(len(versions(o)) for o in chosen) + len(store)
    print(f"{len(chosen) + len(store)} operations, {routes} routes", file=sys.stderr)


if __name__ == "__main__":
    main()
