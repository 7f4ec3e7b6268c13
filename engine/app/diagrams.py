"""The item path drawn: Mermaid text (through the state machine library), plain text, and SVG.

Pure: reads a `Rulebook`, returns text. `mermaid` uses transitions' GraphMachine, imported
when it is called; `svg` lays the path out itself (no Graphviz on an intranet server).
"""

from workflows import Rulebook, TransitionDef
from workflows.compare import needs as _needs


def _edge_label(book: Rulebook, t: TransitionDef, lang: str) -> str:
    """`refer [in a held HQ council]` or `skip [implementation manager]`; no `;`, `:` or `"`,
    which Mermaid would read as syntax."""
    label = f"{t.trigger} [{_needs(book, t, lang, edge=True)}]"
    return label.replace(";", ",").replace(":", " ").replace('"', "'")


def mermaid(book: Rulebook, lang: str = "en") -> str:
    """The item path of `book` as a Mermaid `stateDiagram-v2` (hq and station items together).

    Edges are labelled with their trigger and, in brackets, the meeting or roles they need;
    final states lead to `[*]`. The title, which transitions writes as front matter, is kept
    as a `%%` comment so the text starts with `stateDiagram-v2`.
    """
    from engine.core.machine import draw_mermaid  # the only importer of transitions

    edges: dict[tuple[str, str, str], dict[str, str]] = {}
    for t in book.transitions:
        label = _edge_label(book, t, lang)
        edges.setdefault((t.source, t.dest, label),
                         {"trigger": t.trigger, "source": t.source, "dest": t.dest, "label": label})
    title = f"{book.title.in_(lang)} ({book.version})"
    lines = draw_mermaid(list(book.states), list(edges.values()), book.initial, title).splitlines()
    if lines and lines[0] == "---":  # front matter: ---, title, ---
        lines = lines[lines.index("---", 1) + 1:]
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped == f"Class {book.initial} s_active":  # a rulebook has no current state
            line = line.replace("s_active", "s_default")
        key = stripped.removeprefix("state \"").partition("\"")[0]
        if stripped.startswith("state \"") and key in book.states:
            name = book.states[key].title.in_(lang).replace('"', "'")
            line = line.replace(f'state "{key}" as', f'state "{name}" as', 1)
        out.append(line)
        if stripped == "stateDiagram-v2":
            out.append(f"  %% {title}")
    out += [f"  {key} --> [*]" for key, s in book.states.items() if s.final]
    return "\n".join(out)


_ITEMS = {"ja": "{title}の案件 ({key})", "en": "items of the {title} ({key})"}
_NEEDS = {"ja": "要: ", "en": "needs "}


def text_diagram(book: Rulebook, lang: str = "en") -> str:
    """The item path as text: one line per transition, grouped by the kind of item.

        items of the promotion HQ (hq)
          filed --refer--> pre_review  (needs a held staff meeting)
    """
    words = "ja" if lang == "ja" else "en"
    lines: list[str] = []
    for kind in dict.fromkeys(t.items for t in book.transitions):
        if lines:
            lines.append("")
        title = book.body_kinds[kind].title.in_(lang) if kind in book.body_kinds else kind
        lines.append(_ITEMS[words].format(title=title, key=kind))
        for t in book.transitions:
            if t.items == kind:
                lines.append(f"  {t.source} --{t.trigger}--> {t.dest}  ({_NEEDS[words]}{_needs(book, t, lang)})")
    return "\n".join(lines)


def svg(book: Rulebook, lang: str = "en", current: str | None = None, kind: str | None = None) -> str:
    """The item path as SVG: states in columns by their distance from where items start,
    edges as labelled arrows; `current` (a state key) is marked "you are here"."""
    from html import escape

    from engine.i18n import trigger_title

    edges = [t for t in book.transitions if kind is None or t.items == kind]
    starts = [book.initial] + sorted({t.source for t in edges} - {t.dest for t in edges} - {book.initial})
    depth: dict[str, int] = {s: 0 for s in starts}
    frontier = list(starts)
    while frontier:
        s = frontier.pop(0)
        for t in edges:
            if t.source == s and t.dest not in depth:
                depth[t.dest] = depth[s] + 1
                frontier.append(t.dest)
    states = [s for s in book.states if s in depth]
    columns: dict[int, list[str]] = {}
    for s in states:
        columns.setdefault(depth[s], []).append(s)
    w, h, gx, gy = 150, 44, 90, 34
    pos = {s: (20 + d * (w + gx), 20 + i * (h + gy)) for d, col in columns.items() for i, s in enumerate(col)}
    width = 40 + (max(columns) + 1) * (w + gx) if columns else 200
    height = 40 + max((len(c) for c in columns.values()), default=1) * (h + gy)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(book.title.in_(lang))}" '
           f'font-family="sans-serif" font-size="12">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    for n, t in enumerate(edges):
        if t.source not in pos or t.dest not in pos:
            continue
        (x1, y1), (x2, y2) = pos[t.source], pos[t.dest]
        label = escape(trigger_title(t.trigger, lang, book) if lang == "ja" else t.trigger)  # 付議 on a Japanese page
        if t.source == t.dest:
            cx, cy = x1 + w / 2, y1
            out.append(f'<path d="M{cx - 20},{cy} C{cx - 30},{cy - 28} {cx + 30},{cy - 28} {cx + 20},{cy}" '
                       f'fill="none" stroke="#555" marker-end="url(#arrow)"/>'
                       f'<text x="{cx}" y="{cy - 22}" text-anchor="middle" fill="#333">{label}</text>')
            continue
        sx, sy = (x1 + w, y1 + h / 2) if x2 > x1 else (x1, y1 + h / 2)
        ex, ey = (x2, y2 + h / 2) if x2 > x1 else (x2 + w, y2 + h / 2)
        bend = 0 if x2 > x1 else 40 + (n % 3) * 12
        mx, my = (sx + ex) / 2, (sy + ey) / 2 - bend
        out.append(f'<path class="edge" data-trigger="{escape(t.trigger)}" d="M{sx},{sy} Q{mx},{my} {ex},{ey}" '
                   f'fill="none" stroke="#555" marker-end="url(#arrow)"/>'
                   f'<text x="{mx}" y="{my - 4}" text-anchor="middle" fill="#333">{label}</text>')
    for s in states:
        x, y = pos[s]
        st = book.states[s]
        here = s == current
        fill = "#fde68a" if here else ("#e5e7eb" if st.final else "#dbeafe")
        stroke = "#b45309" if here else "#1e3a8a"
        out.append(f'<g class="state{" current" if here else ""}" data-state="{escape(s)}">'
                   f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="{fill}" stroke="{stroke}" '
                   f'stroke-width="{3 if here else 1.5}"/>'
                   f'<text x="{x + w / 2}" y="{y + (18 if lang != "ja" else 26)}" text-anchor="middle" '
                   f'font-weight="bold">{escape(st.title.in_(lang))}</text>'
                   + ("" if lang == "ja" else  # the key people type, on the English page only
                      f'<text x="{x + w / 2}" y="{y + 34}" text-anchor="middle" fill="#555">{escape(s)}</text>')
                   + '</g>')
        if here:
            out.append(f'<text x="{x + w / 2}" y="{y + h + 14}" text-anchor="middle" fill="#b45309" '
                       f'font-weight="bold">{"現在地" if lang == "ja" else "you are here"}</text>')
    out.append("</svg>")
    return "\n".join(out)
