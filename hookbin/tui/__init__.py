"""hookbin's Textual terminal UI: the only package that imports Textual."""
