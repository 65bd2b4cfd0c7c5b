"""Chinese PDFs with reportlab: the embedded CJK font and shared drawing (the electronic seal).

reportlab's built-in CID fonts (STSong-Light) are not embedded and their text does not
come back out of pypdf; a TrueType font registered with `TTFont` is embedded as a subset
with a ToUnicode map, so the PDF's text is extractable (tests check it) and it renders
the same on every reader. The font is WenQuanYi Micro Hei (文泉驿微米黑, TrueType outlines,
Apache-2.0 or GPLv3 with the font-embedding exception), shipped on PyPI by the
`paperang-p2-fonts-cjk` wheel so a fresh `pip install` has it; Debian's fonts-wqy packages
are accepted as a fallback. Noto/Source Han are CFF-outlined OpenType, which reportlab
cannot embed.
"""

from __future__ import annotations

import math
import threading
from importlib import resources
from pathlib import Path

from reportlab.lib.colors import Color
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT = "WQYMicroHei"
SEAL_RED = Color(0.85, 0.1, 0.1)

_FALLBACK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
_lock = threading.Lock()


class FontMissing(RuntimeError):
    """No CJK TrueType font is installed; the message says which package brings one."""


def font_path() -> Path:
    try:
        packaged = resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"
        if packaged.is_file():
            return Path(str(packaged))
    except ModuleNotFoundError:
        pass
    for path in _FALLBACK_FONTS:
        if path.is_file():
            return path
    raise FontMissing(
        "no CJK TrueType font: pip install paperang-p2-fonts-cjk (or apt-get install fonts-wqy-microhei)"
    )


def register_fonts() -> str:
    """Register the CJK font once per process; returns its reportlab name."""
    with _lock:
        if FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(FONT, str(font_path()), subfontIndex=0))
    return FONT


def fit_size(text: str, max_width: float, size: float, smallest: float = 8) -> float:
    """The largest font size <= `size` at which `text` fits `max_width` (long plan titles)."""
    width = pdfmetrics.stringWidth(text, FONT, size)
    if width <= max_width:
        return size
    return max(smallest, size * max_width / width)


def draw_star(c: Canvas, cx: float, cy: float, r: float) -> None:
    """A filled five-pointed star, one point up."""
    path = c.beginPath()
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.382
        angle = math.pi / 2 + i * math.pi / 5
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        if i == 0:
            path.moveTo(x, y)
        else:
            path.lineTo(x, y)
    path.close()
    c.drawPath(path, stroke=0, fill=1)


def draw_arc_text(
    c: Canvas, text: str, cx: float, cy: float, radius: float, size: float, sweep_deg: float
) -> None:
    """`text` along the upper arc of a circle, read left to right, letters facing outwards."""
    n = len(text)
    step = sweep_deg / (n - 1) if n > 1 else 0
    start = 90 + sweep_deg / 2
    for i, char in enumerate(text):
        angle = start - i * step
        rad = math.radians(angle)
        c.saveState()
        c.translate(cx + radius * math.cos(rad), cy + radius * math.sin(rad))
        c.rotate(angle - 90)
        c.drawCentredString(0, -size * 0.35, char)
        c.restoreState()


def draw_seal(
    c: Canvas, cx: float, cy: float, r: float, org: str, purpose: str, *, alpha: float = 0.85
) -> None:
    """An electronic seal (电子印章) as vector graphics: ring, star, organisation on the arc,
    the seal's purpose across the bottom."""
    register_fonts()
    c.saveState()
    c.setFillColor(SEAL_RED, alpha=alpha)
    c.setStrokeColor(SEAL_RED, alpha=alpha)
    c.setLineWidth(r * 0.06)
    c.circle(cx, cy, r, stroke=1, fill=0)
    c.setLineWidth(r * 0.015)
    c.circle(cx, cy, r * 0.9, stroke=1, fill=0)
    draw_star(c, cx, cy, r * 0.28)
    arc_size = r * 0.22
    c.setFont(FONT, arc_size)
    draw_arc_text(c, org, cx, cy, r * 0.72, arc_size, sweep_deg=250)
    bottom = fit_size(purpose, r * 1.2, r * 0.16)
    c.setFont(FONT, bottom)
    c.drawCentredString(cx, cy - r * 0.58, purpose)
    c.restoreState()
