"""A database copy of Podio apps (`podiokit mirror`). Needs the `mirror` extra
(`pip install 'podiokit[mirror]'`; `podiokit[postgres]` for PostgreSQL)."""
