"""``tagger serve``: an HTTP API over a loaded tagger, with micro-batching and a page that shows the entities.

``create_app(tagger_or_path, ...)`` returns the FastAPI application (needs the ``serve`` extra:
``pip install tagger[serve]``); ``tagger.serve.batcher`` (the micro-batcher) needs only the standard
library, so the application is imported on first use rather than with this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tagger.serve.app import create_app
    from tagger.serve.limits import Limits

__all__ = ["Limits", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from tagger.serve.app import create_app

        return create_app
    if name == "Limits":
        from tagger.serve.limits import Limits

        return Limits
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
