"""age encryption of record files: identities, recipients, sealing and opening bytes.

A store with ``encryption: age`` keeps every record file outside ``pool/`` as an
ASCII-armoured age message (``-----BEGIN AGE ENCRYPTED FILE-----``), encrypted to the
members who may read it plus the org's recovery recipient (``store/readers.py`` says who).
The cryptography is age's, through ``pyrage`` (bindings of the Rust implementation), so the
reference ``age`` tool decrypts any record with a member's identity; nothing here is
hand-made but the plumbing. ``pyrage`` is imported on first use only.

A member's identity is an age X25519 secret key (``AGE-SECRET-KEY-1...``) in a file:
``$SALESCTL_IDENTITY``, else ``$XDG_CONFIG_HOME/salesctl/identity.txt`` (``salesctl key
init`` makes it, mode 0600). An OpenSSH ed25519 private key file works too, as in age.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salesctl.errors import Invalid, NotFound

ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
RECOVERY = "recovery"  # the name the org's recovery recipient has in a readers list
_AGE_RECIPIENT = re.compile(r"age1[02-9ac-hj-np-z]{58}")
_SSH_RECIPIENT = re.compile(r"ssh-ed25519 [A-Za-z0-9+/]+=*( \S+)?")


def is_sealed(raw: bytes) -> bool:
    """Is this file an armoured age message (leading white space allowed, as age does)?"""
    return raw.lstrip()[: len(ARMOR_BEGIN)] == ARMOR_BEGIN


def recipient_problem(text: Any) -> str | None:
    """Why ``text`` is no age recipient (``age1...`` or ``ssh-ed25519 AAAA...``), or None."""
    if not isinstance(text, str):
        return "expected an age recipient (age1...) or an ssh-ed25519 public key"
    text = text.strip()
    if _AGE_RECIPIENT.fullmatch(text):
        try:
            _recipient(text)
        except Exception:  # pyrage says which checksum failed; the fix is the same
            return f"{text[:12]}... is not a valid age recipient (a typo?)"
        return None
    if _SSH_RECIPIENT.fullmatch(text):
        try:
            _recipient(text)
        except Exception:
            return "is not a valid ssh-ed25519 public key"
        return None
    return (
        f"{text[:16]!r} is no age recipient: use the age1... line `salesctl key init` "
        "prints, or an ssh-ed25519 public key"
    )


def _recipient(text: str) -> Any:
    import pyrage

    text = text.strip()
    if text.startswith("ssh-"):
        return pyrage.ssh.Recipient.from_str(text)
    return pyrage.x25519.Recipient.from_str(text)


def seal(plain: bytes, recipients: Sequence[str]) -> bytes:
    """``plain`` as an armoured age message to ``recipients`` (age1... or ssh-ed25519)."""
    import pyrage

    out: bytes = pyrage.encrypt(plain, [_recipient(r) for r in recipients], armored=True)
    return out


class SealedError(Invalid):
    """A sealed file that cannot be opened for a reason other than "not for you"."""


@dataclass
class Keyring:
    """The identities this process decrypts with (usually one: the member's)."""

    secrets: tuple[str, ...] = ()
    source: str = ""  # where they came from, for messages
    # The reader names (member ids, ``recovery``) these identities are in the store's
    # config: a file whose manifest names none of them is not tried (store/parsing.py).
    names: frozenset[str] | None = None
    _identities: list[Any] | None = field(default=None, repr=False)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def identities(self) -> list[Any]:
        if self._identities is None:
            self._identities = [_identity(s) for s in self.secrets]
        return self._identities

    def open(self, raw: bytes, where: str) -> bytes | None:
        """The plaintext of the armoured age message ``raw`` (a file ``where``), or None
        when it is not encrypted to any of these identities. A damaged message raises
        ``SealedError`` naming the file."""
        import io

        import pyrage

        if not self.secrets:
            return None
        # decrypt_io, not decrypt: its reader is buffered, and age parses the header of an
        # unbuffered one anew for every few bytes it reads, a cost that grows with the
        # square of the stanzas (1.5 ms for a file with 12 readers, 0.12 ms buffered).
        out = io.BytesIO()
        try:
            pyrage.decrypt_io(io.BytesIO(raw.strip() + b"\n"), out, self.identities())
            return out.getvalue()
        except (pyrage.DecryptError, OSError) as exc:
            text = str(exc)
            if "No matching keys" in text:
                return None
            raise SealedError(
                f"{where}: damaged age message ({text})",
                f"restore it with `git checkout -- {where}` or from another clone",
            ) from None

    def tag(self) -> str:
        """A short name for these identities (the index of an encrypted store is theirs)."""
        import hashlib

        if not self.secrets:
            return "nokey"
        return hashlib.sha256("\n".join(sorted(self.secrets)).encode()).hexdigest()[:16]

    def public(self) -> list[str]:
        """The recipients of these identities (X25519 ones: age1...)."""
        out = []
        for secret in self.secrets:
            if secret.startswith("AGE-SECRET-KEY-"):
                out.append(str(_identity(secret).to_public()))
        return out


def _identity(secret: str) -> Any:
    import pyrage

    if secret.startswith("AGE-SECRET-KEY-"):
        return pyrage.x25519.Identity.from_str(secret)
    return pyrage.ssh.Identity.from_buffer(secret.encode())


NO_KEYS = Keyring()

# The org's secret for the duplicate guard's keyed hashes: 32 random bytes, sealed to every
# member with a key (and the recovery key) in keys/duplicates.age (ops/keys.py).
DUPLICATES_FILE = "keys/duplicates.age"
KEYED_PREFIX = "h:"


def keyed(secret: bytes, key: str) -> str:
    """A duplicate key (``company:...``, ``phone:+86...``) as the guard compares it across
    records a member cannot decrypt: HMAC-SHA256 with the org's secret. Equal keys give
    equal hashes; without the secret, neither the key nor a guess at it can be checked."""
    import hashlib
    import hmac

    return KEYED_PREFIX + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:40]


def identity_path() -> Path:
    """Where this user's identity is: ``$SALESCTL_IDENTITY``, else the user config dir."""
    explicit = os.environ.get("SALESCTL_IDENTITY")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "salesctl" / "identity.txt"


def load_keyring(path: Path | None = None, *, required: bool = False) -> Keyring:
    """The identities in ``path`` (default ``identity_path()``): age secret keys, one a line
    (``#`` comments as ``age-keygen`` writes them), or one OpenSSH ed25519 private key.
    A missing file is ``NO_KEYS`` unless ``required``; a file that holds no identity or a
    broken one is an error naming it."""
    explicit = path is None and bool(os.environ.get("SALESCTL_IDENTITY"))
    path = path or identity_path()
    where = f"{path} ($SALESCTL_IDENTITY)" if explicit else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required or explicit:  # $SALESCTL_IDENTITY names a file that is not there
            raise NotFound(
                f"no age identity at {where}",
                "run `salesctl key init` (or point $SALESCTL_IDENTITY at your key file)",
            ) from None
        return NO_KEYS
    except IsADirectoryError:
        raise Invalid(
            f"the age identity {where} is a directory, not a file",
            "point $SALESCTL_IDENTITY at your key file (`salesctl key init` makes one)",
        ) from None
    except OSError as exc:
        raise Invalid(
            f"cannot read the age identity {where}: {exc.strerror}", "check the file"
        ) from None
    except UnicodeDecodeError:
        raise Invalid(
            f"{where} is not an age identity (not UTF-8 text)",
            "run `salesctl key init --force` to make a new one, or fix $SALESCTL_IDENTITY",
        ) from None
    if "-----BEGIN OPENSSH PRIVATE KEY-----" in text:
        secrets: tuple[str, ...] = (text,)
    else:
        secrets = tuple(
            line.strip()
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )
    if not secrets:
        raise Invalid(f"{where} holds no age identity", "run `salesctl key init` to make one")
    keyring = Keyring(secrets, str(path))
    try:
        keyring.identities()
    except Exception:
        raise Invalid(
            f"{where} is not an age identity (AGE-SECRET-KEY-1... or an ssh-ed25519 key)",
            "run `salesctl key init --force` to make a new one, or fix $SALESCTL_IDENTITY",
        ) from None
    return keyring


def generate_identity(path: Path, *, force: bool = False) -> str:
    """Write a new X25519 identity to ``path`` (mode 0600, its directory 0700) and return
    its recipient. An existing file is kept unless ``force``: losing a key loses nothing
    for the org (the recovery recipient), but it would for its owner until a rekey."""
    import pyrage

    if path.is_dir():
        raise Invalid(
            f"{path} is a directory, not a file",
            "point $SALESCTL_IDENTITY at a file, e.g. ~/.config/salesctl/identity.txt",
        )
    if path.parent.exists() and not path.parent.is_dir():
        raise Invalid(
            f"cannot write the age identity {path}: {path.parent} is a file, not a directory",
            "point $SALESCTL_IDENTITY at a path you may write",
        )
    if path.exists() and not force:
        raise Invalid(
            f"{path} exists already",
            "keep it (`salesctl key show` prints its recipient), or pass --force to replace it",
        )
    identity = pyrage.x25519.Identity.generate()
    public = str(identity.to_public())
    tmp = path.with_name(path.name + ".tmp")
    written = False
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
        written = True
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"# salesctl age identity\n# public key: {public}\n{identity}\n")
        os.replace(tmp, path)
    except OSError as exc:  # a file where a directory should be, no permission
        if written:
            tmp.unlink(missing_ok=True)
        raise Invalid(
            f"cannot write the age identity {path}: {exc.strerror}",
            "point $SALESCTL_IDENTITY at a path you may write",
        ) from None
    return public


# -- the keyring this process reads with --------------------------------------------------
# Set once by the store of an encrypted org (``Store.keyring``); the index's parse workers
# receive its secrets when they start (``store/parsing.py``).

_active: Keyring | None = None


def use(keyring: Keyring) -> None:
    global _active
    _active = keyring


def plaintext(raw: bytes, where: str, keyring: Keyring | None = None) -> bytes | None:
    """``raw`` as its plaintext: unchanged if it is not sealed, opened with ``keyring``
    (default: this process's) if it is, None if it is sealed to others. A damaged message
    raises ``SealedError``."""
    if not is_sealed(raw):
        return raw
    return (keyring or active()).open(raw, where)


def forget() -> None:
    global _active
    _active = None


def active() -> Keyring:
    """The keyring set by ``use``, else the user's identity if there is one (read on the
    first sealed file met: ``check --range`` in a hook, ``history`` of a bare clone)."""
    global _active
    if _active is None:
        try:
            _active = load_keyring()
        except Invalid:
            _active = NO_KEYS
    return _active
