"""The Deliveries screen: one row per delivery, drawn as one line in its worker thread, its
cells under the column titles whatever the sender's text."""

from __future__ import annotations

from hookbin.deliveries import group_deliveries
from hookbin.tui.screens import DELIVERY_COLUMNS, DeliveriesScreen, delivery_lines
from tests.factories import tcapture
from tests.test_tui import make_app, settle
from tests.test_tui import store as store  # the fixture


def _deliveries():
    captures = [
        tcapture(seq=1, status=503, attempt=1, delivery_key="sha256:1696daea75797a7e", run=1),
        tcapture(seq=2, status=200, attempt=2, delivery_key="sha256:1696daea75797a7e", run=1),
        tcapture(
            seq=3,
            path="/other",
            headers=(("User-Agent", "日本語 [bold]x[/] \x1b[2J"),),
            delivery_key="sha256:ffff000011112222",
            attempt=1,
            run=1,
        ),
    ]
    return captures, group_deliveries(captures)


def test_each_delivery_is_one_line_its_cells_under_their_titles():
    _, deliveries = _deliveries()
    header, lines = delivery_lines(deliveries)
    assert [line.plain.split()[0] for line in lines] == ["1696daea", "ffff0000"]
    first, second = lines
    assert "503 200" in first.plain and "accepted #2" in first.plain
    assert "\x1b" not in second.plain and "\\x1b[2J" in second.plain  # made safe, shown as an escape
    # Every column starts where its title does, however wide the sender's characters are.
    for title in ("attempts", "outcome", "sender"):
        column = header.plain.index(title)
        for line in lines:
            assert line.plain[column - 2 : column] == "  " and line.plain[column] != " "
    assert header.plain.split("  ")[0] == DELIVERY_COLUMNS[0]
    assert [span.style for span in first.spans if "green" in str(span.style)]  # accepted stays green


async def test_the_screen_lists_the_run_s_deliveries_as_lines(store, tmp_path):
    captures, _ = _deliveries()
    for capture in captures:
        store.add(capture)
    app = make_app(store, tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("D")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DeliveriesScreen)
        table = screen.query_one("DataTable")
        assert table.row_count == 2 and len(table.columns) == 1
        assert "accepted #2" in table.get_row_at(0)[0].plain
        assert table.cursor_row == 1  # the newest
