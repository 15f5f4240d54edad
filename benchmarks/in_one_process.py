"""``imbreport`` with every stage in this one process, for ``profile.py``.

The command line normally hands the figures, the HTML and the PDF to a forked render process
(``imbreport/render_process.py``), which a profiler of this process would not see.
"""

import sys

import imbreport.cli as cli

cli.RENDER_PROCESS_MAX_INPUT_BYTES = -1  # no render process: draw and lay out here
sys.argv[0] = "imbreport"
cli.main()
