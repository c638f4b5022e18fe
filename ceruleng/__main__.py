"""`python -m ceruleng` runs the command line."""

from ceruleng.cli import main

main()
