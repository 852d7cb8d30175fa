"""The one C extension, predict's CSV writer (infer/_csvfast.c); everything else is in pyproject.toml.

Optional: where no C compiler builds it, the install goes on and predict writes the same bytes with numpy
(infer/csvout.py), slower. `seqinfer info` says which writer is in use.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("seqinfer.infer._csvfast", ["infer/_csvfast.c"], optional=True)])
