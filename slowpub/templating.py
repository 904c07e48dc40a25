"""The one Jinja2 environment: web pages and e-mails render the same templates.

It lives outside ``web/`` so that the domain (``bundles/mail.py``) can render
a bundle without importing a face; ``web/responses.py`` wraps this same
environment for Starlette. Autoescaping is on for every template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True)


def render(name: str, **context: Any) -> str:
    """A template rendered to a string (mail bodies, page fragments)."""
    return environment.get_template(name).render(**context)
