"""A lead's or customer's duplicate keys (查重, 撞单): the one definition that ``lead add``,
``customer add``, ``lead convert``, ``lead import``, the webhook, ``dupes`` and the index's
``dupkeys`` table all use, so they can never disagree.

- ``c:`` the company, normalised (``values.normalise_company``: width, case, spaces, legal
  forms): a lead's ``company``, a customer's ``name``;
- ``p:`` each phone in E.164 (``+8613800138000``), parsed with the org's ``region:``; a
  number libphonenumber cannot make sense of falls back to its digits (six or more);
- ``e:`` each email address, whole and lower-cased;
- ``d:`` each email's domain, but only a company's own: a free-mail domain (qq.com,
  gmail.com, ...) says nothing about which company a person works for.

A customer's keys include its contacts' phones and emails. Pure: no files, no config
object (the region is passed in).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from salesctl.model.values import normalise_company, normalise_email, parse_phone

# Mail providers anyone can sign up with: two people at @qq.com are not one company.
FREE_MAIL_DOMAINS = frozenset(
    {
        # China
        "qq.com", "vip.qq.com", "foxmail.com", "163.com", "126.com", "yeah.net",
        "vip.163.com", "vip.126.com", "sina.com", "sina.cn", "vip.sina.com", "sohu.com",
        "aliyun.com", "139.com", "189.cn", "wo.cn", "tom.com", "21cn.com",
        # elsewhere
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "yahoo.co.jp", "ymail.com", "icloud.com", "me.com", "mac.com",
        "aol.com", "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.de", "gmx.net",
        "web.de", "mail.com", "mail.ru", "yandex.com", "yandex.ru", "zoho.com", "naver.com",
        "hanmail.net", "fastmail.com", "tutanota.com", "hey.com",
    }
)  # fmt: skip
MIN_PHONE_DIGITS = 6  # fewer is an extension or a typo, not a number two records can share
KEY_KINDS = {"c": "company", "p": "phone", "e": "email", "d": "email domain"}


def phone_key(phone: Any, region: str) -> str | None:
    """``p:+8613800138000``, or ``p:`` and the digits of a number that does not parse."""
    text = str(phone).strip()
    return _phone_key(text, region) if text else None


# An import keys each row's phone twice (the duplicate guard, then the index's row of the
# written file) and libphonenumber's parse is most of a key's cost: remember the last ones.
@functools.lru_cache(maxsize=16384)
def _phone_key(text: str, region: str) -> str | None:
    import phonenumbers  # 25 ms to import: only when there is a phone to key

    number = parse_phone(text, region)
    if number is not None and phonenumbers.is_possible_number(number):
        return "p:" + phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = re.sub(r"\D", "", text)
    return "p:" + digits if len(digits) >= MIN_PHONE_DIGITS else None


def email_keys(email: Any) -> list[str]:
    """``e:`` the address, and ``d:`` its domain when it is a company's own."""
    address = normalise_email(str(email))
    if not address:
        return []
    keys = ["e:" + address]
    domain = address.rpartition("@")[2].strip(".")
    if domain and "@" in address and domain not in FREE_MAIL_DOMAINS:
        keys.append("d:" + domain)
    return keys


def company_key(company: Any) -> str | None:
    name = normalise_company(str(company))
    return "c:" + name if name else None


def keys_of(
    region: str,
    company: Any = None,
    emails: Iterable[Any] = (),
    phones: Iterable[Any] = (),
) -> list[str]:
    """The keys of a company name and its people's emails and phones, without repeats."""
    keys: list[str] = []
    if company:
        keys.append(company_key(company) or "")
    for email in emails:
        if email:
            keys += email_keys(email)
    for phone in phones:
        if phone:
            keys.append(phone_key(phone, region) or "")
    return [k for k in dict.fromkeys(keys) if k]


def record_keys(kind: str, data: dict[str, Any], region: str) -> list[str]:
    """The keys of a lead's or customer's fields (a customer's contacts' too)."""
    if kind == "lead":
        return keys_of(region, data.get("company"), [data.get("email")], [data.get("phone")])
    if kind == "customer":
        contacts = [c for c in data.get("contacts") or () if isinstance(c, dict)]
        return keys_of(
            region,
            data.get("name"),
            [c.get("email") for c in contacts],
            [c.get("phone") for c in contacts],
        )
    return []


def what_matched(key: str) -> str:
    """``company``, ``phone``, ``email`` or ``email domain``: how a message names a key."""
    return KEY_KINDS.get(key.partition(":")[0], "key")
