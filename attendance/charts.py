"""Bar charts as inline SVG, drawn on the server: no JavaScript, no CDN, readable without a plotting library.

Text and lines take the admin's colours (its CSS variables, which follow the light or dark theme), never a fixed
black: in dark mode that drew the numbers black on black.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 560, 180, 22, 22, 8


def bars(values: list[tuple[str, int]], *, title: str) -> SafeString:
    """One bar per (label, count), the count written above each non-empty bar."""
    peak = max((n for _, n in values), default=0) or 1
    step = (WIDTH - LEFT) / max(len(values), 1)
    usable = HEIGHT - TOP - BOTTOM
    style = f"width:100%;max-width:{WIDTH * 1.4:.0f}px;font:12px sans-serif;color:var(--body-fg, #333)"
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" style="{style}">',
             f'<title>{escape(title)}</title>',
             f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" stroke="currentColor" '
             'stroke-opacity="0.4"/>']
    for i, (label, count) in enumerate(values):
        x = LEFT + i * step
        height = usable * count / peak
        y = HEIGHT - BOTTOM - height
        bar = min(step * 0.7, 48)
        if count:
            parts.append(f'<rect x="{x + (step - bar) / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                         f'fill="#417690"><title>{escape(label)}: {count}</title></rect>')
            parts.append(f'<text x="{x + step / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" fill="currentColor">'
                         f'{count}</text>')
        parts.append(f'<text x="{x + step / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
                     f'style="fill:var(--body-quiet-color, #666)">'
                     f'{escape(label)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every label is escaped above
