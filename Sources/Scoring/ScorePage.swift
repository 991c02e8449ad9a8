// The fixed parts of the score report page: style, explanation and the script that draws the
// charts (hand-written SVG, no library, no network).

enum ScorePage {
  static let head = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>engine · score</title>
    <script>
      // Collected first so that any later error is visible in the page (and to tests).
      window.__errors = [];
      function __recordError(text) {
        window.__errors.push(String(text));
        var el = document.getElementById('js-errors');
        if (el) { el.textContent = window.__errors.join('\n'); el.hidden = false; }
      }
      window.onerror = function (msg, src, line, col) { __recordError(msg + ' (' + src + ':' + line + ':' + col + ')'); };
      window.addEventListener('unhandledrejection', function (e) { __recordError('unhandled rejection: ' + (e.reason && e.reason.message || e.reason)); });
      (function () { var orig = console.error; console.error = function () { __recordError(Array.prototype.join.call(arguments, ' ')); orig.apply(console, arguments); }; })();
    </script>
    <style>
      :root { --bg:#0f1419; --panel:#171e26; --line:#263241; --text:#d8e0e8; --dim:#8493a3; --green:#3fb950; --red:#f85149; --blue:#58a6ff; --amber:#d29922; --violet:#bc8cff; }
      * { box-sizing: border-box; }
      body { margin:0; background:var(--bg); color:var(--text); font:13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
      header { display:flex; align-items:center; gap:12px; padding:10px 18px; border-bottom:1px solid var(--line); background:var(--panel); flex-wrap:wrap; }
      header h1 { font-size:16px; margin:0; letter-spacing:.5px; }
      .pill { padding:2px 8px; border-radius:10px; background:#1d2733; color:var(--dim); font-size:12px; }
      .about { color:var(--dim); margin:10px 18px 0; max-width:1100px; }
      .about b { color:var(--text); font-weight:600; }
      section.strategy { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 14px 14px; margin:14px 18px; }
      section h2 { font-size:15px; margin:0 0 6px; }
      section h3 { font-size:11px; text-transform:uppercase; letter-spacing:1px; color:var(--dim); font-weight:normal; margin:14px 0 6px; }
      .chips { display:flex; gap:8px; flex-wrap:wrap; margin-bottom:8px; }
      .chip { padding:1px 8px; border-radius:10px; background:#1d2733; font-size:12px; }
      .chip.warn { color:var(--amber); }
      table.figures { border-collapse:collapse; font-variant-numeric: tabular-nums; }
      table.figures th, table.figures td { text-align:right; padding:3px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
      table.figures th:first-child, table.figures td:first-child { text-align:left; }
      table.figures th { color:var(--dim); font-weight:normal; font-size:11px; }
      .up { color:var(--green); } .down { color:var(--red); }
      .none { color:var(--dim); }
      .histograms { display:flex; flex-wrap:wrap; gap:12px; }
      .histograms figure { margin:0; background:#121920; border:1px solid var(--line); border-radius:6px; padding:6px; }
      .histograms figcaption { font-size:12px; color:var(--dim); margin-bottom:2px; }
      .excess figure { margin:0; background:#121920; border:1px solid var(--line); border-radius:6px; padding:6px; max-width:980px; }
      svg text { fill:var(--dim); font-size:10px; font-family:inherit; }
      svg .axis { stroke:var(--line); stroke-width:1; }
      svg .zero { stroke:#52606f; stroke-width:1; stroke-dasharray:3 3; }
      svg .bar-up { fill:var(--green); opacity:.85; } svg .bar-down { fill:var(--red); opacity:.85; }
      svg .mean { stroke:var(--blue); stroke-width:1.5; stroke-dasharray:4 2; }
      .legend { display:flex; gap:14px; font-size:12px; color:var(--dim); margin-top:4px; flex-wrap:wrap; }
      .legend i { display:inline-block; width:14px; height:3px; vertical-align:middle; margin-right:5px; }
      #js-errors { color:var(--red); white-space:pre-wrap; margin:0 18px; }
    </style>
    </head>
    <body>
    <pre id="js-errors" hidden></pre>

    """#

  static let explanation = #"""
    <p class="about">Each <b>enter</b> of a symbol at time t and price p<sub>0</sub> is followed for
    each horizon h: <b>r</b> = p<sub>h</sub> / p<sub>0</sub> − 1, with p<sub>h</sub> the symbol's last ticker price at or
    before t + h. <b>hit rate</b>: share of r &gt; 0. <b>mfe</b> / <b>mae</b>: mean of the highest / lowest
    ticker price in (t, t + h] relative to p<sub>0</sub>. <b>excess</b>: r minus the equal-weight mean
    return of every symbol over the same span. <b>open</b>: signals the file ends too early to
    score. No fees, no slippage; prices are ticker prices.</p>

    """#

  static let script = #"""
    <script>
    (function () {
      'use strict';
      var NS = 'http://www.w3.org/2000/svg';
      var COLOURS = ['#58a6ff', '#3fb950', '#d29922', '#bc8cff', '#f85149', '#39c5cf', '#e3b341', '#ff7b72'];
      var data = JSON.parse(document.getElementById('score-data').textContent);

      function el(name, attrs, parent) {
        var e = document.createElementNS(NS, name);
        for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
        if (parent) { parent.appendChild(e); }
        return e;
      }
      function text(parent, x, y, s, anchor) {
        var t = el('text', { x: x, y: y, 'text-anchor': anchor || 'start' }, parent);
        t.textContent = s;
        return t;
      }
      function pct(v, digits) {
        var s = (v * 100).toFixed(digits === undefined ? 2 : digits);
        if (/^-0\.?0*$/.test(s)) { s = s.slice(1); }
        return (v > 0 ? '+' : '') + s + '%';
      }
      function two(n) { return (n < 10 ? '0' : '') + n; }
      // UTC time of day; with the date over spans of days, with seconds under an hour.
      function clock(ms, span) {
        var d = new Date(ms);
        var hm = two(d.getUTCHours()) + ':' + two(d.getUTCMinutes());
        if (span > 86400000) { return two(d.getUTCMonth() + 1) + '-' + two(d.getUTCDate()) + ' ' + hm; }
        return span < 3600000 ? hm + ':' + two(d.getUTCSeconds()) : hm;
      }
      function quantile(sorted, q) {
        if (sorted.length === 0) { return 0; }
        var pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
      }

      // A histogram of r: bins of equal width with 0 on a bin edge, so a bar is all gains
      // (green) or all losses (red). With many signals the range is the 1st to 99th
      // percentile and the tails are counted in the edge bins.
      function histogram(host, label, values, mean) {
        var W = 300, H = 170, L = 34, R = 8, T = 12, B = 30;
        var fig = document.createElement('figure');
        var cap = document.createElement('figcaption');
        cap.textContent = label + ' · n = ' + values.length;
        fig.appendChild(cap);
        var svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'class': 'histogram', 'data-horizon': label });
        fig.appendChild(svg);
        host.appendChild(fig);
        var sorted = values.slice().sort(function (a, b) { return a - b; });
        var lo = values.length >= 50 ? quantile(sorted, 0.01) : sorted[0];
        var hi = values.length >= 50 ? quantile(sorted, 0.99) : sorted[sorted.length - 1];
        if (!(hi > lo)) { var pad = Math.max(Math.abs(lo) * 0.1, 0.0005); lo -= pad; hi += pad; }
        var k = Math.max(5, Math.min(30, Math.ceil(Math.sqrt(values.length))));
        var width = (hi - lo) / k;
        lo = Math.floor(lo / width) * width;
        k = Math.max(1, Math.ceil((hi - lo) / width - 1e-9));
        if (lo + k * width < hi) { k += 1; }
        var counts = [];
        for (var i = 0; i < k; i++) { counts.push(0); }
        values.forEach(function (v) {
          var b = Math.floor((v - lo) / width);
          counts[Math.max(0, Math.min(k - 1, b))] += 1;
        });
        var top = Math.max.apply(null, counts);
        var x = function (v) { return L + (v - lo) / (k * width) * (W - L - R); };
        var y = function (c) { return T + (1 - c / top) * (H - T - B); };
        counts.forEach(function (c, b) {
          if (c === 0) { return; }
          var left = lo + b * width;
          el('rect', {
            x: x(left) + 0.5, y: y(c), width: Math.max(1, x(left + width) - x(left) - 1), height: y(0) - y(c),
            'class': left + width / 2 >= 0 ? 'bar-up' : 'bar-down'
          }, svg);
        });
        el('line', { x1: L, y1: y(0), x2: W - R, y2: y(0), 'class': 'axis' }, svg);
        el('line', { x1: L, y1: T, x2: L, y2: y(0), 'class': 'axis' }, svg);
        text(svg, L - 4, T + 8, String(top), 'end');
        text(svg, L - 4, y(0), '0', 'end');
        text(svg, L, H - B + 14, pct(lo, 1), 'start');
        text(svg, W - R, H - B + 14, pct(lo + k * width, 1), 'end');
        if (lo < 0 && lo + k * width > 0) {
          el('line', { x1: x(0), y1: T, x2: x(0), y2: y(0), 'class': 'zero' }, svg);
          // Only where it does not run into the range's end labels.
          if (x(0) - L > 48 && W - R - x(0) > 48) { text(svg, x(0), H - B + 14, '0', 'middle'); }
        }
        if (mean !== null && mean >= lo && mean <= lo + k * width) {
          el('line', { x1: x(mean), y1: T, x2: x(mean), y2: y(0), 'class': 'mean' }, svg);
        }
        text(svg, (L + W - R) / 2, H - 3, mean === null ? '' : 'mean ' + pct(mean, 3), 'middle');
      }

      // The running mean of the excess returns, signal after signal, one line per horizon.
      // The vertical scale fits the lines after their first twentieth of signals (a mean
      // over a handful of signals swings widely); earlier swings beyond it are cut at the
      // chart's edge.
      function excessChart(host, strategy) {
        var W = 960, H = 240, L = 56, R = 12, T = 12, B = 26;
        var series = [];
        var t0 = Infinity, t1 = -Infinity, y0 = 0, y1 = 0;
        strategy.horizons.forEach(function (h, k) {
          if (h.t.length === 0) { return; }
          var sum = 0, points = [];
          var settled = h.t.length >= 40 ? Math.floor(h.t.length / 20) : 0;
          for (var i = 0; i < h.t.length; i++) {
            sum += h.x[i];
            var v = sum / (i + 1);
            points.push([h.t[i], v]);
            t0 = Math.min(t0, h.t[i]); t1 = Math.max(t1, h.t[i]);
            if (i >= settled) { y0 = Math.min(y0, v); y1 = Math.max(y1, v); }
          }
          series.push({ label: data.horizons[k], colour: COLOURS[k % COLOURS.length], points: points });
        });
        if (series.length === 0) { return; }
        if (t1 === t0) { t0 -= 60000; t1 += 60000; }
        if (y1 === y0) { y0 -= 0.0005; y1 += 0.0005; }
        var padY = (y1 - y0) * 0.08; y0 -= padY; y1 += padY;
        var fig = document.createElement('figure');
        var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', 'class': 'excess-chart', preserveAspectRatio: 'none' });
        fig.appendChild(svg);
        host.appendChild(fig);
        var x = function (t) { return L + (t - t0) / (t1 - t0) * (W - L - R); };
        var y = function (v) { return T + (y1 - v) / (y1 - y0) * (H - T - B); };
        el('line', { x1: L, y1: T, x2: L, y2: H - B, 'class': 'axis' }, svg);
        el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, 'class': 'axis' }, svg);
        el('line', { x1: L, y1: y(0), x2: W - R, y2: y(0), 'class': 'zero' }, svg);
        for (var g = 0; g <= 4; g++) {
          var v = y0 + (y1 - y0) * g / 4;
          text(svg, L - 5, y(v) + 3, pct(v, 2), 'end');
        }
        for (var j = 0; j <= 5; j++) {
          var t = t0 + (t1 - t0) * j / 5;
          text(svg, x(t), H - B + 15, clock(t, t1 - t0), j === 0 ? 'start' : j === 5 ? 'end' : 'middle');
        }
        var clipId = 'clip-' + (host.closest('section').getAttribute('data-index') || '0');
        var clip = el('clipPath', { id: clipId }, el('defs', {}, svg));
        el('rect', { x: L, y: T, width: W - L - R, height: H - T - B }, clip);
        series.forEach(function (s) {
          var d = s.points.map(function (p, i) { return (i === 0 ? 'M' : 'L') + x(p[0]).toFixed(1) + ' ' + y(p[1]).toFixed(1); }).join(' ');
          if (s.points.length === 1) { d += ' l 2 0'; }
          el('path', { d: d, fill: 'none', stroke: s.colour, 'stroke-width': 1.8, 'class': 'excess-line', 'data-horizon': s.label, 'clip-path': 'url(#' + clipId + ')' }, svg);
        });
        var legend = document.createElement('div');
        legend.className = 'legend';
        series.forEach(function (s) {
          var item = document.createElement('span');
          var swatch = document.createElement('i');
          swatch.style.background = s.colour;
          item.appendChild(swatch);
          var last = s.points[s.points.length - 1][1];
          item.appendChild(document.createTextNode(s.label + ': ' + pct(last, 3) + ' after ' + s.points.length + ' signals'));
          legend.appendChild(item);
        });
        fig.appendChild(legend);
      }

      document.querySelectorAll('section.strategy').forEach(function (section) {
        var strategy = data.strategies[Number(section.getAttribute('data-index'))];
        var hists = section.querySelector('.histograms');
        var excess = section.querySelector('.excess');
        if (!strategy || !hists || !excess) { return; }
        strategy.horizons.forEach(function (h, k) {
          if (h.r.length > 0) { histogram(hists, data.horizons[k], h.r, h.mean); }
        });
        excessChart(excess, strategy);
      });
      document.body.setAttribute('data-drawn', 'true');
    })();
    </script>

    """#
}
