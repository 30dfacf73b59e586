"""`python -m order serve|migrate|rebuild|republish|digest`."""

import sys

from revline_service.cli import main

from order.main import SPEC

sys.exit(main(SPEC))
