"""``python -m tagger``: the ``tagger`` command line without the installed console script."""

from __future__ import annotations

from tagger.cli.main import main

if __name__ == "__main__":
    main()
