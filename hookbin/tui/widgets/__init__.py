"""The TUI's widgets, one module each: the capture list, the detail pane, the header, the JSON tree."""
