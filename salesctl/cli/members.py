"""``salesctl whoami``, ``member list``, ``team list``."""

from __future__ import annotations

from dataclasses import asdict

import typer

from salesctl.cli._commands import command, make_app
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import Session

app = make_app()


@command(app, "whoami")
def whoami(fmt: FormatOpt = None, *, s: Session) -> None:
    """Show the acting member, their role and data scope.

    Example: salesctl --as zhangwei whoami
    """
    from salesctl.cli._output import emit
    from salesctl.scopes import writable_scope_description

    member = s.actor
    row = {
        **asdict(member),
        "scope": writable_scope_description(s.store.config, member),
        "store": str(s.store.root),
    }
    row.pop("ssh_keys")
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

    config = s.store.config
    rows = [
        {k: v for k, v in asdict(m).items() if k != "ssh_keys"}
        for m in config.members.values()
        if team is None or m.team == team
    ]
    emit(rows, fmt, ("id", "name", "email", "team", "role", "active"))


team_app = make_app()
app.add_typer(team_app, name="team", help="Teams of the org (from salesctl.yaml).")


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
