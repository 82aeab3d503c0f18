"""beamshell.analysis sits at the bottom: the writer and plot processes import it with numpy only."""

import subprocess
import sys

LIST_IMPORTS = """
import sys
import beamshell.analysis
print(" ".join(sorted(name for name in sys.modules)))
"""


def test_analysis_imports_numpy_and_nothing_else_of_beamshell():
    result = subprocess.run(
        [sys.executable, "-c", LIST_IMPORTS], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = result.stdout.split()
    ours = {name for name in loaded if name.startswith("beamshell.")}
    assert ours and all(name.startswith("beamshell.analysis") for name in ours), ours
    outside = {
        name.split(".")[0]
        for name in loaded
        if name.split(".")[0] not in sys.stdlib_module_names and not name.startswith("_")
    }
    assert outside <= {"beamshell", "numpy"}, outside
