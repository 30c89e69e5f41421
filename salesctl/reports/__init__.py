"""Reports and statistics: periods, the facts of a period (exact figures from the index),
and rendering them through sandboxed Jinja2 templates."""
