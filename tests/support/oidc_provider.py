"""An OpenID Connect provider on loopback for the single sign-on tests.

It speaks the real protocol over HTTP: discovery, JWKS, an authorization endpoint (which
signs in the user set through the control endpoint at once, with no form), a token endpoint
that checks the code (once), the client's credentials and the PKCE verifier, RS256 ID
tokens, and an end-session endpoint. `POST /_control` with JSON sets who signs in
(`claims`) and how the next ID tokens go wrong (`mode`): "ok", "wrong_audience", "expired",
"unknown_key", "wrong_issuer"; `{"rotate": true}` replaces the signing key (the JWKS then
lists only the new one). Binds port 0 and prints `listening on PORT`.

Needs Python's `cryptography` package.
"""
import base64
import hashlib
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key(kid):
    return {"kid": kid, "key": rsa.generate_private_key(public_exponent=65537, key_size=2048)}


def jwk(k):
    n = k["key"].public_key().public_numbers()
    as_bytes = lambda i: i.to_bytes((i.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k["kid"],
            "n": b64(as_bytes(n.n)), "e": b64(as_bytes(n.e))}


def sign(k, claims):
    header = {"alg": "RS256", "typ": "JWT", "kid": k["kid"]}
    signing_input = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())).encode()
    signature = k["key"].sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode() + "." + b64(signature)


STATE = {
    "key": new_key("k1"),
    "generation": 1,
    "mode": "ok",
    "claims": {"sub": "user-1", "preferred_username": "ann", "name": "Ann Lee", "email": "ann@example.test"},
    "codes": {},
    "logouts": 0,
}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    @property
    def issuer(self):
        return f"http://127.0.0.1:{self.server.server_port}"

    def reply(self, status, body=None, headers=()):
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body is not None and not isinstance(body, bytes):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/.well-known/openid-configuration":
            i = self.issuer
            return self.reply(200, {
                "issuer": i,
                "authorization_endpoint": i + "/authorize",
                "token_endpoint": i + "/token",
                "jwks_uri": i + "/jwks",
                "end_session_endpoint": i + "/logout",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            })
        if url.path == "/jwks":
            with LOCK:
                return self.reply(200, {"keys": [jwk(STATE["key"])]})
        if url.path == "/authorize":
            if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
                return self.reply(400, {"error": "invalid_request"})
            code = secrets.token_urlsafe(16)
            with LOCK:
                STATE["codes"][code] = {
                    "client_id": q.get("client_id"),
                    "redirect_uri": q.get("redirect_uri"),
                    "nonce": q.get("nonce"),
                    "challenge": q.get("code_challenge"),
                    "claims": dict(STATE["claims"]),
                }
            target = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
            return self.reply(302, b"", [("Location", target)])
        if url.path == "/logout":
            with LOCK:
                STATE["logouts"] += 1
            return self.reply(200, {"signed_out": True, "hint": bool(q.get("id_token_hint")),
                                    "back": q.get("post_logout_redirect_uri")})
        if url.path == "/_state":
            with LOCK:
                return self.reply(200, {"logouts": STATE["logouts"], "generation": STATE["generation"]})
        return self.reply(404, {"error": "not_found"})

    def do_POST(self):
        url = urllib.parse.urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        if url.path == "/_control":
            body = json.loads(raw or "{}")
            with LOCK:
                if "mode" in body:
                    STATE["mode"] = body["mode"]
                if "claims" in body:
                    STATE["claims"] = body["claims"]
                if body.get("rotate"):
                    STATE["generation"] += 1
                    STATE["key"] = new_key(f"k{STATE['generation']}")
            return self.reply(204)
        if url.path != "/token":
            return self.reply(404, {"error": "not_found"})
        form = dict(urllib.parse.parse_qsl(raw))
        client_id = form.get("client_id")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, _ = base64.b64decode(auth[6:]).decode().partition(":")
            client_id = urllib.parse.unquote(user)
        with LOCK:
            grant = STATE["codes"].pop(form.get("code", ""), None)
            mode, key = STATE["mode"], STATE["key"]
        if grant is None or form.get("grant_type") != "authorization_code":
            return self.reply(400, {"error": "invalid_grant", "error_description": "unknown or used code"})
        if client_id != grant["client_id"] or form.get("redirect_uri") != grant["redirect_uri"]:
            return self.reply(400, {"error": "invalid_grant", "error_description": "client or redirect mismatch"})
        verifier = form.get("code_verifier", "")
        if b64(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return self.reply(400, {"error": "invalid_grant", "error_description": "PKCE verifier mismatch"})
        now = int(time.time())
        claims = dict(grant["claims"])
        claims.update({
            "iss": "http://evil.example" if mode == "wrong_issuer" else self.issuer,
            "aud": "someone-else" if mode == "wrong_audience" else grant["client_id"],
            "iat": now - 5,
            "exp": now - 600 if mode == "expired" else now + 300,
        })
        if grant["nonce"]:
            claims["nonce"] = grant["nonce"]
        signer = new_key("k-unknown") if mode == "unknown_key" else key
        return self.reply(200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": sign(signer, claims),
        })


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening on {server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
