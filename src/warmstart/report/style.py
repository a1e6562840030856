"""The report's stylesheet (one self-contained HTML page: no external assets)."""

CSS = """
:root { --ink:#1d2329; --muted:#5f6b76; --line:#dde2e7; --soft:#f5f7f9; --accent:#c0392b;
        --ok:#1e7b34; --ok-bg:#e3f4e7; --bad:#b3261e; --bad-bg:#fbe5e3; --na:#5f6b76; --na-bg:#eceff2; }
* { box-sizing: border-box; }
body { margin:0; color:var(--ink); background:#fff; line-height:1.5; font-size:15px;
       font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
main { max-width:1080px; margin:0 auto; padding:32px 28px 64px; }
header { border-bottom:1px solid var(--line); padding-bottom:18px; margin-bottom:8px; }
h1 { font-size:28px; margin:0 0 4px; letter-spacing:-0.01em; }
h2 { font-size:21px; margin:44px 0 10px; padding-top:8px; border-top:1px solid var(--line); }
h3 { font-size:17px; margin:28px 0 8px; }
.meta { color:var(--muted); font-size:13px; margin:0; }
.summary { font-size:15.5px; max-width:860px; }
nav.toc { font-size:13px; margin:14px 0 0; display:flex; flex-wrap:wrap; gap:4px 16px; }
nav.toc a { color:var(--ink); text-decoration:none; border-bottom:1px solid var(--line); white-space:nowrap; }
.tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(190px, 1fr)); gap:12px; margin:20px 0 4px; }
.tile { background:var(--soft); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.tile .k { font-size:12.5px; color:var(--muted); }
.tile .v { font-size:24px; font-weight:600; font-variant-numeric:tabular-nums; }
.tile .s { font-size:12.5px; color:var(--muted); }
figure { margin:14px 0 6px; }
figure img { max-width:100%; height:auto; display:block; border:1px solid var(--line); border-radius:6px; }
.skipped { background:var(--bad-bg); border:1px solid var(--bad); border-radius:8px; padding:10px 14px;
           margin:16px 0 0; }
figcaption, .note { color:var(--muted); font-size:13px; margin-top:6px; max-width:900px; }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; font-size:13.5px; margin:10px 0; width:100%; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { font-weight:600; background:var(--soft); font-size:12.5px; color:#36414b; }
td.name { white-space:nowrap; }
td.muted { color:var(--muted); font-size:12.5px; }
td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; }
td.n { white-space:nowrap; }
td .ci { display:block; color:var(--muted); font-size:11.5px; }
tr.ours td { background:#fdf3f2; }
td.best { font-weight:700; }
.swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:7px;
          vertical-align:baseline; }
.badge { display:inline-block; font-size:11px; font-weight:600; padding:1px 6px; border-radius:10px;
         margin-left:6px; background:var(--accent); color:#fff; vertical-align:1px; }
.status { display:inline-block; font-weight:600; font-size:12.5px; padding:2px 9px; border-radius:12px;
          white-space:nowrap; }
.status.met { color:var(--ok); background:var(--ok-bg); }
.status.not-met { color:var(--bad); background:var(--bad-bg); }
.status.not-measured { color:var(--na); background:var(--na-bg); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px;
       background:var(--soft); padding:1px 4px; border-radius:3px; word-break:break-word; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(320px, 1fr)); gap:12px; }
.card { border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
.card h4 { margin:0 0 4px; font-size:14px; }
.card table { font-size:12.5px; margin:0; }
.card td { padding:3px 6px; }
.card td:first-child { color:var(--muted); width:45%; }
details { border:1px solid var(--line); border-radius:8px; padding:8px 14px; margin:10px 0; }
details summary { cursor:pointer; font-weight:600; }
details > table.kv { width:auto; min-width:50%; }
details > table.kv td:first-child { color:var(--muted); padding-right:40px; }
table.types td { font-size:12.5px; }
table.types td.skill { white-space:normal; min-width:180px; }
tr.overall td { background:var(--soft); }
.typical { color:var(--muted); }
footer { margin-top:48px; color:var(--muted); font-size:12.5px; border-top:1px solid var(--line);
         padding-top:12px; }
"""
