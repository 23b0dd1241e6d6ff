# Writes tests/data/har/edge.har: a Firefox-like recording with every edge init --har meets
# (python3 tests/data/har/edge.py > tests/data/har/edge.har). Every credential in it is made up.
import json, base64
def b64(s): return base64.b64encode(s.encode()).decode()
def b64u(d): return base64.urlsafe_b64encode(json.dumps(d,separators=(',',':')).encode()).decode().rstrip('=')
jwt = b64u({"alg":"HS256","typ":"JWT"})+"."+b64u({"sub":"user-7781","email":"carol@example.com"})+".c2lnbmF0dXJlLW9mLWNhcm9s"
id_jwt = b64u({"alg":"RS256"})+"."+b64u({"sub":"id-token-subject"})+".aWQtdG9rZW4tc2ln"
A = "https://shop.example.com"
carol = [("Authorization", "Bearer "+jwt)]
dave = [("Authorization", "Basic "+b64("dave:dave-pass-31"))]
key = [("X-API-Key", "edge-api-key-5521")]
sess = [("Cookie", "_ga=GA1.2.99.1; sessionid=sess-cookie-abc123; theme=dark")]
entries = []
def e(method, url, status, headers=(), post=None, mime="application/json", rtype=None):
    req = {"method": method, "url": url, "httpVersion": "HTTP/2", "cookies": [],
           "headers": [{"name": ":authority", "value": "shop.example.com"}] + [{"name": n, "value": v} for n, v in headers] + [{"name":"User-Agent","value":"Mozilla/5.0 Firefox/128.0"},{"name":"Accept","value":"application/json, text/plain, */*"}],
           "queryString": [], "headersSize": -1, "bodySize": -1}
    if post: req["postData"] = post
    entry = {"startedDateTime": "2024-05-01T12:00:%02d.000Z" % len(entries), "time": 10, "request": req,
             "response": {"status": status, "statusText": "", "httpVersion": "HTTP/2", "cookies": [], "headers": [],
                          "content": {"size": 10, "mimeType": mime, "text": "{}"}, "redirectURL": "", "headersSize": -1, "bodySize": -1},
             "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 1}}
    if rtype: entry["_resourceType"] = rtype
    entries.append(entry)
# the page and its assets
e("GET", A+"/", 200, mime="text/html")
e("GET", A+"/assets/app.3f2a.css", 200, mime="text/css")
e("GET", A+"/assets/app.js?v=3", 200, mime="application/javascript")
e("GET", A+"/fonts/inter.woff2", 200, mime="font/woff2")
e("GET", A+"/img/logo", 200, mime="image/svg+xml")
e("GET", A+"/media/intro.mp4", 206, mime="video/mp4")
e("GET", "data:image/png;base64,iVBORw0KGgo=", 200, mime="image/png")
e("GET", A+"/api/feed", 0, mime="")
e("OPTIONS", A+"/api/users/42", 204, headers=[("Access-Control-Request-Method","GET"),("Origin","https://www.example.com")], mime="")
e("GET", A+"/ws", 101, headers=[("Upgrade","websocket")], mime="")
# ids in paths, by several principals
e("GET", A+"/api/users/42", 200, carol + [("X-Tenant","acme"),("X-CSRF-Token","csrf-token-value-66")])
e("GET", A+"/api/users/42/orders/0b5e6a34-3c9f-4f0e-9a55-6f7b2a1e9c10", 200, carol)
e("GET", A+"/api/users/42", 403, dave)
e("GET", A+"/api/users/43", 200, dave)
e("GET", A+"/api/users/44", 200, key)
e("GET", A+"/api/users/44/orders/0b5e6a34-3c9f-4f0e-9a55-6f7b2a1e9c10", 404, key)
e("GET", A+"/api/users/42", 401)
e("GET", A+"/api/files/5f2b8c9d0e1f2a3b4c5d6e7f", 200, sess)
e("GET", A+"/api/files/5f2b8c9d0e1f2a3b4c5d6e7f", 304, carol)
e("GET", A+"/api/password-reset/9f8e7d6c5b4a39281706f5e4d3c2b1a0", 200)
# secrets in the query
e("GET", A+"/api/search?q=red%20shoes&page=2&token=a%2Fb%2Bc%3Dsecret-88", 200, carol)
e("GET", A+"/api/search?page=3&q=blue&token=other-token-99", 200, dave)
e("GET", A+"/api/export?format=csv&api_key=query-api-key-7731", 200)
e("GET", A+"/api/callback?code=oauth-code-4242&id_token="+id_jwt, 302)
# bodies
e("POST", A+"/api/login", 200, [("Content-Type","application/json")], {"mimeType":"application/json","text":json.dumps({"email":"erin@example.com","password":"body-password-42","remember":True})})
e("POST", A+"/api/apps", 201, carol + [("Content-Type","application/json; charset=utf-8")], {"mimeType":"application/json; charset=utf-8","text":json.dumps({"name":"probe ${x}","settings":{"client_secret":"body-client-secret-9","scopes":["read","write"],"retries":3}})})
e("POST", A+"/account/password", 303, sess + [("Content-Type","application/x-www-form-urlencoded")], {"mimeType":"application/x-www-form-urlencoded","text":"user=erin&password=form-password-77&confirm=form-password-77","params":[{"name":"user","value":"erin"},{"name":"password","value":"form-password-77"},{"name":"confirm","value":"form-password-77"}]})
e("PUT", A+"/api/notes/7", 204, dave + [("Content-Type","text/plain")], {"mimeType":"text/plain","text":"remember the milk"})
e("PATCH", A+"/api/notes/8", 204, dave + [("Content-Type","text/plain")], {"mimeType":"text/plain","text":"call with edge-api-key-5521"})
e("POST", A+"/api/upload", 201, carol, {"mimeType":"multipart/form-data; boundary=xyz","text":"--xyz\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nhi\r\n--xyz--"})
e("DELETE", A+"/api/users/42/sessions", 401, [("Authorization", 'Digest username="erin", realm="shop", nonce="n1", uri="/api/users/42/sessions", response="digest-response-123"')])
# other hosts
e("POST", "https://tracker.example.net/collect?tid=UA-1", 204, [], {"mimeType":"text/plain","text":"ev=pageview"})
e("POST", "https://tracker.example.net/collect?tid=UA-1", 204, [], {"mimeType":"text/plain","text":"ev=click"})
e("GET", "https://cdn.example.com/lib/vendor.js", 200, mime="text/javascript")
e("GET", "https://shop.example.com:8443/api/health", 200)
har = {"log": {"version": "1.2", "creator": {"name": "Firefox", "version": "128.0"}, "browser": {"name": "Firefox", "version": "128.0"}, "pages": [], "entries": entries}}
print(json.dumps(har, indent=2))
