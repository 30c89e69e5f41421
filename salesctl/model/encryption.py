"""The ``encryption:`` and ``recovery:`` keys of ``salesctl.yaml`` and members' ``age:``
recipients (read confidentiality: docs/permissions.md, store/readers.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

ENCRYPTIONS = ("age", "none")
# The shape only: the checksum is pyrage's to check (`salesctl check`, and every seal).
RECIPIENT = re.compile(r"age1[02-9ac-hj-np-z]{58}|ssh-ed25519 [A-Za-z0-9+/]+=*( \S+)?")


def parse_encryption(
    data: Mapping[str, Any], members: Mapping[str, Any], bad: Callable[[str, str], None]
) -> tuple[str | None, str | None]:
    """(``encryption``, ``recovery``) of the config, reporting what is wrong through ``bad``."""
    encryption = data.get("encryption")
    if encryption is not None and encryption not in ENCRYPTIONS:
        bad("encryption", f"is {encryption!r}; use age (or none)")
        encryption = None
    if encryption == "none":
        encryption = None
    recovery = data.get("recovery")
    if recovery is not None and not (isinstance(recovery, str) and RECIPIENT.fullmatch(recovery)):
        bad("recovery", "expected the age1... recipient of the org's recovery key (age-keygen)")
        recovery = None
    for member in members.values():
        if member.age is not None and not RECIPIENT.fullmatch(member.age):
            bad(f"members.{member.id}.age", "expected the age1... line `salesctl key init` prints")
    if encryption == "age" and recovery is None:
        bad(
            "recovery",
            "an encrypted store needs the org's recovery recipient "
            "(age-keygen -o recovery.key; keep the key offline, put its age1... here)",
        )
    return encryption, recovery if isinstance(recovery, str) else None
