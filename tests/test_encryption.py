"""Read confidentiality (``encryption: age``), end to end on the bundled sample's three teams:
what a rep's clone holds after ``salesctl encrypt``, who can decrypt what after a move or a
participant change, the recovery key, the reference ``age`` tool, and bad keys and files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from salesctl import sealing
from salesctl.ops.setup import init_store
from tests.conftest import git

DIRECTOR, LEAD, REP, OTHER_REP, EAST_REP = "wanglei", "michael", "amy", "kevin", "zhangwei"
SERVICE = "zhaomin"
KEYED = (DIRECTOR, "chenjing", LEAD, REP, OTHER_REP, "liuyang", EAST_REP, "lina", "grace", SERVICE)


def _identity(keys: Path, name: str) -> str:
    return sealing.generate_identity(keys / f"{name}.txt", force=True)


@pytest.fixture
def encrypted(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The sample store, every member but a few given an age key, then encrypted by the
    director; returns the root, the keys directory and what each rep owned before."""
    root, _ = init_store(tmp_path / "store", sample=True)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    keys = tmp_path / "keys"
    before = _plain_secrets(root)
    for name in KEYED:
        public = _identity(keys, name)
        assert cli("--as", DIRECTOR, "member", "edit", name, "--set", f"age={public}").code == 0
    recovery = _identity(keys, "recovery")
    act_as(monkeypatch, keys, DIRECTOR)
    done = cli("--as", DIRECTOR, "encrypt", "--recovery", recovery, "-f", "json")
    assert done.code == 0, done.err
    assert done.json()["sealed_dirs"] > 100
    return {
        "root": root,
        "keys": keys,
        "before": before,
        "encrypt": git(root, "rev-parse", "HEAD").strip(),
    }


def act_as(monkeypatch: pytest.MonkeyPatch, keys: Path, name: str) -> None:
    monkeypatch.setenv("SALESCTL_IDENTITY", str(keys / f"{name}.txt"))


def _plain_secrets(root: Path) -> dict[str, set[str]]:
    """Per owner: company names, phones and contract amounts in their plain files. An
    amount is looked for as its file states it (``amount: 76000``): five digits alone turn
    up by chance in hex hashes and base64 (a readers.yaml's keyed keys, the armour)."""
    import yaml

    found: dict[str, set[str]] = {}
    for path in root.glob("teams/*/*/*/*/*.yaml"):
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        owner = path.parts[-5]
        for key in ("company", "phone", "name"):
            value = data.get(key) if isinstance(data, dict) else None
            if value and len(str(value)) >= 5:
                found.setdefault(owner, set()).add(str(value))
        found.setdefault(owner, set()).update(  # the amount as the file states it
            line for line in text.splitlines() if line.startswith("amount: ")
        )
    return found


def _objects_since(repo: Path, base: str) -> bytes:
    """What the commits from ``base`` (the encryption) on wrote that was not there before:
    their new blobs' bytes and their messages (trees and headers hold only hex ids)."""

    def objects(*rev: str) -> list[str]:
        out = git(repo, "rev-list", "--objects", *rev)
        return [line.split()[0] for line in out.splitlines()]

    old = set(objects(f"{base}^"))
    new = [o for o in objects(f"{base}^..HEAD") if o not in old]
    kinds = subprocess.run(
        ["git", "cat-file", "--batch-check=%(objectname) %(objecttype)"],
        cwd=repo,
        input="\n".join(new),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    blobs = [line.split()[0] for line in kinds.splitlines() if line.endswith(" blob")]
    contents = b"".join(
        subprocess.run(
            ["git", "cat-file", "blob", blob], cwd=repo, capture_output=True, check=True
        ).stdout
        for blob in blobs
    )
    messages = git(repo, "log", "--format=%B", f"{base}^..HEAD").encode()
    return contents + messages


def test_a_reps_clone_holds_no_other_reps_secrets(
    encrypted: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root, keys, before = encrypted["root"], encrypted["keys"], encrypted["before"]
    clone = tmp_path / "amy-clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    monkeypatch.setenv("SALESCTL_STORE", str(clone))
    act_as(monkeypatch, keys, REP)
    # amy works: a lead of her own, a follow-up
    added = cli("--as", REP, "lead", "add", "--company", "Amy Own Trading Co", "-f", "json")
    assert added.code == 0, added.err
    others = set().union(*(v for k, v in before.items() if k not in (REP,)))
    assert others, "the sample gives other reps records"
    work_tree = b"".join(p.read_bytes() for p in clone.rglob("*.yaml") if ".git" not in p.parts)
    pool = b"".join(p.read_bytes() for p in (clone / "pool").rglob("*.yaml"))
    leaked = {s for s in others if s.encode() in work_tree and s.encode() not in pool}
    assert not leaked, f"plaintext of others' records in amy's work tree: {sorted(leaked)[:5]}"
    written = _objects_since(clone, encrypted["encrypt"])
    leaked = {s for s in others if s.encode() in written and s.encode() not in pool}
    assert not leaked, (
        f"plaintext of others' records in objects since encryption: {sorted(leaked)[:5]}"
    )
    # ... while her own work is there for her: list, report, history
    mine = cli("--as", REP, "lead", "list", "--owner", REP, "-f", "json")
    assert mine.code == 0 and any(r["company"] == "Amy Own Trading Co" for r in mine.json())
    listed = cli("--as", REP, "lead", "list", "-f", "json").json()
    assert {r["owner"] for r in listed} <= {REP, None, OTHER_REP}  # kevin's: only what he shares
    report = cli("--as", REP, "report", "weekly", "-f", "json")
    assert report.code == 0, report.err
    assert (
        report.json()["facts"]["members"][0]["new_leads"] >= 1 if "facts" in report.json() else True
    )
    history = cli("--as", REP, "lead", "history", added.json()["id"], "-f", "json")
    assert history.code == 0 and history.json(), history.err
    assert "Amy Own Trading Co" not in git(clone, "log", "-1", "--format=%B")


def test_each_scope_reads_its_own(
    encrypted: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = encrypted["keys"]
    owners = {}
    for name in (DIRECTOR, LEAD, REP):
        act_as(monkeypatch, keys, name)
        rows = cli("--as", name, "lead", "list", "-f", "json")
        assert rows.code == 0, rows.err
        owners[name] = {r["owner"] for r in rows.json()} - {None}
    assert {EAST_REP, OTHER_REP, REP} <= owners[DIRECTOR]
    assert {OTHER_REP, REP} <= owners[LEAD] and EAST_REP not in owners[LEAD]
    assert REP in owners[REP] and EAST_REP not in owners[REP]


def _lead_of(cli: Any, name: str) -> str:
    rows = cli("--as", name, "lead", "list", "--owner", name, "-f", "json").json()
    return str(rows[0]["id"])


def _can_open(keys: Path, name: str, data: bytes) -> bool:
    return sealing.load_keyring(keys / f"{name}.txt").open(data, "x") is not None


def test_a_move_and_a_participant_change_who_can_decrypt(
    encrypted: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, keys = encrypted["root"], encrypted["keys"]
    act_as(monkeypatch, keys, DIRECTOR)
    lead_id = _lead_of(cli, REP)
    moved = cli("--as", DIRECTOR, "lead", "assign", lead_id, "--to", EAST_REP, "-f", "json")
    assert moved.code == 0, moved.err
    path = moved.json()[0]["path"] if isinstance(moved.json(), list) else moved.json()["path"]
    blob = (root / path).read_bytes()
    assert sealing.is_sealed(blob)
    assert not _can_open(keys, REP, blob) and not _can_open(keys, LEAD, blob)
    assert _can_open(keys, EAST_REP, blob) and _can_open(keys, "liuyang", blob)
    # a participant from another team reads it; once taken off, not the versions after
    shared = cli("--as", DIRECTOR, "lead", "edit", lead_id, "--set", f"participants={REP}")
    assert shared.code == 0, shared.err
    assert _can_open(keys, REP, (root / path).read_bytes())
    act_as(monkeypatch, keys, REP)
    assert cli("--as", REP, "lead", "show", lead_id, "-f", "json").code == 0
    act_as(monkeypatch, keys, DIRECTOR)
    dropped = cli("--as", DIRECTOR, "lead", "edit", lead_id, "--set", "participants=")
    assert dropped.code == 0, dropped.err
    after = (root / path).read_bytes()
    assert not _can_open(keys, REP, after)
    followups = list((root / path).parent.glob("followups/*.yaml"))
    assert all(not _can_open(keys, REP, f.read_bytes()) for f in followups)
    manifest = (root / path).parent / "readers.yaml"
    assert REP not in manifest.read_text()


def test_the_recovery_key_opens_every_sealed_file_and_the_pool_stays_plain(
    encrypted: dict[str, Any],
) -> None:
    root, keys = encrypted["root"], encrypted["keys"]
    recovery = sealing.load_keyring(keys / "recovery.txt")
    sealed = [p for p in root.rglob("*.yaml") if sealing.is_sealed(p.read_bytes())]
    assert len(sealed) > 300
    assert all(recovery.open(p.read_bytes(), str(p)) for p in sealed)
    assert not any(sealing.is_sealed(p.read_bytes()) for p in (root / "pool").rglob("*.yaml"))
    assert not sealing.is_sealed((root / "salesctl.yaml").read_bytes())


@pytest.mark.skipif(
    shutil.which("age") is None, reason="the age tool (Debian: age) is not installed"
)
def test_the_reference_age_tool_decrypts_a_record(encrypted: dict[str, Any]) -> None:
    root, keys = encrypted["root"], encrypted["keys"]
    lead = next(p for p in root.glob("teams/north/amy/leads/*/lead.yaml"))
    out = subprocess.run(
        ["age", "-d", "-i", str(keys / f"{REP}.txt"), str(lead)], capture_output=True, check=True
    ).stdout
    assert b"company:" in out and b"schema_version" in out


def test_a_damaged_file_and_a_missing_or_wrong_key_are_one_line_errors(
    encrypted: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root, keys = encrypted["root"], encrypted["keys"]
    act_as(monkeypatch, keys, REP)
    lead_id = _lead_of(cli, REP)
    shown = cli("--as", REP, "lead", "show", lead_id, "-f", "json").json()
    head = git(root, "rev-parse", "HEAD")
    # a wrong identity: not a crash, the file named and the fix
    _identity(tmp_path, "stranger")
    monkeypatch.setenv("SALESCTL_IDENTITY", str(tmp_path / "stranger.txt"))
    wrong = cli("--as", REP, "lead", "show", lead_id)
    assert wrong.code == 3 and wrong.err.count("\n") == 1 and "not encrypted to you" in wrong.err
    # a missing identity file named by $SALESCTL_IDENTITY
    monkeypatch.setenv("SALESCTL_IDENTITY", str(tmp_path / "nowhere.txt"))
    missing = cli("--as", REP, "lead", "show", lead_id)
    assert missing.code == 1 and "nowhere.txt" in missing.err and "key init" in missing.err
    # a corrupt armour block: reading commands skip it naming the file; a write refuses
    act_as(monkeypatch, keys, REP)
    path = root / shown["path"]
    text = path.read_text().splitlines()
    text[2] = text[2][::-1]
    path.write_text("\n".join(text) + "\n")
    listed = cli("--as", REP, "lead", "list", "--owner", REP)
    assert listed.code == 0 and shown["path"] in listed.err
    edit = cli("--as", REP, "lead", "edit", lead_id, "--set", "stage=contacted")
    assert edit.code == 1 and shown["path"] in edit.err and "Traceback" not in edit.err
    assert git(root, "rev-parse", "HEAD") == head


def test_check_names_a_stale_reader_and_rekey_fixes_it(
    encrypted: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = encrypted["keys"]
    act_as(monkeypatch, keys, DIRECTOR)
    # kevin leaves: every file sealed to him is stale until a rekey
    gone = cli("--as", DIRECTOR, "member", "edit", OTHER_REP, "--set", "active=false")
    assert gone.code == 0, gone.err
    found = cli("--as", DIRECTOR, "check")
    assert found.code == 1 and f"-{OTHER_REP}" in found.out + found.err
    planned = cli("--as", DIRECTOR, "rekey", "--dry-run", "-f", "json")
    assert (
        planned.code == 0
        and planned.json()
        and all(OTHER_REP in d["remove"] for d in planned.json())
    )
    done = cli("--as", DIRECTOR, "rekey", "-f", "json")
    assert done.code == 0 and len(done.json()) == len(planned.json())
    assert f"-{OTHER_REP}" not in (cli("--as", DIRECTOR, "check").out)
    count = git(encrypted["root"], "rev-list", "--count", "HEAD~1..HEAD").strip()
    assert count == "1"
    json.dumps(done.json())


def _commit_as(root: Path, who: str, message: str) -> str:
    git(root, "add", "-A")
    email = f"user.email={who}@acme.example"
    git(root, "-c", f"user.name={who}", "-c", email, "commit", "-qm", message)
    return git(root, "rev-parse", "HEAD").strip()


def test_the_gate_judges_sealed_changes_by_path_without_keys_and_by_content_with_one(
    encrypted: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    root, keys = encrypted["root"], encrypted["keys"]
    act_as(monkeypatch, keys, REP)
    mine = cli("--as", REP, "lead", "show", _lead_of(cli, REP), "-f", "json").json()
    theirs = next((root / "teams/north/kevin/leads").glob("*/lead.yaml"))
    start = git(root, "rev-parse", "HEAD").strip()
    names = (REP, DIRECTOR, "recovery")
    readers = [sealing.load_keyring(keys / f"{n}.txt").public()[0] for n in names]
    # amy seals a bad stage into her own lead by hand: a path she may write
    fields = {k: v for k, v in mine.items() if k not in ("id", "kind", "owner", "team", "path")}
    fields["stage"] = "no-such-stage"
    bad = yaml.safe_dump(fields, allow_unicode=True).encode()
    (root / mine["path"]).write_bytes(sealing.seal(bad, readers))
    own = _commit_as(root, REP, "hand edit")
    monkeypatch.delenv("SALESCTL_IDENTITY")  # the gate has no key (none in its home either)
    keyless = cli("check", "--range", f"{start}..{own}", "--actor", REP)
    assert keyless.code == 0, keyless.out + keyless.err
    act_as(monkeypatch, keys, "recovery")  # the recovery key as the gate's secret
    keyed = cli("check", "--range", f"{start}..{own}", "--actor", REP)
    assert keyed.code == 1 and "no-such-stage" in keyed.out + keyed.err
    # a file in kevin's directory: refused by its path, keys or not
    theirs.write_bytes(sealing.seal(b"company: mine now\n", readers))
    other = _commit_as(root, REP, "take kevin's lead")
    monkeypatch.delenv("SALESCTL_IDENTITY")
    refused = cli("check", "--range", f"{own}..{other}", "--actor", REP)
    assert refused.code == 1 and str(theirs.relative_to(root)) in refused.out + refused.err
    # sealed to the wrong readers (not to the recovery key): the keyed gate says so
    (root / mine["path"]).write_bytes(sealing.seal(bad, readers[:1]))
    hidden = _commit_as(root, REP, "seal it to me alone")
    act_as(monkeypatch, keys, "recovery")
    wrong = cli("check", "--range", f"{other}..{hidden}", "--actor", REP)
    assert wrong.code == 1 and "recovery key" in wrong.out + wrong.err


def test_a_task_holder_reads_the_contract_and_its_customers_file_only(
    encrypted: dict[str, Any],
) -> None:
    import yaml

    root, keys = encrypted["root"], encrypted["keys"]
    recovery = sealing.load_keyring(keys / "recovery.txt")
    held = []
    for task in root.glob("teams/*/*/contracts/*/tasks/*.yaml"):
        data = yaml.safe_load(recovery.open(task.read_bytes(), str(task)) or b"")
        if data.get("assignee") == SERVICE:
            held.append(task)
    assert held, "the sample gives the service member tasks"
    contract_file = held[0].parent.parent / "contract.yaml"
    assert _can_open(keys, SERVICE, contract_file.read_bytes())
    contract = yaml.safe_load(recovery.open(contract_file.read_bytes(), "k") or b"")
    customer_dir = next(root.glob(f"teams/*/*/customers/{contract['customer']}"))
    assert _can_open(keys, SERVICE, (customer_dir / "customer.yaml").read_bytes())
    children = [p for p in customer_dir.rglob("*.yaml") if p.parent != customer_dir]
    assert children and not any(_can_open(keys, SERVICE, p.read_bytes()) for p in children)
    assert SERVICE in (customer_dir / "readers.yaml").read_text()


def test_the_duplicate_guard_sees_records_the_actor_cannot_decrypt(
    encrypted: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, keys = encrypted["root"], encrypted["keys"]
    recovery = sealing.load_keyring(keys / "recovery.txt")
    theirs = next((root / "teams/east" / EAST_REP / "leads").glob("*/lead.yaml"))
    import yaml

    company = yaml.safe_load(recovery.open(theirs.read_bytes(), "x") or b"")["company"]
    manifest = (theirs.parent / "readers.yaml").read_text()
    assert "keys:" in manifest and company not in manifest  # hashes, never the name
    act_as(monkeypatch, keys, REP)
    assert not _can_open(keys, REP, theirs.read_bytes())
    head = git(root, "rev-parse", "HEAD")
    refused = cli("--as", REP, "lead", "add", "--company", company)
    assert refused.code == 1, refused.out + refused.err
    assert theirs.parent.name in refused.err and EAST_REP in refused.err
    assert company not in refused.err
    assert git(root, "rev-parse", "HEAD") == head


def test_a_mention_opens_the_record_to_the_mentioned_member(
    encrypted: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, keys = encrypted["root"], encrypted["keys"]
    act_as(monkeypatch, keys, REP)
    lead_id = _lead_of(cli, REP)
    lead = cli("--as", REP, "lead", "show", lead_id, "-f", "json").json()
    main = root / lead["path"]
    assert not _can_open(keys, EAST_REP, main.read_bytes())
    said = cli("--as", REP, "followup", "add", lead_id, "--text", f"@{EAST_REP} can you call them?")
    assert said.code == 0, said.err
    assert _can_open(keys, EAST_REP, main.read_bytes())
    assert all(_can_open(keys, EAST_REP, p.read_bytes()) for p in main.parent.rglob("F-*.yaml"))
    message = git(root, "log", "-1", "--format=%B")
    assert "call them" not in message and lead["company"] not in message


def test_the_keyed_gate_lets_a_participants_mention_reseal_the_record_and_no_more(
    encrypted: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    root, keys = encrypted["root"], encrypted["keys"]
    act_as(monkeypatch, keys, LEAD)
    lead_id = _lead_of(cli, REP)
    shared = cli("--as", LEAD, "lead", "assign", lead_id, "--to", REP, "--participant", OTHER_REP)
    assert shared.code == 0, shared.err
    start = git(root, "rev-parse", "HEAD").strip()
    act_as(monkeypatch, keys, OTHER_REP)  # kevin follows up on amy's lead, asking zhangwei
    said = cli("--as", OTHER_REP, "followup", "add", lead_id, "--text", f"@{EAST_REP} call them?")
    assert said.code == 0, said.err
    mention = git(root, "rev-parse", "HEAD").strip()
    lead = cli("--as", REP, "lead", "show", lead_id, "-f", "json").json()
    main, manifest = root / lead["path"], root / lead["path"].replace("lead.yaml", "readers.yaml")

    def gate(end: str, key: str | None = "recovery") -> Any:
        if key is None:
            monkeypatch.delenv("SALESCTL_IDENTITY", raising=False)
        else:
            act_as(monkeypatch, keys, key)
        return cli("check", "--range", f"{start}..{end}", "--actor", OTHER_REP)

    assert gate(mention).code == 0, gate(mention).out  # the record re-sealed, the readers grown
    keyless = gate(mention, None)  # without a key a re-encryption cannot be told from an edit
    assert keyless.code == 1 and lead["path"] in keyless.out
    recovery = sealing.load_keyring(keys / "recovery.txt")
    fields = yaml.safe_load(recovery.open(main.read_bytes(), "lead") or b"")
    readers = yaml.safe_load(manifest.read_text())["readers"]
    recipients = [sealing.load_keyring(keys / f"{n}.txt").public()[0] for n in readers]

    def amended(path: Path, content: bytes) -> str:
        path.write_bytes(content)
        git(root, "add", "-A")
        git(root, "-c", f"user.name={OTHER_REP}", "-c", f"user.email={OTHER_REP}@acme.example",
            "commit", "-q", "--amend", "--no-edit")  # fmt: skip
        return git(root, "rev-parse", "HEAD").strip()

    # the mention as cover for an edit of amy's lead: refused
    edited = dict(fields, company="Taken over by kevin")
    changed = amended(main, sealing.seal(yaml.safe_dump(edited).encode(), recipients))
    assert gate(changed).code == 1 and lead["path"] in gate(changed).out
    # made plain (readable by everyone) with the same fields: refused
    plain = amended(main, yaml.safe_dump(fields, allow_unicode=True).encode())
    assert gate(plain).code == 1 and lead["path"] in gate(plain).out
    # a reader nobody mentioned: refused
    git(root, "reset", "-q", "--hard", mention)
    more = manifest.read_text().replace(f"- {EAST_REP}", f"- {EAST_REP}\n- lina")
    assert "lina" in more
    widened = amended(manifest, more.encode())
    assert gate(widened).code == 1 and "readers.yaml" in gate(widened).out


def test_encrypt_with_demo_keys_gives_every_member_an_identity_outside_the_store(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = init_store(tmp_path / "store", sample=True)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    head = git(root, "rev-parse", "HEAD")
    inside = cli("--as", DIRECTOR, "encrypt", "--demo-keys", str(root / "keys"))
    assert inside.code == 1 and "outside" in inside.err
    assert git(root, "rev-parse", "HEAD") == head and not (root / "keys").exists()
    keys = tmp_path / "keys"
    done = cli("--as", DIRECTOR, "encrypt", "--demo-keys", str(keys), "-f", "json")
    assert done.code == 0, done.err
    made = done.json()
    assert not made["members_without_key"] and {REP, DIRECTOR, SERVICE} <= set(made["identities"])
    assert (keys / f"{REP}.txt").stat().st_mode & 0o777 == 0o600
    assert git(root, "rev-list", "--count", f"{head.strip()}..HEAD").strip() == "1"
    act_as(monkeypatch, keys, REP)
    assert cli("--as", REP, "lead", "list", "--owner", REP, "-f", "json").json()


def test_release_makes_a_record_plain_and_a_claim_seals_it_again(
    encrypted: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, keys = encrypted["root"], encrypted["keys"]
    act_as(monkeypatch, keys, REP)
    lead_id = _lead_of(cli, REP)
    released = cli("--as", REP, "lead", "release", lead_id, "--reason", "not ours", "-f", "json")
    assert released.code == 0, released.err
    pool_dir = next((root / "pool" / "leads").glob(f"{lead_id}"))
    files = [p for p in pool_dir.rglob("*") if p.is_file()]
    assert files and not any(sealing.is_sealed(p.read_bytes()) for p in files)
    assert not (pool_dir / "readers.yaml").exists()
    act_as(monkeypatch, keys, EAST_REP)
    claimed = cli("--as", EAST_REP, "lead", "claim", lead_id, "-f", "json")
    assert claimed.code == 0, claimed.err
    home = next(root.glob(f"teams/east/{EAST_REP}/leads/{lead_id}"))
    sealed = [p for p in home.rglob("*.yaml") if p.name != "readers.yaml"]
    assert sealed and all(_can_open(keys, EAST_REP, p.read_bytes()) for p in sealed)
    assert not any(_can_open(keys, REP, p.read_bytes()) for p in sealed)


def _first_stanza_only(sealed: bytes) -> bytes:
    """The binary age file with every recipient stanza but the first cut from its header
    (its MAC then fails: a key that opens the first stanza meets that, any other none)."""
    import base64

    lines = sealed.strip().splitlines()
    binary = base64.b64decode(b"".join(lines[1:-1]))
    header, _, payload = binary.partition(b"\n---")
    intro, first, *_rest = header.split(b"\n-> ")
    return intro + b"\n-> " + first + b"\n---" + payload


def test_the_widest_reader_has_the_first_stanza_and_recovery_the_last(
    encrypted: dict[str, Any],
) -> None:
    # age tries a file's stanzas in turn (two X25519 operations each): whoever decrypts the
    # most files (the director, in a cold index build) must not pay for the others'.
    import pyrage

    from salesctl.store.reader_rule import recipient_directory
    from salesctl.store.store import Store

    root, keys = encrypted["root"], encrypted["keys"]
    order = list(recipient_directory(Store(root).config))
    assert order[0] == DIRECTOR and order[-1] == sealing.RECOVERY
    assert order.index(LEAD) < order.index(REP)
    lead = next(root.glob(f"teams/north/{REP}/leads/*/lead.yaml")).read_bytes()
    cut = _first_stanza_only(lead)

    def error_for(name: str) -> str:
        identities = sealing.load_keyring(keys / f"{name}.txt").identities()
        with pytest.raises(pyrage.DecryptError) as caught:
            pyrage.decrypt(cut, identities)
        return str(caught.value)

    assert "No matching keys" not in error_for(DIRECTOR)  # found its key, then the MAC failed
    assert "No matching keys" in error_for(REP)
    assert "No matching keys" in error_for(LEAD)


@pytest.fixture
def demo(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The sample store encrypted with ``--demo-keys`` (every member has a key), as the
    director; returns the root and the keys directory."""
    root, _ = init_store(tmp_path / "store", sample=True)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    keys = tmp_path / "keys"
    done = cli("--as", DIRECTOR, "encrypt", "--demo-keys", str(keys))
    assert done.code == 0, done.err
    act_as(monkeypatch, keys, DIRECTOR)
    return {"root": root, "keys": keys}


FINANCE = "chenjing"


def _stale(cli: Any) -> str:
    found = cli("check")
    return "\n".join(
        line for line in (found.out + found.err).splitlines() if "readers differ" in line
    )


def test_finance_reads_a_reps_contracts_sealed_and_nothing_else_and_check_agrees(
    demo: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One rule: what `encrypt` seals, what `check` compares and what the CLI lets finance
    # read (contracts wherever they are; not a rep's leads, customers, tasks or reports).
    root, keys = demo["root"], demo["keys"]
    home = root / "teams/east" / EAST_REP
    for kind in ("leads", "customers", "deals"):
        main = next(home.glob(f"{kind}/*/{kind[:-1]}.yaml")).read_bytes()
        assert not _can_open(keys, FINANCE, main), kind
    assert _can_open(keys, FINANCE, next(home.glob("contracts/*/contract.yaml")).read_bytes())
    assert cli("check").code == 0, _stale(cli)
    act_as(monkeypatch, keys, EAST_REP)  # as a rep, who reads part of the store
    assert cli("check").code == 0, _stale(cli)
    task = cli("--as", EAST_REP, "task", "add", "--title", "call back", "-f", "json")
    assert task.code == 0, task.err
    answered = cli("--as", EAST_REP, "report", "answer", "--question", "1", "--text", "hi")
    assert answered.code == 0, answered.err
    act_as(monkeypatch, keys, FINANCE)
    assert cli("--as", FINANCE, "task", "show", task.json()["id"]).code == 3
    assert not _can_open(keys, FINANCE, (root / task.json()["path"]).read_bytes())
    assert not any(_can_open(keys, FINANCE, p.read_bytes()) for p in home.glob("reports/*.md"))
    act_as(monkeypatch, keys, DIRECTOR)
    assert cli("check").code == 0, _stale(cli)
    again = cli("--as", DIRECTOR, "rekey", "--dry-run", "-f", "json")
    assert again.code == 0 and again.json() == [], again.out


def test_rekey_repairs_a_directory_sealed_to_finance_by_the_old_rule(
    demo: dict[str, Any], cli: Any
) -> None:
    # Stores encrypted before the fix sealed every directory of an owner as their first
    # (a contract's): finance among the readers of leads and customers.
    import yaml

    root, keys = demo["root"], demo["keys"]
    lead_dir = next((root / "teams/east" / EAST_REP / "leads").glob("L-*"))
    manifest = lead_dir / "readers.yaml"
    text = manifest.read_text()
    widened = sorted({*yaml.safe_load(text)["readers"], FINANCE})
    recipients = [sealing.load_keyring(keys / f"{n}.txt").public()[0] for n in widened]
    director = sealing.load_keyring(keys / f"{DIRECTOR}.txt")
    files = [p for p in lead_dir.rglob("*.yaml") if p != manifest]
    for path in files:
        path.write_bytes(
            sealing.seal(director.open(path.read_bytes(), str(path)) or b"", recipients)
        )
    manifest.write_text(text.replace("readers:\n", f"readers:\n- {FINANCE}\n", 1))
    _commit_as(root, DIRECTOR, "sealed by the old rule")
    assert f"-{FINANCE}" in _stale(cli)
    done = cli("--as", DIRECTOR, "rekey", "-f", "json")
    assert done.code == 0, done.err
    assert [d["remove"] for d in done.json()] == [[FINANCE]]
    assert cli("check").code == 0, _stale(cli)
    assert cli("--as", DIRECTOR, "rekey", "--dry-run", "-f", "json").json() == []
    assert not any(_can_open(keys, FINANCE, p.read_bytes()) for p in files)
    assert FINANCE not in manifest.read_text()


def test_a_participants_followup_keeps_the_customer_file_open_to_task_holders(
    demo: dict[str, Any], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The participant cannot decrypt the tasks on the customer's contracts, so cannot tell
    # who holds them: the customer's file stays encrypted to those the manifest names.
    root, keys = demo["root"], demo["keys"]
    manifest = next(
        p
        for p in root.glob("teams/east/lina/customers/*/readers.yaml")
        if "record_file_also" in p.read_text()
    )
    import yaml

    def holders() -> list[str]:
        return list(yaml.safe_load(manifest.read_text()).get("record_file_also") or [])

    before = holders()
    customer = manifest.parent.name
    act_as(monkeypatch, keys, "lina")
    edited = cli("--as", "lina", "customer", "edit", customer, "--set", f"participants={REP}")
    assert edited.code == 0, edited.err
    act_as(monkeypatch, keys, REP)
    said = cli("--as", REP, "followup", "add", customer, "--text", "met them at the fair")
    assert said.code == 0, said.err
    assert SERVICE in before and holders() == before
    assert _can_open(keys, SERVICE, (manifest.parent / "customer.yaml").read_bytes())
    act_as(monkeypatch, keys, DIRECTOR)
    assert cli("check").code == 0, _stale(cli)
