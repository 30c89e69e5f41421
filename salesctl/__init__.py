"""salesctl: a git-native sales CRM: YAML records in a git repository, one commit per change."""

__version__ = "0.1.0"
