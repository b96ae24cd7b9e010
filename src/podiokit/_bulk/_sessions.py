"""Which session reads each app: its own, one given, or the caller's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._client import Podio

__all__ = ["open_sessions"]


async def open_sessions(
    podio: Podio,
    ids: Sequence[int],
    tokens: Mapping[int, str],
    given: Mapping[int, Podio] | None = None,
) -> dict[int, Podio]:
    """The session each app is read with: its own (`app:<id>`, signed in with its app token
    unless already signed in) when `tokens` names it, the one in `given` when that names it,
    otherwise `podio`. An app in both is a ValueError: which identity to use is ambiguous."""
    given = given or {}
    both = sorted(set(tokens) & set(given))
    if both:
        raise ValueError(f"app(s) {both} are in both app_tokens and app_sessions: give one")
    sessions: dict[int, Podio] = {}
    for app_id in ids:
        if app_id in given:
            sessions[app_id] = given[app_id]
            continue
        token = tokens.get(app_id)
        if token is None:
            sessions[app_id] = podio
            continue
        session = podio.session(f"app:{app_id}")
        if not await session.is_authenticated():
            await session.authenticate_with_app(app_id, token)
        sessions[app_id] = session
    return sessions
