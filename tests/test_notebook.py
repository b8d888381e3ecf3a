"""`from dlexam import solve, check` in a real notebook, executed in an IPython kernel."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient


def test_results_and_reports_display_as_typeset_math() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("from dlexam import solve, check"),
        nbformat.v4.new_code_cell('solve("rnn-forward", {"x": [2, 3]})'),
        nbformat.v4.new_code_cell('check("rnn-forward", {}, {"y[1]": "1.4588", '
                                  '"y[2]": "2.6704"})'),
        nbformat.v4.new_code_cell('solve("rnn-forward", {"W": [1]})'),
    ]
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   allow_errors=True).execute()
    solved = notebook.cells[1].outputs[0]["data"]
    assert {"text/html", "text/markdown", "text/latex"} <= set(solved)
    html = solved["text/html"]
    assert "<ol>" in html and r"\tanh" in html and "$$" in html
    assert solved["text/latex"].startswith(r"$$\begin{aligned}")
    assert "1.4588" in html  # y_1 among the answers (NumPy: V tanh(U x_1 + b) + c = 1.45878)
    checked = notebook.cells[2].outputs[0]["data"]["text/html"]
    assert "1 of 2 right" in checked.replace("$", "")
    assert "row convention" in checked and "$$a_t" in checked
    error = notebook.cells[3].outputs[0]
    assert error["output_type"] == "error" and error["ename"] == "InputError"
