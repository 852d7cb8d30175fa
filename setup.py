"""The one C extension, predict's CSV writer and block reader (infer/_csvfast.c, infer/_csvread.c);
everything else is in pyproject.toml.

Optional: where no C compiler builds it, the install goes on and predict reads and writes the same bytes with
pyarrow and numpy (infer/parse.py, infer/csvout.py), slower. `seqinfer info` says which is in use.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("seqinfer.infer._csvfast", ["infer/_csvfast.c", "infer/_csvread.c"],
                             optional=True)])
