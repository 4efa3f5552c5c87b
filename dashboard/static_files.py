"""The dashboard's own files (script, styles, the chart library), served from memory: each gzipped once at
start-up, named in pages with its content's hash (`?v=`), so a browser keeps it for a year and fetches it
again only when chattrack is upgraded."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

FOLDER = Path(__file__).with_name("static")
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    gzipped: bytes
    content_type: str
    version: str  # the first 12 hex digits of the content's SHA-256


class StaticFiles:
    def __init__(self, folder: Path = FOLDER) -> None:
        self.files: dict[str, StaticFile] = {}
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            body = path.read_bytes()
            kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            self.files[path.name] = StaticFile(
                body=body,
                gzipped=gzip.compress(body, compresslevel=9, mtime=0),
                content_type=kind,
                version=hashlib.sha256(body).hexdigest()[:12],
            )

    def url(self, name: str) -> str:
        """The URL a page names the file by (KeyError for a file that does not exist: a template's typo)."""
        return f"/dashboard/static/{name}?v={self.files[name].version}"

    async def serve(self, request: web.Request) -> web.Response:
        found = self.files.get(request.match_info["name"])
        if found is None:
            return web.json_response({"error": "no such file"}, status=404)
        etag = f'"{found.version}"'
        headers = {
            "ETag": etag,
            "Cache-Control": "public, max-age=31536000, immutable"
            if request.query.get("v") == found.version
            else "no-cache",
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=found.gzipped, content_type=found.content_type, headers=headers)
        return web.Response(body=found.body, content_type=found.content_type, headers=headers)
