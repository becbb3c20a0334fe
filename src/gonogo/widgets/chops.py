"""Send the terminal only the changed cells of a partial update.

Textual writes a partial update per line from the left edge of each widget touched
(its "chop") to the end of the changed span: a chart cell that changed at the right
of a 56-cell line re-sends the line's first 50 cells too. ``CroppedChops`` starts each
write at the span instead, so an update's bytes follow what changed (``LineView``
refreshes changed spans only). Built from Textual's own update; when that update
does not have the shape this expects (another Textual version), Textual's is used.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.control import Control
from textual._compositor import ChopsUpdate


class CroppedChops(ChopsUpdate):
    def render_segments(self, console: Console) -> str:
        sequences: list[str] = []
        append = sequences.append
        move_to = Control.move_to
        last_y = self.spans[-1][0]
        for y, x1, x2 in self.spans:
            for end, (x, strip) in zip(self.chop_ends[y], self.chops[y].items(), strict=False):
                if strip is None or x >= x2 or end <= x1:
                    continue
                start = max(x, x1)
                append(move_to(start, y).segment.text)
                append(strip.crop(start - x, min(end, x2) - x).render(console))
            if y != last_y:
                append("\n")
        return "".join(sequences)


def cropped(update: Any) -> Any:
    """``update`` as a ``CroppedChops`` when it is a partial update of known shape."""
    if type(update) is ChopsUpdate and all(
        hasattr(update, name) for name in ("chops", "spans", "chop_ends")
    ):
        return CroppedChops(update.chops, update.spans, update.chop_ends)
    return update
