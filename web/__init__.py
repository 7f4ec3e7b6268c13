"""kaigi's web face (WEB.md): FastAPI, Jinja2 pages, htmx vendored; `create_app(kaigi)`."""

from web.app import create_app

__all__ = ["create_app"]
