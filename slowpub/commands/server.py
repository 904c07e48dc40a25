"""The long-running commands: ``serve``, ``worker`` and ``quickstart``.

They run without an event loop of their own (uvicorn and the worker set up
theirs), log what they do, and share the uvicorn configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

from slowpub.commands.accounts import prepare_quickstart
from slowpub.commands.common import open_context, require_writable, run
from slowpub.config import Settings, require_secret
from slowpub.context import build_context

QUICKSTART_USER = "alice"
# Seconds an idle keep-alive connection stays open after a response.
KEEP_ALIVE = 5
# Connections (or requests in flight) beyond which new requests get a 503,
# instead of the process running out of file descriptors or memory.
MAX_CONCURRENCY = 1000


def serving_settings(settings: Settings, host: str, port: int) -> Settings:
    """Without SLOWPUB_BASE_URL, the address we listen on is the public one."""
    if os.environ.get("SLOWPUB_BASE_URL"):
        return settings
    public = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    netloc = f"[{public}]" if ":" in public else public
    return settings.with_overrides(base_url=f"http://{netloc}:{port}")


def uvicorn_config(
    app: Any, settings: Settings, host: str, port: int, access_log: bool = False
) -> Any:
    """How uvicorn runs slowpub (proxies trusted from the settings, no server header).

    The limits are for slow or hostile clients: see the README's "Limits".
    """
    import uvicorn

    from slowpub.commands.protocol import BoundedHttpToolsProtocol

    proxies = [str(n) for n in settings.trusted_proxies]
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        # httptools, as uvicorn would pick, with a deadline and a size bound
        # on the request head (h11_max_incomplete_event_size would only bound
        # the h11 parser, which we do not run).
        http=BoundedHttpToolsProtocol.configured(settings.header_timeout),
        timeout_keep_alive=KEEP_ALIVE,
        limit_concurrency=MAX_CONCURRENCY,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        server_header=False,
        log_level="info",
        # A line per request costs a few percent of a busy inbox's CPU, and
        # the reverse proxy logs requests anyway; --access-log turns it on.
        access_log=access_log,
    )


async def check_ready(settings: Settings) -> None:
    """Fail with a ``CommandError`` unless the database can be served (and written)."""
    ctx = await open_context(settings)
    try:
        await require_writable(ctx.db, settings.database_url)
    finally:
        await ctx.close()


def serve(
    settings: Settings,
    host: str,
    port: int,
    banner: Callable[[], None] | None = None,
    access_log: bool = False,
) -> None:
    """Run the web app and the workers until interrupted."""
    import uvicorn

    from slowpub.web.app import create_app

    run(check_ready(settings))
    ctx = build_context(settings)
    app = create_app(ctx, workers=True, owns_context=True)
    if banner is not None:
        banner()
    # Start-up objects live for the whole process: keep them out of the
    # garbage collector's full passes (measurable pauses during a fan-out).
    gc.freeze()
    uvicorn.Server(uvicorn_config(app, settings, host, port, access_log)).run()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    require_secret(settings)
    serve(
        serving_settings(settings, args.host, args.port),
        args.host,
        args.port,
        access_log=args.access_log,
    )


def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    from slowpub.workers import run_workers

    require_secret(settings)

    async def main() -> None:
        ctx = await open_context(settings)
        try:
            await require_writable(ctx.db, settings.database_url)
        except BaseException:
            await ctx.close()
            raise
        gc.freeze()  # see serve()
        task = asyncio.create_task(run_workers(ctx))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        logging.getLogger("slowpub").info("worker started (pid %s)", os.getpid())
        try:
            await task
        except asyncio.CancelledError:
            pass
        finally:
            await ctx.close()

    run(main())


def cmd_quickstart(args: argparse.Namespace, settings: Settings) -> None:
    """Everything a first run needs: data dir, database, one account; then serve."""
    settings = serving_settings(settings, args.host, args.port)
    password = run(prepare_quickstart(settings, args.user))

    def banner() -> None:
        print(
            "\nslowpub is running.\n"
            f"  address:  {settings.base_url}\n"
            f"  handle:   @{args.user}@{settings.host}\n"
            f"  password: {password}\n"
            f"  data:     {settings.data_dir}\n",
            flush=True,
        )

    serve(settings, args.host, args.port, banner)
