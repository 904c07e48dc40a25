"""Sending sealed bundles by e-mail: multipart text and HTML through aiosmtplib.

A bundle to mail is a row (``mail_state = pending``), so a mail server that
is down only delays it: attempts back off and give up after a day. The SMTP
connection is configured by ``SLOWPUB_SMTP_URL``: ``smtp://user:pass@host:587``
uses STARTTLS (required), ``smtps://…:465`` implicit TLS, and
``?starttls=off`` allows a plain local relay (tests, a relay on localhost).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from sqlalchemy import select, update

from slowpub.bundles import view as bundle_view
from slowpub.context import Context
from slowpub.storage.models import Bundle, User
from slowpub.templating import render

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
SEND_LEASE = timedelta(minutes=10)


def bundle_title(bundle: Bundle) -> str:
    return f"Your slowpub bundle for {bundle.local_date}"


def render_html(view: bundle_view.BundleView, title: str, base_url: str) -> str:
    return render("mail.html", view=view, title=title, base_url=base_url)


async def build_message(ctx: Context, session: object, user: User, bundle: Bundle) -> EmailMessage:
    view = await bundle_view.load(session, user, bundle)
    title = bundle_title(bundle)
    message = EmailMessage()
    sender = ctx.settings.mail_from or f"slowpub@{ctx.settings.host.split(':')[0]}"
    message["From"] = formataddr(("slowpub", sender))
    message["To"] = user.email or ""
    message["Subject"] = title
    message["Message-ID"] = make_msgid(domain=ctx.settings.host.split(":")[0])
    text = bundle_view.as_text(view, title)
    text += f"\nRead it on the web: {ctx.settings.url(f'/bundles/{bundle.id}')}\n"
    message.set_content(text)
    message.add_alternative(render_html(view, title, ctx.settings.base_url), subtype="html")
    return message


async def deliver(smtp_url: str, message: EmailMessage) -> None:
    parts = urlsplit(smtp_url)
    options = parse_qs(parts.query)
    implicit_tls = parts.scheme == "smtps"
    starttls = not implicit_tls and options.get("starttls", ["on"])[0] != "off"
    await aiosmtplib.send(
        message,
        hostname=parts.hostname,
        port=parts.port or (465 if implicit_tls else 587),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=implicit_tls,
        start_tls=starttls,
        timeout=30,
    )


async def send_due(ctx: Context, limit: int = 20) -> int:
    """Mail every sealed bundle whose mail is due; returns how many were attempted."""
    if not ctx.settings.smtp_url:
        return 0
    now = ctx.clock.now()
    async with ctx.db.sessions() as session:
        query = (
            select(Bundle.id)
            .where(Bundle.mail_state == "pending", Bundle.mail_next_attempt_at <= now)
            .order_by(Bundle.id)
            .limit(limit)
        )
        ids = list((await session.execute(query)).scalars())
    for bundle_id in ids:
        # Claim it: with several workers only one may send a given mail. A
        # crash mid-send leaves it "sending"; after the lease it is retried.
        async with ctx.db.transaction() as session:
            claimed = await session.execute(
                update(Bundle)
                .where(
                    Bundle.id == bundle_id,
                    Bundle.mail_state == "pending",
                    Bundle.mail_next_attempt_at <= now,
                )
                .values(mail_next_attempt_at=now + SEND_LEASE)
            )
        if claimed.rowcount != 1:
            continue
        async with ctx.db.sessions() as session:
            bundle = await session.get(Bundle, bundle_id)
            user = await session.get(User, bundle.user_id) if bundle else None
            if bundle is None or user is None or bundle.mail_state != "pending":
                continue
            error = None
            if not user.email:
                error = "the account has no e-mail address any more"
            else:
                message = await build_message(ctx, session, user, bundle)
        if error is None:
            try:
                await deliver(ctx.settings.smtp_url, message)
            except (aiosmtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.info("mailing bundle %s failed: %s", bundle_id, error)
        async with ctx.db.transaction() as session:
            row = await session.get(Bundle, bundle_id)
            if row is None:
                continue
            row.mail_attempts += 1
            row.mail_error = error
            if error is None:
                row.mail_state = "sent"
            elif row.mail_attempts >= MAX_ATTEMPTS or not user.email:
                row.mail_state = "failed"
            else:
                row.mail_next_attempt_at = now + timedelta(minutes=2 ** (2 * row.mail_attempts))
    return len(ids)
