"""`python -m beamshell.plotting run -s SESSION --config DIR ...`: the plot server process."""

from gevent import monkey

monkey.patch_all(thread=False)

import sys  # noqa: E402

from beamshell.plotting.process import main  # noqa: E402

sys.exit(main())
