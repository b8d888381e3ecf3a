"""``dlexam serve``: the web pages and the JSON API, a driver over the same engine as the
command line (see app.py)."""
