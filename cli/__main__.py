"""``python -m cli``: the ``tagger`` command line without the installed console script."""

from __future__ import annotations

from cli.main import main

if __name__ == "__main__":
    main()
