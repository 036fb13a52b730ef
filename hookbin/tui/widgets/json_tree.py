"""JsonTree: a large JSON document as a tree whose branches are built only when opened."""

from __future__ import annotations

import itertools
from typing import Any

from rich.text import Text
from textual import on
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from hookbin.textsafe import safe
from hookbin.tui import render

TREE_CHILDREN = 500
"""Most children listed under one tree branch."""


class JsonTree(Tree[Any]):
    """A large JSON document as a tree whose branches are filled in only when opened."""

    DEFAULT_CSS = """
    JsonTree { height: 1fr; }
    """

    def show(self, document: Any, title: str) -> None:
        """Show `document` (a parsed JSON object or array) under a root labelled `title`."""
        self.clear()
        self.root.set_label(Text(safe(title), style="bold"))
        self.root.data = document
        self._fill(self.root)
        self.root.expand()

    def _fill(self, node: TreeNode[Any]) -> None:
        value: Any = node.data
        # Only the first children are listed: a branch may hold hundreds of thousands.
        entries = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in itertools.islice(entries, TREE_CHILDREN):
            label = Text(safe(str(key) if isinstance(value, dict) else f"[{key}]", limit=80), style="cyan")
            if isinstance(child, (dict, list)) and child:
                size = f"{{{len(child)}}}" if isinstance(child, dict) else f"[{len(child)}]"
                label.append(f" {size}", style="dim")
                node.add(label, data=child)
            else:
                label.append(" = ")
                label.append(render.json_scalar(child))
                node.add_leaf(label)
        if len(value) > TREE_CHILDREN:
            node.add_leaf(Text(f"… {len(value) - TREE_CHILDREN} more (see hookbin show --json)", style="dim"))

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[Any]) -> None:
        if not event.node.children and event.node.data is not None:
            self._fill(event.node)
