"""`python -m billing serve|migrate|rebuild|republish|digest`."""

import sys

from revline_service.cli import main

from billing.main import SPEC

sys.exit(main(SPEC))
