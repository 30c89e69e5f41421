"""Read confidentiality (``encryption: age``): ``salesctl key init/show``, ``salesctl
encrypt`` and ``salesctl rekey``. docs/permissions.md has the threat model."""

from __future__ import annotations

from typing import Annotated

import typer

from salesctl.cli._commands import Write, command, make_app
from salesctl.cli._params import FormatOpt
from salesctl.cli._session import in_commit

app = make_app()  # encrypt, rekey
key_app = make_app(help="Your age identity: what encrypted records open with.")
app.add_typer(key_app, name="key")

ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Replace an existing identity (records sealed to it stay so)."),
]


@command(key_app, "init")
def key_init(force: ForceOpt = False, fmt: FormatOpt = None) -> None:
    """Create your age identity (mode 0600) in your user config directory, or where
    $SALESCTL_IDENTITY points, and print its recipient for salesctl.yaml.

    Example: salesctl key init
    """
    from salesctl.cli._output import emit
    from salesctl.ops.keys import init_key

    made = init_key(force=force)
    if fmt and fmt != "table":
        emit(made, fmt)
        return
    typer.echo(f"created {made['identity']}")
    typer.echo(f"recipient: {made['recipient']}")
    typer.echo("next: a director runs `salesctl member edit YOU --set age=<recipient>`, then rekey")


@command(key_app, "show")
def key_show(fmt: FormatOpt = None) -> None:
    """Print the recipient of your age identity.

    Example: salesctl key show --format json
    """
    from salesctl.cli._output import emit
    from salesctl.ops.keys import show_key

    shown = show_key()
    if fmt and fmt != "table":
        emit(shown, fmt)
        return
    typer.echo(shown["recipient"])


@command(app, "encrypt")
def encrypt(
    recovery: Annotated[
        str | None,
        typer.Option(
            "--recovery",
            help="The org's recovery recipient (age1...; its key kept offline by the director).",
        ),
    ] = None,
    demo_keys: Annotated[
        str | None,
        typer.Option(
            "--demo-keys",
            help="To try it: make an identity for every member without a key (and the "
            "recovery key) in this directory, outside the store.",
        ),
    ] = None,
    *,
    out: Write,
) -> None:
    """Turn on encryption: every record file outside the pool and the toolkit becomes an
    age message to the members who may read it (and the recovery key), in one commit.

    History before that commit stays readable to whoever has the repository: see
    docs/permissions.md for starting a fresh one.
    Example: salesctl encrypt --recovery age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
    """  # noqa: E501
    from pathlib import Path

    from salesctl.ops.keys import encrypt_store

    keys = Path(demo_keys) if demo_keys else None
    result = out.call(encrypt_store, recovery=recovery, demo_keys=keys)
    if out.told(result) or out.dry_run:
        return
    data = result.data
    typer.echo(f"encrypted {data['sealed_dirs']} record directories{in_commit(result)}")
    if data["members_without_key"]:
        names = ", ".join(data["members_without_key"])
        typer.echo(f"warning: no age: key yet for {names}: they read no sealed record", err=True)
    if data["identities"]:
        where = Path(next(iter(data["identities"].values()))).parent
        typer.echo(f"identities in {where}: export SALESCTL_IDENTITY={where}/<member>.txt")


@command(app, "rekey")
def rekey_cmd(
    everything: Annotated[
        bool,
        typer.Option(
            "--all", help="Every sealed directory: after replacing the recovery key or a key."
        ),
    ] = False,
    *,
    out: Write,
) -> None:
    """Re-encrypt the record directories whose readers changed (after a new team lead, a
    member leaving, a new key), in one commit; --dry-run lists them.

    Example: salesctl rekey --dry-run
    """
    from salesctl.ops.keys import rekey

    result = out.call(rekey, everything=everything)
    if out.told(result):
        return
    if not result.data:
        typer.echo("nothing to re-encrypt: every record directory is sealed to its readers")
        return
    for item in result.data:
        what = " ".join([f"+{n}" for n in item["add"]] + [f"-{n}" for n in item["remove"]])
        typer.echo(f"{item['path']}: {what or 'resealed'}")
    done = "would re-encrypt" if out.dry_run else "re-encrypted"
    typer.echo(f"{done} {len(result.data)} record directories{in_commit(result)}")


@command(key_app, "decrypt")
def key_decrypt(
    file: Annotated[str, typer.Argument(help="A file of the store, sealed or plain.")],
) -> None:
    """Print a file's plaintext if your identity opens it, else the file as it is: git's
    textconv driver, so `git diff` and `git log -p` show what you may read.

    Set it up once per clone (docs/permissions.md):
      git config diff.age.textconv "salesctl key decrypt"
      echo '*.yaml diff=age' >> .git/info/attributes
    Example: salesctl key decrypt salesctl.yaml
    """
    import sys
    from pathlib import Path

    from salesctl.ops.keys import decrypted

    sys.stdout.buffer.write(decrypted(Path(file)))
