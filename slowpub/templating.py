"""The one Jinja2 environment: web pages and e-mails render the same templates.

It lives outside ``web/`` so that the domain (``bundles/mail.py``) can render
a bundle without importing a face; ``web/responses.py`` wraps this same
environment for Starlette. Autoescaping is on for every template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from federation.vocab import web_url

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True)


def href(value: object) -> str:
    """A link target for a template: http(s) only, whatever the data says.

    The second layer behind intake, which already drops other schemes: a
    ``javascript:`` URL that reached a template anyway becomes a dead link.
    """
    return web_url(value) or "#"


environment.filters["href"] = href


def render(name: str, **context: Any) -> str:
    """A template rendered to a string (mail bodies, page fragments)."""
    return environment.get_template(name).render(**context)
