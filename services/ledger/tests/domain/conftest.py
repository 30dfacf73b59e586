"""Domain tests need no fixtures; this only lets them import ledger_examples.py beside them."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
