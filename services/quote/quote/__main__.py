"""`python -m quote serve|migrate|rebuild|republish|digest`."""

import sys

from revline_service.cli import main

from quote.main import SPEC

sys.exit(main(SPEC))
