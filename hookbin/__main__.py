"""Lets `python -m hookbin` run the command-line interface."""

from hookbin.cli import main

if __name__ == "__main__":
    main()
