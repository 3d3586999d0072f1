"""``python -m skreg``: the tour (see :mod:`skreg._tour`)."""

from ._tour import main

if __name__ == "__main__":
    raise SystemExit(main())
