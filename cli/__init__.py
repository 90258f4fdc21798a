"""The ``tagger`` command line (click); the group is ``cli.main:cli``, also run by ``python -m cli``."""
