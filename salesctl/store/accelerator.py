"""The optional YAML accelerator: ``yaml_rs`` where it provably reads a record file as
PyYAML's libyaml ``CSafeLoader`` (through ``yamlio``, the reference) does, about 8x faster on
our files. PyYAML is YAML 1.1 and yaml_rs YAML 1.2, so anything where the two could differ
(``yes``/``on``, ``012``, ``1e3``, timestamps without seconds, anchors, tags, merge keys,
duplicate keys, errors) goes to PyYAML: a cheap scan of the text first (``_Guard``), then a
check of every string yaml_rs returned against YAML 1.1's implicit types
(``_needs_reference``). Files salesctl wrote are read before either by
``yaml_plain.load_plain`` (no optional package). ``SALESCTL_YAML=pyyaml`` turns yaml_rs off,
``SALESCTL_YAML=reference`` both; ``SALESCTL_YAML=verify`` parses every file both ways and
raises on any difference.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from typing import Any

from salesctl import yamlio
from salesctl.yaml_plain import ODD_CHARACTER, load_plain


def _load_accelerator() -> Any:
    if os.environ.get("SALESCTL_YAML", "").lower() in ("pyyaml", "reference"):
        return None
    try:
        import yaml_rs  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return yaml_rs


@functools.cache
def accelerator() -> tuple[Any, _Guard] | None:
    """yaml_rs and the guard it needs, loaded on the first parse: importing its native
    module and compiling the guard's patterns costs ~30 ms, which a warm read (nothing to
    parse) should not pay. None without it."""
    module = _load_accelerator()
    return None if module is None else (module, _Guard())


_VERIFY = os.environ.get("SALESCTL_YAML", "").lower() == "verify"


class _Guard:
    """Raw text that yaml_rs (YAML 1.2) and PyYAML (YAML 1.1) may read differently, or that
    our reference refuses (anchors, aliases): tags, anchors and aliases, directives and
    document markers, merge keys, numbers with a leading zero or 0o and exponents (1e3 is a
    string in 1.1), times without seconds, tabs, block scalars, empty keys, CRs, a byte-order
    mark, characters libyaml refuses or treats as line breaks. False alarms only cost speed.
    Cheap substring tests come first. Compiled with the accelerator, on the first parse."""

    def __init__(self) -> None:
        self.first, self.typed = _implicit_resolver()
        self.token = re.compile(r"(?:^|[\s\[{,])[&*!][^\s,\]}]", re.MULTILINE)
        self.document = re.compile(r"^(?:%|---|\.\.\.)", re.MULTILINE)
        self.number_hint = re.compile(r"[\s\[{,][-+]?(?:0[0-9_o]|[0-9._]*[0-9][eE])")
        self.number = re.compile(  # as a whole scalar: ": 012", "- 1e3"; not "+44 20 0766"
            r"(?:^|[:?-] |[\[{,])[ ]*[-+]?(?:0[0-9_o]|[0-9._]*[0-9][eE])[0-9a-fA-F_.oxX]*"
            r"(?:[eE][-+]?[0-9]*)?"
            r"(?=[ \t]*(?:$|[,\]}#]|:[ \t]|:$))",
            re.MULTILINE,
        )
        self.time_without_seconds = re.compile(  # starts with ':': re scans for it quickly
            r":(?:(?<=[^:0-9+-][0-9]:)|(?<=[^:0-9+-][0-9][0-9]:)|(?<=^[0-9]:)|(?<=^[0-9][0-9]:))"
            r"[0-9]{2}(?!:?[0-9])",
            re.MULTILINE,
        )
        self.odd_character = re.compile(ODD_CHARACTER)
        # yaml_rs makes a date or time of any text that looks like one, quoted or in a
        # block ('2026-01-02', "10:00:00", |-), where PyYAML keeps the text: a quote or a
        # line's indentation right before one, or an escape that could spell one
        self.text_like_time = re.compile(
            r"""(?:['"]|^[ \t]+)[ \t]*[0-9]{1,4}[-:][0-9]""", re.MULTILINE
        )
        # and a number of text that starts with "_" ("_0" is 0, "_.5" 0.5, "_1e3" 1000.0),
        # or with a sign before "." or "_" ("-.5", "-_1")
        self.underscored = re.compile(r"(?:^|[\s\[{,])[-+]?[_.][_0-9.]", re.MULTILINE)
        # block scalars (an empty one and the blank lines after it read apart), empty and
        # complex keys (": x", "- :", "? x")
        self.block_or_key = re.compile(
            r"(?:[:?-][ ]+[|>][-+0-9]*[ ]*(?:#.*)?$)|(?:^[ ]*(?:-[ ]+)*[:?](?:[ ]|$))",
            re.MULTILINE,
        )

    def risky(self, text: str) -> bool:
        return bool(
            (("&" in text or "*" in text or "!" in text) and self.token.search(text))
            or (("%" in text or "---" in text or "..." in text) and self.document.search(text))
            or "<<" in text
            or (self.number_hint.search(text) and self.number.search(text))
            or text[:1] in "-+.0123456789"
            or self.time_without_seconds.search(text)
            or self.odd_character.search(text)
            or self.text_like_time.search(text)
            or (("_" in text or "." in text) and self.underscored.search(text))
            or "\t" in text  # libyaml refuses tabs where YAML 1.2 parsers take them
            or self.block_or_key.search(text)
            or ("\\" in text and '"' in text)
        )


def _implicit_resolver() -> tuple[frozenset[str], re.Pattern[str]]:
    """The first characters and the patterns of YAML 1.1's implicit types (PyYAML's own)."""
    import yaml

    table = yaml.resolver.Resolver.yaml_implicit_resolvers
    patterns = {regexp.pattern for entries in table.values() for _tag, regexp in entries}
    union = "|".join(f"(?:{p})" for p in sorted(patterns))
    return frozenset(k for k in table if k), re.compile(union, re.VERBOSE)


_PLAIN_TYPES = (int, float, bool, type(None), dt.date, dt.datetime)


def _needs_reference(value: Any, guard: _Guard) -> bool:
    """Does the loaded document hold something only PyYAML can settle: a string that YAML
    1.1 would read as another type if unquoted (yes, 1:30, 2026-13-40, ~, =, an empty
    string), a type PyYAML never produces (a time of day, a tuple key), or NaN?"""
    typed, first = guard.typed, guard.first
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if not item or (item[0] in first and typed.match(item)):
                return True
        elif kind is dict:
            for key, sub in item.items():
                stack.append(key)
                stack.append(sub)
        elif kind is list:
            stack.extend(item)
        elif kind not in _PLAIN_TYPES or (kind is float and item != item):
            return True
    return False


FEW_FILES = 256  # parsed in a process before yaml_rs is loaded for the next (see load_yaml)
_parsed = 0


def load_yaml(raw: bytes, source: str, *, plain: bool = True) -> Any:
    """Parse one record file's bytes; ``yamlio.YamlError`` for anything unreadable.

    First ``yaml_plain.load_plain`` (≈ 12 µs a file, PyYAML ≈ 39 µs), which reads the
    files salesctl writes and hands anything else on. Then yaml_rs, which saves ≈ 55 µs a
    file, but loading it (its native module, the guard's patterns) costs ≈ 15 ms: a command
    that parses a few files (``lead show``, a write) parses them with PyYAML, unless
    yaml_rs is loaded already (a cold build loads it before forking). ``plain=False``
    skips ``load_plain`` (the tests of yaml_rs's guard)."""
    global _parsed
    if len(raw) > yamlio.MAX_FILE_BYTES or yamlio.REFERENCE_ONLY:
        return yamlio.loads(raw, source=source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return yamlio.loads(raw, source=source)  # the reference names the byte
    data = load_plain(text) if plain else None
    if data is not None:
        if _VERIFY:
            _same(data, _reference(text, source), "yaml_plain", source)
        return data
    _parsed += 1
    loaded = _parsed > FEW_FILES or accelerator.cache_info().currsize
    accel = accelerator() if loaded else None
    if accel is None:
        return _reference(text, source)
    module, guard = accel
    if guard.risky(text):
        return _reference(text, source)
    try:
        data = module.loads(text)
    except Exception:  # any failure: the reference parser decides and explains
        return _reference(text, source)
    if not isinstance(data, dict) or _needs_reference(data, guard):
        return _reference(text, source)
    if _VERIFY:
        _same(data, _reference(text, source), "yaml_rs", source)
    return data


def _reference(text: str, source: str) -> Any:
    return yamlio.loads(text, source=source, plain=False)


def _same(data: Any, reference: Any, parser: str, source: str) -> None:
    if repr(reference) != repr(data):
        raise AssertionError(f"{parser} and PyYAML differ on {source}: {data!r} {reference!r}")


def parser_name() -> str:
    return "yaml_rs (PyYAML for the rest)" if accelerator() is not None else "PyYAML (libyaml)"
