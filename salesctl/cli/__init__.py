"""The command line: a thin shell over ``salesctl.ops``. Only this package imports typer and
prints. Each noun has a module; ``app.py`` assembles them and owns the one error path."""
