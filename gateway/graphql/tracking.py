"""The citizen's tracking token (issue 10, point 9b).

Without an idempotency key the token is random. With one it is derived from the key and the
payload with a server secret (HMAC-SHA256), so a retry of an acknowledged submission gets the very
token the first answer carried: the server keeps only a SHA-256 hash of it and never has to hand
out a new one (a new one would replace the citizen's, and a replay by someone else would take the
report's tracking over). Without the secret the token cannot be computed from the key.
"""

import base64
import hashlib
import hmac
import secrets

# Domain separation: the key of tracking tokens is never the staff tokens' key itself.
KEY_LABEL = b"threatmap tracking-token key v1"


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def tracking_key(secret: str) -> bytes:
    """The HMAC key of tracking tokens, derived from THREATMAP_TRACKING_SECRET or, unset, from
    the staff tokens' key (THREATMAP_JWT_SECRET)."""
    return hmac.new(secret.encode(), KEY_LABEL, hashlib.sha256).digest()


def derived_token(key: bytes, idempotency_key: str, payload_hash: str) -> str:
    """The token of the submission with this key and payload (43 URL-safe characters)."""
    message = f"{idempotency_key}\n{payload_hash}".encode()   # a key has no newline (printable)
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def random_token() -> str:
    return secrets.token_urlsafe(32)
