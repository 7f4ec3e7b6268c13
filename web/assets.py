"""The vendored CSS and scripts under `/static`, at addresses that name their content.

A page links `/static/kaigi.css?v=<digest>`: the digest is the file's sha256 (16 hex), so the
address changes whenever the file does. Before, the files were served with only `ETag` and
`Last-Modified`, and a browser may then keep a copy by its own guess (a tenth of the file's age):
after an upgrade a station's browser could go on running the old `kaigi.js` against the new
pages for hours. Now a page's address for a file is that file's content, kept for a year without
asking (`Cache-Control: public, max-age=31536000, immutable`), and an upgrade's new content has a
new address. Any other address of a file (an old page still open after an upgrade, a bookmark, a
hand-typed `/static/kaigi.css`) gets it with `no-cache`: the browser asks each time.
"""

import hashlib
from pathlib import Path
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

FOREVER = "public, max-age=31536000, immutable"
ASK_AGAIN = "no-cache"


class Assets(StaticFiles):
    """`StaticFiles` that knows each file's digest and says how long a copy may be kept."""

    def __init__(self, directory: Path, prefix: str = "/static") -> None:
        super().__init__(directory=directory)
        self.root = Path(directory)
        self.prefix = prefix
        self._digests: dict[str, str] = {}

    def digest(self, name: str) -> str:
        """The file's content digest, read once per process (the files ship with the code)."""
        found = self._digests.get(name)
        if found is None:
            found = hashlib.sha256((self.root / name).read_bytes()).hexdigest()[:16]
            self._digests[name] = found
        return found

    def url(self, name: str) -> str:
        """The address a page links: `/static/<name>?v=<digest>`."""
        return f"{self.prefix}/{name}?v={self.digest(name)}"

    async def get_response(self, path: str, scope: Any) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            asked = QueryParams(scope.get("query_string", b"")).get("v")
            try:
                current = self.digest(path)
            except OSError:
                current = None
            response.headers["Cache-Control"] = FOREVER if asked is not None and asked == current else ASK_AGAIN
        return response
