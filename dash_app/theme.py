"""The app's look: one stylesheet, inlined into the page (no CDN, no web fonts).

The CSS is served inside the page's own HTML (``Dash.index_string``), so the app looks
the same when installed without its source folder and never fetches anything.
"""

from __future__ import annotations

__all__ = ["CSS", "INDEX_STRING"]

CSS = """
:root { --ink: #212529; --muted: #868e96; --line: #dee2e6; --bg: #f4f6f8; --card: #fff;
        --brand: #1c3d5a; --accent: #1971c2; --error: #c92a2a; --ok: #2b8a3e; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans",
       "PingFang SC", "Microsoft YaHei", sans-serif; color: var(--ink); background: var(--bg);
       font-size: 14px; }
header.topbar { background: var(--brand); color: #fff; display: flex; align-items: center;
                gap: 1.1rem; padding: 0 1.25rem; height: 52px; position: sticky; top: 0;
                z-index: 10; box-shadow: 0 1px 3px rgba(0,0,0,.2); }
header.topbar .brand { font-weight: 650; font-size: 1.05rem; white-space: nowrap; }
header.topbar .brand small { font-weight: 400; opacity: .75; margin-left: .4rem; }
nav.pages { display: flex; gap: .25rem; height: 100%; }
nav.pages a { color: #d0dbe6; text-decoration: none; padding: 0 .7rem; display: flex;
              align-items: center; border-bottom: 3px solid transparent; white-space: nowrap; }
nav.pages a:hover { color: #fff; }
nav.pages a.active { color: #fff; border-bottom-color: #74c0fc; font-weight: 600; }
.queue { margin-left: auto; font-size: .8rem; opacity: .85; text-align: right;
         line-height: 1.2; max-width: 13rem; }
main.content { max-width: 1400px; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1.page-title { font-size: 1.35rem; margin: .4rem 0 .2rem; }
p.lead { color: #495057; margin: 0 0 1rem; max-width: 70rem; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
         padding: .9rem 1rem; margin-bottom: 1rem; }
.panel h2 { font-size: 1rem; margin: 0 0 .6rem; }
.row { display: flex; gap: 1rem; flex-wrap: wrap; align-items: flex-end; }
.grow { flex: 1 1 auto; min-width: 14rem; }
.builder { display: grid; grid-template-columns: minmax(0, 1.7fr) minmax(20rem, 1fr);
           gap: 1rem; align-items: start; }
@media (max-width: 1000px) { .builder { grid-template-columns: 1fr; } }
.side { position: sticky; top: 64px; }
fieldset.group { border: 1px solid var(--line); border-radius: 8px; background: var(--card);
                 margin: 0 0 .9rem; padding: .5rem .9rem .8rem; }
fieldset.group legend { font-weight: 600; padding: 0 .35rem; }
.fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr));
          gap: .7rem 1rem; }
.field label { display: block; font-weight: 550; margin-bottom: .2rem; font-size: .85rem; }
.field .info { display: inline-block; width: 1.05em; height: 1.05em; line-height: 1.05em;
               margin-left: .35rem; border-radius: 50%; background: #d0ebff; color: #1864ab;
               text-align: center; font-size: .72rem; font-weight: 700; cursor: help; }
.field input[type=text], .field input:not([type]), .text-input {
  width: 100%; padding: .38rem .5rem; border: 1px solid #ced4da; border-radius: 5px;
  font: inherit; background: #fff; }
.field.off { display: none; }
.field.invalid input { border-color: var(--error); background: #fff5f5; }
.field .hint { color: var(--muted); font-size: .75rem; margin-top: .15rem; }
.field-error, .group-error { color: var(--error); font-size: .8rem; margin-top: .2rem;
                             font-weight: 500; }
.field-error:empty, .group-error:empty { display: none; }
.btn { background: var(--accent); color: #fff; border: 0; border-radius: 6px;
       padding: .5rem 1rem; font: inherit; font-weight: 600; cursor: pointer; }
.btn:hover { filter: brightness(1.08); }
.btn:disabled { background: #adb5bd; cursor: not-allowed; }
.btn.secondary { background: #e9ecef; color: var(--ink); }
.btn.small { padding: .3rem .7rem; font-weight: 500; }
.progress { height: 10px; background: #e9ecef; border-radius: 5px; overflow: hidden;
            margin: .6rem 0 .3rem; }
.progress .bar { height: 100%; background: var(--accent); width: 0; transition: width .3s; }
.progress .bar.failed { background: var(--error); }
.progress .bar.done { background: var(--ok); }
.job-text { font-size: .85rem; color: #495057; min-height: 1.2em; }
.alert { border-radius: 6px; padding: .55rem .8rem; margin: .5rem 0; font-size: .88rem; }
.alert-error { background: #fff5f5; border: 1px solid #ffc9c9; color: var(--error); }
.alert-ok { background: #ebfbee; border: 1px solid #b2f2bb; color: var(--ok); }
.alert-info { background: #e7f5ff; border: 1px solid #a5d8ff; color: #1864ab; }
.alert ul { margin: .3rem 0 0 1rem; padding: 0; }
.kpi-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr));
            gap: .7rem; margin-bottom: 1rem; }
.side .kpi-grid { grid-template-columns: repeat(2, minmax(0, 1fr)); }
.kpi-card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
            padding: .6rem .8rem; border-top: 3px solid var(--accent); }
.kpi-value { font-size: 1.45rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.kpi-label { font-size: .82rem; color: #495057; }
.kpi-sub { font-size: .72rem; color: var(--muted); margin-top: .15rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem;
           font-size: .85rem; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
table.table { border-collapse: collapse; width: 100%; font-size: .84rem; background: #fff; }
table.table th, table.table td { border-bottom: 1px solid var(--line); padding: .3rem .5rem;
                                 text-align: left; vertical-align: top; }
table.table th { background: #f1f3f5; font-weight: 600; position: sticky; top: 52px; }
table.table td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.better { color: var(--ok); font-weight: 600; }
td.worse { color: var(--error); font-weight: 600; }
.upload { border: 1px dashed #adb5bd; border-radius: 6px; padding: .5rem .75rem;
          margin-top: .5rem; cursor: pointer; }
.upload a { text-decoration: underline; }
.muted { color: var(--muted); }
.empty { color: var(--muted); padding: 2rem; text-align: center; }
.time-label { font-variant-numeric: tabular-nums; font-weight: 600; min-width: 9rem; }
.lang-switch { display: flex; gap: .2rem; flex-shrink: 0; }
@media (max-width: 1500px) { header.topbar .brand small { display: none; } }
.lang-switch button { background: transparent; color: #d0dbe6; border: 1px solid #4a6a88;
                      border-radius: 4px; padding: .15rem .5rem; font: inherit;
                      font-size: .8rem; cursor: pointer; white-space: nowrap; }
.lang-switch button.active { background: #d0dbe6; color: var(--brand); font-weight: 600; }
.checks label { margin-right: .9rem; font-size: .85rem; }
.checks input { margin-right: .25rem; }
"""

INDEX_STRING = (
    """<!DOCTYPE html>
<html lang="en">
<head>
{%metas%}
<title>{%title%}</title>
{%favicon%}
{%css%}
<style>"""
    + CSS
    + """</style>
</head>
<body>
{%app_entry%}
<footer>
{%config%}
{%scripts%}
{%renderer%}
</footer>
</body>
</html>"""
)
