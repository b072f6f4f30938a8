"""Keys for personal data: one data key per person, wrapped by the platform's master key.

A person's data key (DEK) encrypts the personal fields of every event about them. It is stored
wrapped (AES-256-GCM under the master key) in the tenant's `subject_keys` table, apart from the
log; deleting that row is crypto-shredding. Blind indexes (keyed HMAC) serve exact lookups of
ID numbers and phone numbers without storing them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


def new_data_key() -> bytes:
    """A fresh 256-bit data key."""
    return secrets.token_bytes(32)


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM with a random nonce, which is prefixed to the ciphertext."""
    nonce = secrets.token_bytes(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Open what `encrypt` sealed; raises if a byte or the associated data changed."""
    return AESGCM(key).decrypt(sealed[:_NONCE], sealed[_NONCE:], aad)


class KeyWrapper:
    """Wraps and unwraps data keys with the master key, bound to tenant and subject."""

    def __init__(self, master_key: bytes) -> None:
        self._master = master_key
        self._index_key = hmac.new(master_key, b"shouwang blind index v1", hashlib.sha256).digest()

    def wrap(self, tenant: str, subject: UUID, data_key: bytes) -> bytes:
        return encrypt(self._master, data_key, tenant.encode() + subject.bytes)

    def unwrap(self, tenant: str, subject: UUID, wrapped: bytes) -> bytes:
        return decrypt(self._master, wrapped, tenant.encode() + subject.bytes)

    def blind_index(self, tenant: str, kind: str, value: str) -> bytes:
        """A keyed hash of a normalised value: equal inputs match, the value cannot be read back."""
        normalised = "".join(value.split()).upper()
        return hmac.new(self._index_key, f"{tenant}|{kind}|{normalised}".encode(), hashlib.sha256).digest()
