"""Document assembly (PyLaTeX), TeX runs, and the build cache under ``out/``."""
