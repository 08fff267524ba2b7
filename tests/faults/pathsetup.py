"""Puts tests/integration (the harness this suite reuses as a library) on sys.path."""

import os
import sys

INTEGRATION = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "integration")
if INTEGRATION not in sys.path:
    sys.path.insert(0, INTEGRATION)
