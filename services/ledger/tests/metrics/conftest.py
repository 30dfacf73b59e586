"""Metrics domain tests need no fixtures; this only lets them import metrics_examples.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
