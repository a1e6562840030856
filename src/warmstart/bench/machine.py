"""What machine a benchmark ran on, written into every benchmark JSON."""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: v for k, v in lib.items() if k in ("internal_api", "version", "num_threads", "architecture")}
            for lib in threadpool_info()
        ]
    except (ImportError, OSError, RuntimeError) as exc:  # never fail a benchmark on BLAS introspection
        info["blas"] = f"unavailable: {exc}"
    return info
