"""Click commands that live outside `hookbin.cli`; `cli.py` registers them on its group."""
