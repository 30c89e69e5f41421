"""Pure domain model: record kinds, their fields and validation, and the org config.

Nothing here touches files, git or the terminal; validation returns problems as data.
"""
