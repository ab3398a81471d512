"""A dark Fusion theme: the piano roll and tap area are dark so notes glow; the controls around them match.

Fusion looks the same on every platform, so the screenshot in the README is what people get.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

COLORS = {
    QPalette.ColorRole.Window: "#232730",
    QPalette.ColorRole.WindowText: "#dfe3ea",
    QPalette.ColorRole.Base: "#1a1d24",
    QPalette.ColorRole.AlternateBase: "#262a33",
    QPalette.ColorRole.ToolTipBase: "#2e3440",
    QPalette.ColorRole.ToolTipText: "#eceff4",
    QPalette.ColorRole.PlaceholderText: "#7b8394",
    QPalette.ColorRole.Text: "#e5e9f0",
    QPalette.ColorRole.Button: "#2d323d",
    QPalette.ColorRole.ButtonText: "#e5e9f0",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Highlight: "#f0962e",
    QPalette.ColorRole.HighlightedText: "#1a1208",
    QPalette.ColorRole.Link: "#7fb4ff",
    QPalette.ColorRole.Mid: "#8a93a5",
    QPalette.ColorRole.Dark: "#15171c",
    QPalette.ColorRole.Light: "#3b4150",
}


def apply_dark_theme(app) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in COLORS.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6c7383"))
    app.setPalette(palette)
