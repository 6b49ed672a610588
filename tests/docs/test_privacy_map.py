"""docs/PRIVACY.md maps every place order and reviewer data go, with retention and key (issue 11, finding 5),
and its figures are the stack's."""

from __future__ import annotations

from pathlib import Path

from infra.config import DEAD_LETTER_RETENTION_DAYS, MARKER_TTL_MARGIN_DAYS

PRIVACY = Path(__file__).resolve().parents[2] / "docs" / "PRIVACY.md"
# The places issue 11 names (logs, history, archive, DLQs, traces, tables, e-mails): a word each row must hold.
PLACES = ("execution history", "execution log", "function logs", "x-ray traces", "event archive",
          "dead-letter queues", "payments table", "audit table", "e-mails")  # fmt: skip


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in PRIVACY.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and not set(cells[0]) <= {"-"} and cells[0] != "where":
            rows[cells[0].lower()] = cells[1:]
    return rows


def test_every_place_has_a_row_with_what_how_long_and_which_key() -> None:
    rows = _rows()
    for place in PLACES:
        found = [row for where, row in rows.items() if place in where]
        assert found, f"docs/PRIVACY.md has no row for {place}"
        assert all(all(cell for cell in row) for row in found), place


def test_the_retentions_it_gives_are_the_stacks() -> None:
    rows = _rows()
    (dead_letters,) = [row for where, row in rows.items() if "dead-letter queues" in where and "subscriber" in where]
    assert dead_letters[1] == f"{DEAD_LETTER_RETENTION_DAYS} days"
    assert f"archive retention + {MARKER_TTL_MARGIN_DAYS} days" in rows["notifications table"][1]
