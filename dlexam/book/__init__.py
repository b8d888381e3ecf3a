"""The answer book: the exam file's questions derived, rendered through the templates and
compiled (:mod:`~dlexam.book.build`), its layout read from the exam file's ``[book]`` tables
(:mod:`~dlexam.book.sections`), and the unchanged rebuild answered from the cache before SymPy
is imported (:mod:`~dlexam.book.fastpath`)."""
