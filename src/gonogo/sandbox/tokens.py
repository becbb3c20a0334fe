"""HS256 JSON Web Tokens for the sandbox services (RFC 7519 / RFC 7515).

The seed's services validate JWTs signed with one shared ``AUTH_SECRET_KEY``; the
sandbox does the same with the standard library, so a token minted by ``auth`` is
accepted by every JWT-validating service and by the ``auth_propagation`` check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


class InvalidToken(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(key: str, subject: str, *, ttl_s: float = 30 * 86400, **claims: Any) -> str:
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"sub": subject, "iat": now, "exp": now + int(ttl_s), **claims}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(payload, separators=(",", ":")).encode())
    )
    sig = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(sig)


def verify(key: str, token: str) -> dict[str, Any]:
    """The token's claims, or ``InvalidToken`` (bad shape, signature or expired)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("malformed token")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
        sig = _unb64(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken("malformed token") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise InvalidToken("unsupported algorithm")
    expected = hmac.new(key.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(sig, expected):
        raise InvalidToken("bad signature")
    if not isinstance(claims, dict) or float(claims.get("exp", 0)) < time.time():
        raise InvalidToken("expired")
    return claims


def bearer(header: str | None) -> str | None:
    """The token in ``Authorization: Bearer <token>``, or ``None``."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
