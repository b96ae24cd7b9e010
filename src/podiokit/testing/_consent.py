"""The HTML a person sees at the emulator's `/oauth/authorize`: the consent page (which app,
what scope, which demo user signs in, Approve or Deny) and the error page. Podio's own pages
are a sign-in form and an "Allow access" prompt; these stand in for both."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from ._state import User

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:1rem;background:#f4f6f8;color:#1c2733}
main{max-width:32rem;margin:2rem auto;background:#fff;border-radius:.5rem;padding:1.5rem;
box-shadow:0 1px 3px #0002}
h1{font-size:1.35rem;margin:0 0 1rem}code{overflow-wrap:anywhere}
fieldset{border:1px solid #ccd3da;border-radius:.4rem;margin:1rem 0;padding:.5rem 1rem}
label{display:block;padding:.3rem 0}small{color:#5b6875}
.buttons{display:flex;gap:.75rem;flex-wrap:wrap}
button{font:inherit;padding:.5rem 1.25rem;border-radius:.4rem;border:1px solid #7a8793;
background:#fff;cursor:pointer}
button.approve{background:#2a6ebb;border-color:#2a6ebb;color:#fff}
"""


def _page(title: str, body: str) -> bytes:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    ).encode()


def consent_page(
    params: Mapping[str, str], users: Iterable[User], selected: int, redirect_host: str
) -> bytes:
    """The consent form: it posts `params` back with the chosen user and the decision."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in params.items()
        if k not in ("user", "deny", "decision")
    )
    choices = "".join(
        f'<label><input type="radio" name="user" value="{u.user_id}"'
        f"{' checked' if u.user_id == selected else ''}> {escape(u.name)} "
        f"<small>{escape(u.mail)}</small></label>"
        for u in users
    )
    scope = params.get("scope") or "the API key's default scope"
    body = (
        "<h1>Allow access to your Podio account?</h1>"
        f"<p>The app <code>{escape(params.get('client_id', ''))}</code> asks to act as you "
        f"in Podio (scope: <code>{escape(scope)}</code>). You will be sent back to "
        f"<code>{escape(redirect_host)}</code>.</p>"
        '<form method="post" action="authorize">'
        f"{hidden}<fieldset><legend>Sign in as (emulator demo users)</legend>{choices}"
        "</fieldset>"
        '<div class="buttons"><button class="approve" name="decision" value="approve">'
        'Approve</button><button name="decision" value="deny">Deny</button></div></form>'
        "<p><small>This is the podiokit emulator, not Podio: no password is asked.</small></p>"
    )
    return _page("Allow access - Podio emulator", body)


def error_page(message: str) -> bytes:
    body = (
        "<h1>This sign-in link does not work</h1>"
        f"<p>{escape(message)}</p>"
        "<p><small>The app that sent you here has a wrong setting; it is not something you "
        "can fix. (podiokit emulator)</small></p>"
    )
    return _page("Sign-in error - Podio emulator", body)
