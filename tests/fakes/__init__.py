"""Local stand-ins for outside services, served over real sockets."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def serve_app(app: web.Application, **runner_options: Any) -> tuple[web.AppRunner, str]:
    """Serve `app` on a free local port (the OS picks it); its runner, to clean up, and its base URL."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"
