"""Integrations with web frameworks: `podiokit.integrations.fastapi` (extra `fastapi`).

Each lives in its own module and imports its framework there, so `import podiokit` never
needs one.
"""
