"""Data loaders: knowledge-tracing responses (ASSISTments 2009, generic CSV/Parquet), MovieLens ratings."""

from warmstart.data.assistments import load_assistments2009
from warmstart.data.kt import KTData, load_kt, save_kt_csv
from warmstart.data.movielens import load_movielens

__all__ = ["KTData", "load_assistments2009", "load_kt", "load_movielens", "save_kt_csv"]
