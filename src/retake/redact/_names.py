"""Which field names hold credentials: one classification for JSON fields (the walk), form
fields (the query and form-body reader) and multipart form-data parts (a detector).

Names are compared normalised: lower case, without ``-``, ``_`` or spaces.
"""

from __future__ import annotations

__all__ = ["ALWAYS_SECRET", "ALWAYS_SECRET_NAMES", "DEFAULT_SECRET_FIELDS"]

DEFAULT_SECRET_FIELDS: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "passcode",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "secretkey",
    "accountkey",
    "clientkey",
    "consumerkey",
    "encryptionkey",
    "hmackey",
    "licensekey",
    "masterkey",
    "sessionkey",
    "signingkey",
    "subscriptionkey",
    "credential",
    "credentials",
    "signature",
    "sig",
    "auth",
    "authorization",
    "bearer",
    "cookie",
    "jwt",
)
"""Key-like field names (lower case, without ``-``/``_``): a name equal to or ending in one of
these holds a credential when its value looks random (for ``password``-like names, cookies and
authorizations by their whole name: always)."""

ALWAYS_SECRET: tuple[str, ...] = ("password", "passwd", "passphrase", "passcode", "secret")
"""Of ``DEFAULT_SECRET_FIELDS``, the names whose value is a secret whatever it looks like."""
ALWAYS_SECRET_NAMES: frozenset[str] = frozenset(
    {"cookie", "setcookie", "authorization", "proxyauthorization", "passwordconfirmation"}
)
"""Field names (normalised) masked whole whatever they hold, as their headers are; only the
whole name (a ``requires_authorization`` field is about one, and holds none; Rails'
``password_confirmation`` holds the password again)."""
