"""`python -m contract serve|migrate|rebuild|republish|digest`."""

import sys

from revline_service.cli import main

from contract.main import SPEC

sys.exit(main(SPEC))
