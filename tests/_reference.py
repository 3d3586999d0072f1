"""Slow, obviously-correct numpy references for skreg's kernels.

Each kernel in ``skreg/**/_kernels.py`` is compared against a function here
(stumpy's ``naive.py`` habit): plain loops and ``numpy.linalg``, written for
clarity, never for speed.  Sections, one per subpackage, follow.
"""

import numpy as np  # noqa: F401
