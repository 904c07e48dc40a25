"""The measuring half of ``bundle.py``, in its own process (so its peak RSS is its own)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from _bundle_setup import USERNAME, settings_for  # noqa: E402
from sqlalchemy import delete, insert, select, update  # noqa: E402
from sqlalchemy.orm import aliased  # noqa: E402

from slowpub import __version__  # noqa: E402
from slowpub.bundles import view as bundle_view  # noqa: E402
from slowpub.bundles.mail import bundle_title  # noqa: E402
from slowpub.bundles.sealing import seal_now  # noqa: E402
from slowpub.context import Context, build_context  # noqa: E402
from slowpub.storage.models import Actor, Bundle, InboundItem, Post, RemotePost, User  # noqa: E402
from slowpub.web.responses import templates  # noqa: E402


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    value = await fn()
    return time.perf_counter() - start, value


async def reset_seal(ctx: Context, bundle_id: int) -> None:
    async with ctx.db.transaction() as session:
        await session.execute(
            update(InboundItem).where(InboundItem.bundle_id == bundle_id).values(bundle_id=None)
        )
        await session.execute(delete(Bundle).where(Bundle.id == bundle_id))


def page_html(view: bundle_view.BundleView, bundle: Bundle, ctx: Context) -> str:
    # What web/reading.show hands to page(): the base context, then its own.
    return templates.get_template("bundle.html").render(
        {
            "version": __version__,
            "host": ctx.settings.host,
            "base_url": ctx.settings.base_url,
            "view": view,
            "title": bundle_title(bundle),
            "csrf": "x" * 43,
        }
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile")
    args = parser.parse_args()
    ctx = build_context(settings_for(args.database_url, Path(args.data_dir)))
    results: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        results.setdefault(name, []).append(seconds)

    try:
        async with ctx.db.sessions() as session:
            user = (
                await session.execute(select(User).where(User.username == USERNAME))
            ).scalar_one()
        rss_start = maxrss_mb()

        # --- seal, repeated (reset between runs, not timed)
        bundle = None
        for i in range(args.repeat):
            seconds, bundle = await timed(lambda: seal_now(ctx, USERNAME))
            note("seal (seal_now)", seconds)
            assert bundle is not None
            if i < args.repeat - 1:
                await reset_seal(ctx, bundle.id)
        assert bundle is not None
        async with ctx.db.sessions() as session:
            sealed = len(
                (
                    await session.execute(
                        select(InboundItem.id).where(InboundItem.bundle_id == bundle.id)
                    )
                ).all()
            )

        # Floor for sealing: one bare UPDATE moving the same rows to another bundle.
        async with ctx.db.transaction() as session:
            other = (
                await session.execute(
                    insert(Bundle)
                    .values(
                        user_id=user.id,
                        sealed_at=bundle.sealed_at,
                        local_date="1999-01-01",
                        mail_state="none",
                        mail_attempts=0,
                    )
                    .returning(Bundle.id)
                )
            ).scalar_one()
        for _ in range(args.repeat):

            async def bare_update(src: int, dst: int) -> None:
                async with ctx.db.transaction() as session:
                    await session.execute(
                        update(InboundItem)
                        .where(InboundItem.user_id == user.id, InboundItem.bundle_id == src)
                        .values(bundle_id=dst)
                    )

            seconds, _ = await timed(lambda: bare_update(bundle.id, other))
            note("  floor: bare UPDATE", seconds)
            await bare_update(other, bundle.id)
        async with ctx.db.transaction() as session:
            await session.execute(delete(Bundle).where(Bundle.id == other))

        # --- load
        async def load() -> bundle_view.BundleView:
            async with ctx.db.sessions() as session:
                b = await session.get(Bundle, bundle.id)
                return await bundle_view.load(session, user, b)

        async def core_join() -> int:
            author = aliased(Actor)
            query = (
                select(
                    InboundItem.__table__,
                    Actor.__table__,
                    RemotePost.__table__,
                    author.__table__,
                    Post.__table__,
                )
                .select_from(InboundItem.__table__)
                .join(Actor.__table__, Actor.id == InboundItem.actor_id)
                .outerjoin(RemotePost.__table__, RemotePost.id == InboundItem.remote_post_id)
                .outerjoin(author, author.id == RemotePost.author_id)
                .outerjoin(Post.__table__, Post.id == InboundItem.local_post_id)
                .where(InboundItem.user_id == user.id, InboundItem.bundle_id == bundle.id)
                .order_by(InboundItem.id)
            )
            async with ctx.db.engine.connect() as conn:
                return len((await conn.execute(query)).all())

        view = None
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
        for _ in range(args.repeat):
            seconds, rows = await timed(core_join)
            note("  floor: Core join, tuples", seconds)
            if profiler:
                profiler.enable()
            seconds, view = await timed(load)
            note("load (bundle_view.load)", seconds)
            gc.collect()
            start = time.perf_counter()
            html = page_html(view, bundle, ctx)
            note("page (bundle.html)", time.perf_counter() - start)
            start = time.perf_counter()
            text = bundle_view.as_text(view, bundle_title(bundle))
            note("text (as_text)", time.perf_counter() - start)
            start = time.perf_counter()
            doc = json.dumps(bundle_view.as_json(view))
            note("json (as_json + dumps)", time.perf_counter() - start)
            if profiler:
                profiler.disable()
        if profiler:
            profiler.dump_stats(args.profile)
        assert view is not None
        rss_after = maxrss_mb()

        # --- memory: tracemalloc over load + page (its own pass)
        view = None
        gc.collect()
        tracemalloc.start()
        view = await load()
        after_load = tracemalloc.get_traced_memory()
        html = page_html(view, bundle, ctx)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        posts = sum(len(t.posts) for t in view.for_you) + sum(
            len(t.posts) for _, ts in view.by_person for t in ts
        )
        threads = len(view.for_you) + sum(len(ts) for _, ts in view.by_person)
        print(
            f"bundle {bundle.id}: {sealed} items sealed; view: {posts} posts in {threads} threads "
            f"({len(view.for_you)} for you, {len(view.by_person)} people), {len(view.shared)} "
            f"shared, {len(view.followers)} followers, {len(view.requests)} requests, "
            f"{len(view.moves)} moves, {len(view.own_posts)} own posts; Core join {rows} rows"
        )
        print(
            f"sizes: page {len(html.encode()) / 1e6:.2f} MB, "
            f"text {len(text.encode()) / 1e6:.2f} MB, json {len(doc.encode()) / 1e6:.2f} MB"
        )
        print(f"{'':34} {'best':>10} {'first':>10}")
        for name, values in results.items():
            unit, scale = ("s", 1) if name.startswith(("seal", "  floor: bare")) else ("ms", 1000)
            print(f"  {name:32} {min(values) * scale:9.3f}{unit:<2}{values[0] * scale:9.3f}{unit}")
        load_best = min(results["load (bundle_view.load)"])
        floor = min(results["  floor: Core join, tuples"])
        seal_best = min(results["seal (seal_now)"])
        upd = min(results["  floor: bare UPDATE"])
        page_total = (load_best + min(results["page (bundle.html)"])) * 1000
        print(f"  load + page (what GET /bundles/ID costs) {page_total:9.1f} ms")
        print(
            f"  load / Core-join floor: {load_best / floor:5.1f}x; "
            f"seal / bare-UPDATE floor: {seal_best / upd:5.1f}x"
        )
        print(
            f"memory: tracemalloc peak over load + page {peak / 1e6:.1f} MB "
            f"(view alive after load {after_load[0] / 1e6:.1f} MB, peak during load "
            f"{after_load[1] / 1e6:.1f} MB); ru_maxrss {rss_start:.0f} MB at start -> "
            f"{rss_after:.0f} MB after the timed passes"
        )
    finally:
        await ctx.close()


if __name__ == "__main__":
    asyncio.run(main())
