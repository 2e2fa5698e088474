"""`python -m rlcraving`: the same command line as `rlcraving`."""

from rlcraving.cli import app

app(prog_name="rlcraving")
