"""dlexam: derives, checks and typesets the answers to deep-learning exam questions.

The pipeline, one stage a sub-package: ``derivations`` (pure SymPy) -> ``templates`` (all
language text and TikZ) -> ``build`` (document assembly, TeX, cache) -> ``cli``.
"""

__version__ = "0.1.0"
