"""kaigi's web face (WEB.md): FastAPI, Jinja2 pages, htmx vendored; `create_app(kaigi)`."""

__kaigi__ = "web"  # cli.py checks this mark: the top-level `web` is kaigi's own

from web.app import create_app

__all__ = ["create_app"]
