"""Grading a class: ``key.json`` and the students' CSV -> scores, named mistakes, a report."""
