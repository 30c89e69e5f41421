"""Use cases, one module per noun. Keyword-only functions that take a ``Store`` and the
acting member, enforce the rules, and return data. No typer, no printing."""
