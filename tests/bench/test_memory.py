"""The process-tree memory sampler sees memory held by a child process, not only by this one."""

import subprocess
import sys
import time

from warmstart.bench.memory import TreeMemory, tree_pss_gb


def test_a_childs_memory_counts_in_the_tree():
    alone = tree_pss_gb()
    assert alone > 0.005  # this Python process with numpy loaded
    code = "import time, numpy as np; a = np.ones(40_000_000); print('ready', flush=True); time.sleep(30)"
    with TreeMemory(interval=0.1) as memory:
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            time.sleep(0.3)
            during = tree_pss_gb()
        finally:
            child.kill()
            child.wait()
    assert during > alone + 0.3  # 320 MB of ones in the child
    assert memory.peak_gb is not None and memory.peak_gb >= during - 0.05
