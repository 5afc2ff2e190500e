"""The app's CSS, readable in light and dark themes.

Text colour is always inherited; backgrounds and borders are semi-transparent
greys, and accents use JupyterLab's variables with a fallback (Colab and VS Code
do not define them), so the app follows Jupyter's and Colab's own themes. Voilà
has no theme switch a visitor can reach and starts light: when the app runs
there, its header carries ``ht-follow-system`` and the ``prefers-color-scheme:
dark`` block below sets JupyterLab's dark palette on the page (only while the
page is on its light theme: ``voila --theme=dark`` is left alone). Each step
carries this block, so any step shown on its own is styled; repeating it is
harmless.
"""

import ipywidgets as widgets

DARK_PALETTE = """
  color-scheme: dark;
  --jp-layout-color0: #111111; --jp-layout-color1: #212121; --jp-layout-color2: #424242;
  --jp-layout-color3: #616161; --jp-layout-color4: #757575;
  --jp-ui-font-color0: rgba(255, 255, 255, 1); --jp-ui-font-color1: rgba(255, 255, 255, 0.87);
  --jp-ui-font-color2: rgba(255, 255, 255, 0.60); --jp-ui-font-color3: rgba(255, 255, 255, 0.42);
  --jp-content-font-color0: rgba(255, 255, 255, 1); --jp-content-font-color1: rgba(255, 255, 255, 0.87);
  --jp-content-font-color2: rgba(255, 255, 255, 0.60); --jp-content-font-color3: rgba(255, 255, 255, 0.42);
  --jp-ui-inverse-font-color0: rgba(0, 0, 0, 1); --jp-ui-inverse-font-color1: rgba(0, 0, 0, 0.8);
  --jp-border-color0: #616161; --jp-border-color1: #616161; --jp-border-color2: #424242; --jp-border-color3: #212121;
  --jp-inverse-layout-color0: #ffffff; --jp-inverse-layout-color1: #ffffff; --jp-inverse-layout-color2: #eeeeee;
  --jp-inverse-layout-color3: #bdbdbd; --jp-inverse-layout-color4: #757575;
  --jp-brand-color0: #1976d2; --jp-brand-color1: #42a5f5; --jp-brand-color2: #1e88e5;
  --jp-cell-editor-background: #212121; --jp-rendermime-table-row-background: #212121;
  --jp-rendermime-table-row-hover-background: #424242; --jp-content-link-color: #64b5f6;
  --jp-input-background: #212121; --jp-input-active-background: #424242;
"""

CSS = (
    """
.ht-header, .ht-step-title, .ht-hint, .ht-msg, .ht-table, .ht-tweet, .ht-summary, .ht-loss, .ht-help { color: inherit; }
.ht-header .ht-msg { margin: 0 0 0.2em; }
.ht-step-title { font-size: 1.25em; font-weight: 600; margin: 0.5em 0 0.1em; }
.ht-hint { opacity: 0.8; margin-bottom: 0.3em; }
/* A status line or note (ipywidgets' Label is one line, cut off with "…" where the page ends): it wraps. */
.ht-line.widget-label, .ht-line .widget-label, .ht-line { white-space: normal; overflow: visible; text-overflow: clip;
                                                        height: auto; line-height: 1.4; overflow-wrap: anywhere; }
.ht-note { display: inline-block; line-height: 1.4; }
.ht-msg { padding: 0.35em 0.7em; margin: 0.25em 0; border-left: 4px solid; border-radius: 4px;
          background: rgba(127, 127, 127, 0.10); line-height: 1.4; }
.ht-error { border-color: var(--jp-error-color1, #d32f2f); }
.ht-warning { border-color: var(--jp-warn-color1, #f57c00); }
.ht-success { border-color: var(--jp-success-color1, #388e3c); }
.ht-info { border-color: var(--jp-brand-color1, #1976d2); }
.ht-error .ht-icon { color: var(--jp-error-color1, #d32f2f); }
.ht-warning .ht-icon { color: var(--jp-warn-color1, #f57c00); }
.ht-success .ht-icon { color: var(--jp-success-color1, #388e3c); }
.ht-help { margin: 0.1em 0 0.4em; line-height: 1.45; max-width: 52em; }
.ht-help summary { cursor: pointer; opacity: 0.85; width: fit-content; }
.ht-help summary:hover { opacity: 1; text-decoration: underline; }
.ht-help p { margin: 0.4em 0 0.4em 1.2em; }
.ht-help code { background: rgba(127, 127, 127, 0.15); padding: 0 0.25em; border-radius: 3px; }
table.ht-table { border-collapse: collapse; margin: 0.5em 0; }
.ht-table th, .ht-table td { padding: 0.25em 0.8em; border-bottom: 1px solid rgba(127, 127, 127, 0.3);
                             text-align: left; vertical-align: top; }
.ht-table thead th { border-bottom: 2px solid rgba(127, 127, 127, 0.5); }
.ht-table .ht-num { text-align: right; font-variant-numeric: tabular-nums; }
.ht-examples td { max-width: 640px; }
.ht-examples .ht-author { white-space: nowrap; opacity: 0.8; }
.ht-handle { opacity: 0.7; font-weight: normal; font-size: 0.9em; }
.ht-loss { --ht-train: var(--jp-brand-color1, #1d9bf0); --ht-eval: var(--jp-warn-color1, #f57c00); display: block; margin: 0.4em 0; }
.ht-loss text { fill: currentColor; font-size: 13px; }
.ht-loss .ht-axis-title { font-size: 14px; opacity: 0.85; }
.ht-upload { display: inline-flex; align-items: center; gap: 8px; flex-wrap: wrap; border-radius: 4px; }
.ht-upload.ht-drop { outline: 2px dashed var(--jp-brand-color1, #1976d2); }
.ht-upload .ht-upload-button { width: auto; padding: 0 12px; }
.ht-upload progress { width: 220px; }
.ht-tweets { display: flex; flex-direction: column; gap: 0.5em; }
.ht-tweet { max-width: 580px; padding: 0.7em 0.9em; border: 1px solid rgba(127, 127, 127, 0.35);
            border-radius: 14px; background: rgba(127, 127, 127, 0.06);
            font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.ht-who { display: flex; align-items: center; gap: 0.6em; }
.ht-avatars { display: inline-flex; }
.ht-avatar { position: relative; overflow: hidden; width: 40px; height: 40px; border-radius: 50%; margin-right: -8px;
             display: inline-flex; align-items: center; justify-content: center; font-weight: 600; flex: none;
             background: rgba(127, 127, 127, 0.30); border: 2px solid rgba(127, 127, 127, 0.15); }
.ht-avatar img { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: cover; }
.ht-avatar.ht-avatar-sm { width: 24px; height: 24px; font-size: 0.7em; margin: 0 0.4em 0 0; vertical-align: middle; }
.ht-names { margin-left: 10px; line-height: 1.25; }
.ht-badge { font-size: 0.7em; padding: 0 0.4em; border-radius: 4px; border: 1px solid currentColor; opacity: 0.6; }
.ht-text { font-size: 1.08em; margin: 0.5em 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.ht-flag { color: var(--jp-warn-color1, #e65100); font-size: 0.9em; }
.ht-nearest { font-size: 0.88em; margin: 0.3em 0; }
.ht-nearest summary { cursor: pointer; opacity: 0.7; }
.ht-nearest blockquote { margin: 0.3em 0 0.2em; padding: 0.2em 0.7em; border-left: 3px solid rgba(127, 127, 127, 0.5);
                         white-space: pre-wrap; overflow-wrap: anywhere; opacity: 0.9; }
.ht-actions { display: flex; gap: 1em; align-items: center; margin-top: 0.4em; font-size: 0.9em; }
.ht-copy { font: inherit; color: inherit; background: rgba(127, 127, 127, 0.12); border: 1px solid rgba(127, 127, 127, 0.45);
           border-radius: 12px; padding: 0.1em 0.8em; cursor: pointer; }
.ht-copy:hover { background: rgba(127, 127, 127, 0.25); }
.ht-share, .ht-summary a, .ht-help a { color: var(--jp-content-link-color, #1d9bf0); }
.ht-voice { margin-left: auto; font-size: 0.85em; opacity: 0.75; border: 1px solid rgba(127, 127, 127, 0.45);
            border-radius: 10px; padding: 0 0.6em; white-space: nowrap; }
.ht-voice.ht-pass { opacity: 1; border-color: var(--jp-success-color1, #2e7d32); color: var(--jp-success-color1, #2e7d32); }
.ht-voice-score { margin: 0.2em 0 0.5em; font-size: 0.95em; }
.ht-compare { display: flex; gap: 1em; flex-wrap: wrap; align-items: flex-start; }
.ht-compare > div { flex: 1 1 320px; min-width: 0; }
.ht-col-title { font-weight: 600; opacity: 0.8; margin: 0.2em 0 0.4em; }
@media (prefers-color-scheme: dark) {
  html:has(body[data-jp-theme-light="true"] .ht-follow-system) {"""
    + DARK_PALETTE
    + """  }
  body[data-jp-theme-light="true"]:has(.ht-follow-system) { background: #111111; color: rgba(255, 255, 255, 0.87); }
}
"""
)


def style_widget() -> widgets.HTML:
    """An invisible widget holding the CSS, placed first in each step."""
    return widgets.HTML(f"<style>{CSS}</style>", layout=widgets.Layout(height="0px", margin="0", overflow="hidden"))
