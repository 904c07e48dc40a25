"""Reading bundles: the owner's archive and bundle pages, and the secret Atom feed."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.bundles import view as bundle_view
from slowpub.bundles.mail import bundle_title
from slowpub.ids import parse_id
from slowpub.storage.models import Bundle, User
from slowpub.templating import render
from slowpub.web.responses import ctx_of, page
from slowpub.web.sessions import csrf_token, current_user, login_redirect

ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 30


async def archive(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return login_redirect(request)
    ctx = ctx_of(request)
    async with ctx.db.sessions() as session:
        query = select(Bundle).where(Bundle.user_id == user.id).order_by(Bundle.sealed_at.desc())
        bundles = list((await session.execute(query)).scalars())
    feed_url = ctx.settings.url(f"/feeds/{user.feed_token}.atom") if user.feed_token else None
    next_seal = user.next_seal_at.strftime("%Y-%m-%d %H:%M UTC") if user.next_seal_at else None
    return page(
        request,
        "bundles.html",
        {
            "bundles": bundles,
            "username": user.username,
            "csrf": csrf_token(request),
            "feed_url": feed_url,
            "next_seal": next_seal,
        },
    )


async def show(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return login_redirect(request)
    bundle_id = parse_id(request.path_params["bundle_id"])
    async with ctx_of(request).db.sessions() as session:
        bundle = await session.get(Bundle, bundle_id) if bundle_id is not None else None
        if bundle is None or bundle.user_id != user.id:
            # Someone else's bundle does not exist, as far as you can tell.
            return page(request, "not_found.html", {}, status=404)
        view = await bundle_view.load(session, user, bundle)
    return page(
        request,
        "bundle.html",
        {"view": view, "title": bundle_title(bundle), "csrf": csrf_token(request)},
    )


async def feed(request: Request) -> Response:
    ctx = ctx_of(request)
    token = request.path_params["token"]
    async with ctx.db.sessions() as session:
        user = (
            (
                await session.execute(select(User).where(User.feed_token == token))
            ).scalar_one_or_none()
            if token
            else None
        )
        if user is None:
            return Response("No such feed.", status_code=404, media_type="text/plain")
        query = (
            select(Bundle)
            .where(Bundle.user_id == user.id)
            .order_by(Bundle.sealed_at.desc())
            .limit(FEED_ENTRIES)
        )
        bundles = list((await session.execute(query)).scalars())
        views = [(b, await bundle_view.load(session, user, b)) for b in bundles]
    root = ET.Element("feed", xmlns=ATOM)
    ET.SubElement(root, "title").text = f"slowpub bundles of @{user.username}@{ctx.settings.host}"
    ET.SubElement(root, "id").text = ctx.settings.url(f"/users/{user.username}#bundles")
    updated = bundles[0].sealed_at if bundles else user.created_at
    ET.SubElement(root, "updated").text = updated.isoformat()
    author = ET.SubElement(root, "author")
    ET.SubElement(author, "name").text = "slowpub"
    for bundle, view in views:
        entry = ET.SubElement(root, "entry")
        ET.SubElement(entry, "title").text = bundle_title(bundle)
        ET.SubElement(entry, "id").text = ctx.settings.url(f"/bundles/{bundle.id}")
        ET.SubElement(entry, "updated").text = bundle.sealed_at.isoformat()
        ET.SubElement(entry, "link", href=ctx.settings.url(f"/bundles/{bundle.id}"))
        content = ET.SubElement(entry, "content", type="html")
        content.text = render("_bundle.html", view=view)
    body = ET.tostring(root, encoding="unicode", xml_declaration=True)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


routes = [
    Route("/bundles", archive),
    Route("/bundles/{bundle_id}", show),
    Route("/feeds/{token}.atom", feed),
]
