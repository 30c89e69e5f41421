"""Rules a lead or customer keeps however a person sets its fields (QA findings 4, 5, 8, 11, 13):
``converted`` only by ``lead convert`` and ``disqualified`` only with a reason, on ``add``,
``edit`` and a follow-up alike; a blank company is no company; an edit that takes another
record's company, phone or email meets the duplicate guard ``add`` has; a released customer
takes the lead it came from to the pool; ``--where`` names itself. Each refusal: exit code,
message, and nothing changed (HEAD and ``git status``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git

ALLOWED = ("--allow-duplicate", "--reason", "another branch of the group")


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def state(store: Path) -> tuple[str, str]:
    """HEAD and the work tree's status: equal states, nothing written."""
    status = git(store, "status", "--porcelain", "--untracked-files=all")
    return git(store, "rev-parse", "HEAD").strip(), status


def refused(cli: Any, store: Path, code: int, *args: str) -> str:
    """Run a command that must be refused with ``code`` and change nothing; its message."""
    before = state(store)
    result = cli(*args)
    assert result.code == code, (result.out, result.err)
    assert state(store) == before
    assert "Traceback" not in result.err and "internal error" not in result.err
    return str(result.err)


def commits(store: Path) -> int:
    return int(git(store, "rev-list", "--count", "HEAD").strip())


def add_lead(cli: Any, actor: str, *args: str) -> dict[str, Any]:
    return dict(ok(cli("--as", actor, "lead", "add", *args, "-f", "json")).json())


def load(store: Path, record: dict[str, Any]) -> dict[str, Any]:
    return dict(yaml.safe_load((store / record["path"]).read_text(encoding="utf-8")))


# -- item 4: the closing stages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("sets", "wanted"),
    [
        (("--set", "stage=converted"), "stage converted is set by converting the lead"),
        (("--set", "stage=disqualified"), "stage disqualified needs a reason"),
        (("--set", "stage=disqualified", "--set", "reason= "), "needs a reason"),
    ],
)
def test_edit_sets_no_closing_stage_by_hand(
    store: Path, cli: Any, sets: tuple[str, ...], wanted: str
) -> None:
    lead = add_lead(cli, "alice", "--company", "Stage Co")
    message = refused(cli, store, 1, "--as", "alice", "lead", "edit", lead["id"], *sets)
    assert wanted in message and lead["id"] in message
    hint = "lead convert" if "converted" in wanted else "lead disqualify --reason"
    assert hint in message


@pytest.mark.parametrize(
    "stage",
    [("--stage", "converted"), ("--stage", "disqualified"), ("--set", "stage=converted")],
)
def test_add_starts_no_lead_in_a_closing_stage(
    store: Path, cli: Any, stage: tuple[str, ...]
) -> None:
    message = refused(cli, store, 1, "--as", "alice", "lead", "add", "--company", "S Co", *stage)
    assert "stage converted is set by" in message or "needs a reason" in message


def test_disqualified_with_its_reason_is_a_stage_like_any_other(store: Path, cli: Any) -> None:
    before = commits(store)
    added = add_lead(cli, "alice", "--company", "Gone Co", "--stage", "disqualified",
                     "--set", "reason=closed down")  # fmt: skip
    assert (added["stage"], load(store, added)["reason"]) == ("disqualified", "closed down")
    lead = add_lead(cli, "alice", "--company", "Later Co")
    ok(cli("--as", "alice", "lead", "edit", lead["id"], "--set", "stage=disqualified",
           "--set", "reason=no budget"))  # fmt: skip
    assert load(store, lead)["stage"] == "disqualified"
    assert commits(store) == before + 3
    # the lead stays convertible: convert still makes its customer
    other = add_lead(cli, "alice", "--company", "Real Co")
    converted = ok(cli("--as", "alice", "lead", "convert", other["id"], "-f", "json")).json()
    assert load(store, other)["customer"] == converted["customer"]["id"]


def test_a_follow_up_keeps_refusing_the_closing_stages(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "--company", "Touch Co")
    for stage, hint in (("converted", "lead convert"), ("disqualified", "lead disqualify")):
        message = refused(cli, store, 1, "--as", "alice", "followup", "add", lead["id"],
                          "--text", "x", "--stage", stage)  # fmt: skip
        assert "not set by a follow-up" in message and hint in message


# -- item 5: a blank company -------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [("--company", "  "), ("--name", "\t"), ("--company", " ", "--name", "  ")]
)
def test_a_blank_company_or_name_is_none(store: Path, cli: Any, args: tuple[str, ...]) -> None:
    message = refused(cli, store, 1, "--as", "alice", "lead", "add", *args)
    assert "a lead needs --company or --name" in message


def test_company_and_name_are_stored_stripped(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "--company", "  ", "--name", " Wei Zhang ")
    data = load(store, lead)
    assert data["name"] == "Wei Zhang" and "company" not in data


# -- item 8: the duplicate guard on edit -----------------------------------------------------


def test_an_edit_taking_another_leads_company_phone_or_email_is_refused(
    store: Path, cli: Any
) -> None:
    bobs = add_lead(cli, "bob", "--company", "Taken Trading Ltd", "--phone", "138 0013 8000",
                    "--email", "li@takentrading.com")  # fmt: skip
    mine = add_lead(cli, "alice", "--company", "Foo")
    for field in ("company=Taken Trading Co., Ltd.", "phone=+86 138 0013 8000",
                  "email=wang@takentrading.com"):  # fmt: skip
        message = refused(cli, store, 1, "--as", "alice", "lead", "edit", mine["id"],
                          "--set", field)  # fmt: skip
        assert f"already exists: {bobs['id']} (owner bob)" in message
        assert "--allow-duplicate --reason" in message
    # a rep may not override; a team lead may, and the reason is kept
    message = refused(cli, store, 3, "--as", "alice", "lead", "edit", mine["id"],
                      "--set", "company=Taken Trading Ltd", *ALLOWED)  # fmt: skip
    assert "lead.duplicate" in message
    before = commits(store)
    ok(cli("--as", "lee", "lead", "edit", mine["id"], "--set", "company=Taken Trading Ltd",
           *ALLOWED))  # fmt: skip
    data = load(store, mine)
    assert data["company"] == "Taken Trading Ltd" and data["duplicate_reason"] == ALLOWED[-1]
    assert commits(store) == before + 1


def test_an_edit_of_other_fields_or_to_its_own_keys_passes(store: Path, cli: Any) -> None:
    """Keys a record already had (an allowed duplicate, its own company written another way)
    do not block an edit; nor does the customer it was converted to."""
    lead = add_lead(cli, "alice", "--company", "Own Co Ltd", "--phone", "138 0013 8001")
    ok(cli("--as", "alice", "lead", "edit", lead["id"], "--set", "company=OWN CO LIMITED"))
    ok(cli("--as", "alice", "lead", "edit", lead["id"], "--set", "source=expo"))
    converted = ok(cli("--as", "alice", "lead", "convert", lead["id"], "-f", "json")).json()
    customer = converted["customer"]["id"]
    ok(cli("--as", "alice", "customer", "edit", customer, "--set", "name=Own Co Ltd."))
    assert load(store, converted["customer"])["name"] == "Own Co Ltd."


def test_a_customer_renamed_to_another_customers_name_is_refused(store: Path, cli: Any) -> None:
    noras = ok(cli("--as", "nora", "customer", "add", "--name", "北京翔宇电子有限公司",
                   "-f", "json")).json()  # fmt: skip
    mine = ok(cli("--as", "alice", "customer", "add", "--name", "Mine", "-f", "json")).json()
    message = refused(cli, store, 1, "--as", "alice", "customer", "edit", mine["id"],
                      "--set", "name=北京翔宇电子股份有限公司")  # fmt: skip
    assert f"{noras['id']} (owner nora)" in message
    ok(cli("--as", "dana", "customer", "edit", mine["id"], "--set",
           "name=北京翔宇电子股份有限公司", *ALLOWED))  # fmt: skip


# -- item 11: release takes the converted lead along -----------------------------------------


def test_release_and_claim_move_the_converted_lead_with_its_customer(store: Path, cli: Any) -> None:
    lead = add_lead(cli, "alice", "--company", "Moving Co")
    ok(cli("--as", "alice", "followup", "add", lead["id"], "--text", "First call"))
    customer = ok(cli("--as", "alice", "lead", "convert", lead["id"], "-f", "json")).json()
    customer_id = customer["customer"]["id"]
    before, start = commits(store), git(store, "rev-parse", "HEAD").strip()
    ok(cli("--as", "alice", "customer", "release", customer_id, "--reason", "moving"))
    assert commits(store) == before + 1
    assert (store / f"pool/leads/{lead['id']}/lead.yaml").exists()
    assert not (store / "teams/east/alice/leads").exists()
    assert f"Salesctl-Record: {lead['id']}" in git(store, "log", "-1", "--format=%B")
    assert not git(store, "status", "--porcelain")
    ok(cli("--as", "bob", "customer", "claim", customer_id))
    assert (store / f"teams/east/bob/leads/{lead['id']}/lead.yaml").exists()
    shown = ok(cli("--as", "bob", "customer", "show", customer_id, "-f", "json")).json()
    assert "First call" in [f["text"] for f in shown["followups"]]
    # the gate accepts the lead's moves from the members who made them
    assert ok(cli("check", "--range", f"{start}..HEAD~1", "--actor", "alice")).code == 0
    assert ok(cli("check", "--range", "HEAD~1..HEAD", "--actor", "bob")).code == 0


# -- item 13: --where names itself -----------------------------------------------------------


@pytest.mark.parametrize("noun", ["lead", "customer"])
def test_a_bad_where_names_where(store: Path, cli: Any, noun: str) -> None:
    message = refused(cli, store, 1, "--as", "alice", noun, "list", "--where", "nosuch")
    assert "--where 'nosuch' is not FIELD=VALUE" in message and "--set" not in message


def test_the_webhook_refuses_a_closing_stage_as_a_field_error(store: Path, cli: Any) -> None:
    from salesctl.ops.integrations.intake import Intake
    from salesctl.ops.integrations.intake_fields import FieldErrors

    before = state(store)
    for stage in ("converted", "disqualified"):
        with pytest.raises(FieldErrors) as refusal:
            Intake(store, "dana").add_lead({"company": "Web Co", "stage": stage})
        assert "lead" in refusal.value.fields["stage"]
    assert state(store) == before
    created, _answer = Intake(store, "dana").add_lead({"company": "Web Co", "stage": "contacted"})
    assert created
