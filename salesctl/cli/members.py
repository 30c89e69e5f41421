"""``salesctl whoami``, ``member ...`` (list, add, edit, deactivate, handover), ``team ...``
(list, add) and ``role list``: the org in salesctl.yaml."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import Session

app = make_app()


@command(app, "whoami")
def whoami(fmt: FormatOpt = None, *, s: Session) -> None:
    """Show the acting member, their role and data scope.

    Example: salesctl --as zhangwei whoami
    """
    from salesctl.cli._output import emit
    from salesctl.model.members import member_json
    from salesctl.scopes import writable_scope_description

    member = s.actor
    row = {
        **member_json(member),
        "scope": writable_scope_description(s.store.config, member),
        "store": str(s.store.root),
    }
    emit(row, fmt)


member_app = make_app()
app.add_typer(member_app, name="member", help="Members of the org (from salesctl.yaml).")


@command(member_app, "list")
def member_list(
    team: str | None = typer.Option(None, help="Only this team."),
    fmt: FormatOpt = None,
    *,
    s: Session,
) -> None:
    """List members with their team, role and whether they are active.

    Example: salesctl member list --team east
    """
    from salesctl.cli._output import emit
    from salesctl.model.members import member_json

    config = s.store.config
    rows = [member_json(m) for m in config.members.values() if team is None or m.team == team]
    emit(rows, fmt, ("id", "name", "email", "team", "role", "active"))


@command(member_app, "add")
def member_add(
    member_id: Annotated[
        str, typer.Argument(help="The new member's id (lower case, e.g. wangfang).")
    ],
    name: Annotated[str, typer.Option(help="Their name as colleagues write it.")],
    email: Annotated[str, typer.Option(help="The address they commit with.")],
    role: Annotated[
        str, typer.Option(help="rep, lead, director, finance, service, admin or your own.")
    ],
    team: Annotated[str | None, typer.Option(help="Their team's id.")] = None,
    login: Annotated[
        str | None, typer.Option(help="Their login on the forge (for CODEOWNERS).")
    ] = None,
    *,
    out: Write,
) -> None:
    """Add a member to salesctl.yaml in one commit (directors, admins); comments are kept.

    Example: salesctl member add wangfang --name 王芳 --email wf@acme.example --role rep
    """
    from salesctl.ops.org import add_member

    added = out.call(
        add_member, member_id, name=name, email=email, role=role, team=team, login=login
    )
    out.report(added, "added")


@command(member_app, "edit")
def member_edit(
    member_id: Annotated[str, typer.Argument(help="A member id.")],
    set_: Annotated[
        list[str],
        typer.Option("--set", help="FIELD=VALUE: name, email, team, role, login, active."),
    ],
    *,
    out: Write,
) -> None:
    """Change a member's fields in salesctl.yaml in one commit (directors, admins).

    Example: salesctl member edit lina --set team=north --set role=lead
    """
    from salesctl.ops.org import edit_member
    from salesctl.ops.records import parse_assignments

    out.report(out.call(edit_member, member_id, dict(parse_assignments(set_))), "edited")


@command(member_app, "deactivate")
def member_deactivate(
    member_id: Annotated[str, typer.Argument(help="A member id.")], *, out: Write
) -> None:
    """Mark a member inactive (they keep their history; hand their records over first).

    Example: salesctl member deactivate sunhao
    """
    from salesctl.ops.org import edit_member

    result = out.call(edit_member, member_id, {"active": "false"})
    if result.paths or out.structured or out.dry_run:
        out.report(result, "deactivated")
    else:
        typer.echo(f"{member_id} is already inactive: nothing to change")


@command(member_app, "handover")
def member_handover(
    member_id: Annotated[str, typer.Argument(help="The member whose records move (leaving).")],
    to: Annotated[str, typer.Option("--to", help="The colleague who takes them over.")],
    leads_to_pool: Annotated[
        bool, typer.Option("--leads-to-pool", help="Return open leads to the pool instead.")
    ] = False,
    deactivate: Annotated[
        bool,
        typer.Option(
            "--deactivate", help="Also mark the member inactive, in the same commit (directors)."
        ),
    ] = False,
    *,
    out: Write,
) -> None:
    """Move everything a member owns to a colleague in one commit (a lead or director).

    Leads, customers with their contacts, follow-ups and visits, deals, contracts with
    payments, invoices and tasks; personal OKRs and reports stay. --deactivate also marks
    the member inactive in salesctl.yaml (needs member.edit: directors and admins).
    Example: salesctl --as liuyang member handover zhangwei --to lina
    """
    from salesctl.cli._session import in_commit
    from salesctl.ops.sales.handover import handover

    result = out.call(
        handover, member_id, to=to, leads_to_pool=leads_to_pool, deactivate=deactivate
    )
    if out.told(result):
        return
    moved = ", ".join(f"{n} {kind}(s)" for kind, n in result.data["moved"].items())
    released = len(result.data["released"])
    pooled = f"; {released} open lead(s) to the pool" if released else ""
    pooled += f"; {member_id} deactivated" if result.data["deactivated"] else ""
    verb = "would hand over" if out.dry_run else "handed over"
    typer.echo(
        f"{verb} {member_id}'s records to {to}: {moved or 'none'}{pooled}{in_commit(result)}"
    )


team_app = make_app()
app.add_typer(team_app, name="team", help="Teams of the org (from salesctl.yaml).")


@command(team_app, "add")
def team_add(
    team_id: Annotated[str, typer.Argument(help="The new team's id (e.g. west).")],
    name: Annotated[str, typer.Option(help="Its name, e.g. 华西区.")],
    *,
    out: Write,
) -> None:
    """Add a team to salesctl.yaml in one commit (directors, admins).

    Example: salesctl team add west --name 华西区
    """
    from salesctl.ops.org import add_team

    out.report(out.call(add_team, team_id, name=name), "added team")


@command(team_app, "list")
def team_list(fmt: FormatOpt = None, *, s: Session) -> None:
    """List teams with their leads and member counts.

    Example: salesctl team list --format json
    """
    from salesctl.cli._output import emit

    config = s.store.config
    rows = []
    for team in config.teams.values():
        people = config.team_members(team.id)
        rows.append(
            {
                "id": team.id,
                "name": team.name,
                "leads": [m.id for m in people if m.role == "lead"],
                "members": len(people),
                "active": sum(m.active for m in people),
            }
        )
    emit(rows, fmt)


role_app = make_app()
app.add_typer(role_app, name="role", help="Roles: data scope and actions.")


@command(role_app, "list")
def role_list(fmt: FormatOpt = None, *, s: Session) -> None:
    """List the roles (built in and from salesctl.yaml) with their scope and actions.

    Example: salesctl role list --format json
    """
    from salesctl.cli._output import emit

    config = s.store.config
    rows = [
        {"role": r.name, "scope": r.scope, "actions": list(r.actions),
         "members": sum(m.role == r.name and m.active for m in config.members.values())}
        for r in config.roles.values()
    ]  # fmt: skip
    emit(rows, fmt, ("role", "scope", "members", "actions"))
