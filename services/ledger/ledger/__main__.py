"""`python -m ledger serve|migrate|rebuild|republish|digest`."""

import sys

from revline_service.cli import main

from ledger.main import SPEC

sys.exit(main(SPEC))
