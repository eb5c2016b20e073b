"""Ledger-signing keys: Ed25519, the private key a 0600 PEM file in
settings.LEDGER_KEY_DIR, the public key a SigningKey row (see the package's
docstring)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from disbursements.models import SigningKey


class SigningError(Exception):
    """A key or signature problem the user can act on; the message says how."""


# -- keys -------------------------------------------------------------------------------


def key_dir() -> Path:
    return Path(settings.LEDGER_KEY_DIR)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from its PEM; SigningError for anything else."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data.strip())
    except (ValueError, TypeError) as error:
        raise SigningError(_("This is not a PEM public key.")) from error
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(_("This public key is not an Ed25519 key."))
    return key


def private_key_path(key_id: str) -> Path:
    return key_dir() / f"{key_id}.pem"


def _private_directory() -> Path:
    """The key directory, created readable by this account only. An existing
    one is tightened to 0700 too: a key file is only as private as its folder."""
    directory = key_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


def create_key() -> SigningKey:
    """A new Ed25519 signing key: the private key to LEDGER_KEY_DIR/<key id>.pem
    (0600, written before the public key is recorded: a key is never on
    record without the file that signs with it), its public key to a row."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    key_id = key_id_of(public)
    path = _private_directory() / f"{key_id}.pem"
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: never overwrite a key file (another key's, by a 64-bit id collision).
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        return SigningKey.objects.create(key_id=key_id, public_key=public_pem(public))
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def rotate_key() -> SigningKey:
    """Retire the active key(s) and create a new one. The retired public
    keys stay on record, so the ledgers they signed still verify; their
    private files stay where they are until an administrator removes them
    (docs/ledger-signing.md)."""
    with transaction.atomic():
        SigningKey.objects.select_for_update().filter(retired_at=None).update(
            retired_at=timezone.now()
        )
        return create_key()


def active_key() -> SigningKey:
    """The newest key not retired whose private file is here."""
    for key in SigningKey.objects.filter(retired_at=None).order_by("-created_at", "-id"):
        if private_key_path(key.key_id).is_file():
            return key
    raise SigningError(_("No signing key: run manage.py ledger_key create."))


def load_private_key(key: SigningKey) -> Ed25519PrivateKey:
    """The key's private half from its file, checked against its public key."""
    path = private_key_path(key.key_id)
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise SigningError(
            _("The private key file %(file)s cannot be read: %(error)s")
            % {"file": path, "error": error}
        ) from error
    if not isinstance(private, Ed25519PrivateKey) or key_id_of(private.public_key()) != key.key_id:
        raise SigningError(
            _("The private key file %(file)s does not belong to key %(key)s.")
            % {"file": path, "key": key.key_id}
        )
    return private
