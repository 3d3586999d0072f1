"""``python -m skreg``: the tour (see :mod:`skreg._tour`);
``python -m skreg compile``: fill the kernel cache (see :mod:`skreg._compile`)."""

import sys


def _main(argv):
    if argv[:1] == ["compile"]:
        from ._compile import main

        return main(argv[1:])
    from ._tour import main

    return main(argv)


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
