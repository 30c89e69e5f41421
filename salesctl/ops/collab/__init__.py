"""Working together through git: validating the store (``check``), judging a range of
commits against the rules (``audit``), reading history (``gitread``, ``history``), the
pre-receive hook and CODEOWNERS (``hooks``), and ``sync``."""
