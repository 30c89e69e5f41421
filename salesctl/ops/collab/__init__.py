"""Working together through git: validating the store (``check``), judging a range of
commits against the rules (``audit``, ``judge``, ``tip_check``), reading history
(``gitread``, ``record_changes``, ``history``, ``diff``), the pre-receive hook and
CODEOWNERS (``hooks``), and ``sync``."""
