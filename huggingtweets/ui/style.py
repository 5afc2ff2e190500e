"""The app's CSS, readable in light and dark themes.

Text colour is always inherited; backgrounds and borders are semi-transparent
greys, and accents use JupyterLab's variables with a fallback (Colab and VS Code
do not define them). Each step carries this block, so any step shown on its
own is styled; repeating it is harmless.
"""

import ipywidgets as widgets

CSS = """
.ht-header, .ht-step-title, .ht-hint, .ht-msg, .ht-table, .ht-tweet, .ht-summary, .ht-loss { color: inherit; }
.ht-title { font-size: 1.5em; font-weight: 700; margin: 0.2em 0; }
.ht-step-title { font-size: 1.2em; font-weight: 600; margin: 0.6em 0 0.1em; }
.ht-hint { opacity: 0.75; margin-bottom: 0.3em; }
.ht-msg { padding: 0.35em 0.7em; margin: 0.25em 0; border-left: 4px solid; border-radius: 4px;
          background: rgba(127, 127, 127, 0.10); line-height: 1.4; }
.ht-error { border-color: var(--jp-error-color1, #d32f2f); }
.ht-warning { border-color: var(--jp-warn-color1, #f57c00); }
.ht-success { border-color: var(--jp-success-color1, #388e3c); }
.ht-info { border-color: var(--jp-brand-color1, #1976d2); }
.ht-error .ht-icon { color: var(--jp-error-color1, #d32f2f); }
.ht-warning .ht-icon { color: var(--jp-warn-color1, #f57c00); }
.ht-success .ht-icon { color: var(--jp-success-color1, #388e3c); }
table.ht-table { border-collapse: collapse; margin: 0.5em 0; }
.ht-table th, .ht-table td { padding: 0.25em 0.8em; border-bottom: 1px solid rgba(127, 127, 127, 0.3);
                             text-align: left; vertical-align: top; }
.ht-table thead th { border-bottom: 2px solid rgba(127, 127, 127, 0.5); }
.ht-table .ht-num { text-align: right; font-variant-numeric: tabular-nums; }
.ht-examples td { max-width: 640px; }
.ht-examples .ht-author { white-space: nowrap; opacity: 0.8; }
.ht-handle { opacity: 0.65; font-weight: normal; font-size: 0.9em; }
.ht-loss { --ht-train: var(--jp-brand-color1, #1d9bf0); --ht-eval: var(--jp-warn-color1, #f57c00); }
.ht-loss text { fill: currentColor; font-size: 11px; }
.ht-tweets { display: flex; flex-direction: column; gap: 0.5em; }
.ht-tweet { max-width: 580px; padding: 0.7em 0.9em; border: 1px solid rgba(127, 127, 127, 0.35);
            border-radius: 14px; background: rgba(127, 127, 127, 0.06);
            font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.ht-who { display: flex; align-items: center; gap: 0.6em; }
.ht-avatars { display: inline-flex; }
.ht-avatar { width: 40px; height: 40px; border-radius: 50%; object-fit: cover; margin-right: -8px;
             display: inline-flex; align-items: center; justify-content: center; font-weight: 600;
             background: rgba(127, 127, 127, 0.30); border: 2px solid rgba(127, 127, 127, 0.15); }
.ht-names { margin-left: 10px; line-height: 1.25; }
.ht-badge { font-size: 0.7em; padding: 0 0.4em; border-radius: 4px; border: 1px solid currentColor; opacity: 0.6; }
.ht-text { font-size: 1.08em; margin: 0.5em 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.ht-flag { color: var(--jp-warn-color1, #e65100); font-size: 0.9em; }
.ht-sim { opacity: 0.55; font-size: 0.85em; }
.ht-share { margin-top: 0.3em; font-size: 0.9em; }
.ht-share a, .ht-summary a { color: var(--jp-content-link-color, #1d9bf0); }
"""


def style_widget() -> widgets.HTML:
    """An invisible widget holding the CSS, placed first in each step."""
    return widgets.HTML(f"<style>{CSS}</style>", layout=widgets.Layout(height="0px", margin="0", overflow="hidden"))
