"""The footer: the focused screen's keys on one line, as one widget.

Textual's ``Footer`` mounts a widget per key (sixteen on the dashboard) and mounts
them all again whenever the focus moves; styling and laying those out was a third
of the time to the dashboard's first frame. ``KeyBar`` draws the same line — each
shown binding of the focused chain, its key then its description, dim when
disabled — as one widget, and a click on a key presses it, as in ``Footer``.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.widget import Widget


class KeyBar(Widget):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keybar--key", "keybar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom; height: 1; text-wrap: nowrap; text-overflow: clip;
        color: $footer-foreground; background: $footer-background;
    }
    KeyBar > .keybar--key {
        color: $footer-key-foreground; background: $footer-key-background; text-style: bold;
    }
    KeyBar > .keybar--description {
        color: $footer-description-foreground; background: $footer-description-background;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str, bool]] = []  # (start, end, key, enabled)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Any) -> None:
        if screen is self.screen:
            self.refresh()

    def _shown(self) -> list[tuple[str, str, str, bool, str]]:
        """(key, shown key, description, enabled, action) of each shown binding, one per
        action, in the order ``Footer`` shows them."""
        seen: set[str] = set()
        out = []
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            out.append((binding.key, self.app.get_key_display(binding), binding.description,
                        enabled, binding.action))
        return out

    def fitting(self, width: int) -> list[tuple[str, str, str, bool]]:
        """The keys that fit in ``width`` cells, in order. When some do not, the help key
        ends the line as ``? more`` (help lists every key) and the rest are left out."""
        keys = self._shown()

        def cells(item: tuple[str, str, str, bool, str]) -> int:
            return len(item[1]) + (len(item[2]) + 1 if item[2] else 0) + 1

        if sum(cells(k) for k in keys) - 1 <= width:
            return [k[:4] for k in keys]
        helps = [k for k in keys if k[4] in ("help", "app.help")]
        more = [(k[0], k[1], "more", k[3], k[4]) for k in helps[:1]]
        room = width - sum(cells(k) for k in more)
        out = []
        for item in keys:
            if item in helps:
                continue
            if cells(item) > room:
                break
            out.append(item)
            room -= cells(item)
        return [k[:4] for k in out + more]

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        text_style = self.get_component_rich_style("keybar--description")
        line = Text(no_wrap=True, overflow="crop")
        self._spans = []
        for key, shown, description, enabled in self.fitting(self.size.width):
            start = line.cell_len
            line.append(shown, key_style)
            if description:
                line.append(" " + description, text_style)
            if not enabled:
                line.stylize("dim", start)
            self._spans.append((start, line.cell_len, key, enabled))
            line.append(" ")
        return line

    def on_mouse_down(self, event: events.MouseDown) -> None:
        for start, end, key, enabled in self._spans:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return
