"""Discovery: WebFinger, host-meta and NodeInfo.

Mastodon finds an account by WebFinger, then loops back from the actor to
WebFinger again and insists the two agree, so the subject we answer with is
always the canonical ``acct:name@HOST`` whatever form was asked for.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation import nodeinfo, webfinger
from federation.errors import WebFingerError
from slowpub import __version__, urls
from slowpub.social.accounts import count_users, get_user
from slowpub.web.mastodon.entities import MASTODON_API_VERSION
from slowpub.web.responses import ctx_of, json_error

CORS = {"Access-Control-Allow-Origin": "*"}


def _jrd(doc: dict[str, object]) -> Response:
    return Response(json.dumps(doc), media_type="application/jrd+json", headers=CORS)


async def webfinger_route(request: Request) -> Response:
    ctx = ctx_of(request)
    settings = ctx.settings
    resource = request.query_params.get("resource", "").strip()
    if not resource:
        return json_error(400, "the resource parameter is required")
    username: str | None
    if resource.startswith(("https://", "http://")):
        if resource in (urls.instance_actor(settings), settings.base_url, settings.base_url + "/"):
            username = None
        else:
            username = urls.username_from_actor(settings, resource)
            if username is None:
                return json_error(404, "no such account here")
    else:
        try:
            name, host = webfinger.parse_account(resource)
        except WebFingerError as exc:
            return json_error(400, str(exc))
        if host.lower() != settings.host:
            return json_error(404, f"{host} is not this server ({settings.host})")
        instance_name = settings.host.split(":")[0]
        username = None if name.lower() == instance_name else name.lower()
    if username is None:
        actor_uri = urls.instance_actor(settings)
        subject = f"acct:{settings.host.split(':')[0]}@{settings.host}"
        return _jrd(
            webfinger.jrd_for_actor(subject, actor_uri, settings.url("/about"), [actor_uri])
        )
    async with ctx.db.sessions() as session:
        user = await get_user(session, username)
    if user is None:
        return json_error(404, "no such account here")
    actor_uri = urls.actor(settings, user.username)
    profile = urls.profile(settings, user.username)
    doc = webfinger.jrd_for_actor(
        f"acct:{user.username}@{settings.host}", actor_uri, profile, [profile, actor_uri]
    )
    return _jrd(doc)


async def host_meta(request: Request) -> Response:
    settings = ctx_of(request).settings
    return Response(
        webfinger.host_meta_xrd(settings.base_url), media_type="application/xrd+xml", headers=CORS
    )


async def nodeinfo_links(request: Request) -> Response:
    doc = nodeinfo.nodeinfo_links(ctx_of(request).settings.base_url)
    return Response(json.dumps(doc), media_type="application/json", headers=CORS)


async def nodeinfo_route(request: Request) -> Response:
    ctx = ctx_of(request)
    version = request.path_params["version"]
    if version not in ("2.0", "2.1"):
        return json_error(404, "NodeInfo 2.0 and 2.1 are served")
    async with ctx.db.sessions() as session:
        users = await count_users(session)
    doc = nodeinfo.nodeinfo_document(
        version,
        software_name="slowpub",
        software_version=__version__,
        repository=None,
        homepage=None,
        open_registrations=False,
        users_total=users,
        active_month=users,
        active_halfyear=users,
        local_posts=0,
        # software.name stays honest; the API clients speak is Mastodon's, which
        # is how megalodon (Whalebird) and others tell a Mastodon-API server.
        metadata={
            "nodeName": ctx.settings.host,
            "upstream": {"name": "mastodon", "version": MASTODON_API_VERSION},
            "features": ["mastodon_api"],
        },
    )
    profile = f"http://nodeinfo.diaspora.software/ns/schema/{version}#"
    return Response(
        json.dumps(doc), media_type=f'application/json; profile="{profile}"', headers=CORS
    )


routes = [
    Route("/.well-known/webfinger", webfinger_route),
    Route("/.well-known/host-meta", host_meta),
    Route("/.well-known/nodeinfo", nodeinfo_links),
    Route("/nodeinfo/{version}", nodeinfo_route),
]
