"""`python -m beamshell.writer run|start|stop|status -s SESSION [--config DIR]`."""

import sys

from beamshell.writer.process import main

sys.exit(main())
