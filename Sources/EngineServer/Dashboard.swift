// The live dashboard: one HTML page with hand-written JS (no build step, no CDN).

enum Dashboard {
  static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>engine · live</title>
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
      body { margin:0; background:var(--bg); color:var(--text); font:13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
      header { display:flex; align-items:center; gap:16px; padding:10px 18px; border-bottom:1px solid var(--line); background:var(--panel); flex-wrap:wrap; }
      header h1 { font-size:16px; margin:0; letter-spacing:.5px; }
      .pill { padding:2px 8px; border-radius:10px; background:#223; color:var(--dim); font-size:12px; }
      .pill.ok { background:#12361f; color:var(--green); } .pill.bad { background:#3d1418; color:var(--red); }
      main { display:grid; grid-template-columns: 1.25fr 1fr; gap:14px; padding:14px 18px; }
      section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; min-width:0; }
      section h2 { font-size:12px; text-transform:uppercase; letter-spacing:1px; color:var(--dim); margin:0 0 8px; }
      .cards { display:grid; grid-template-columns: repeat(3, 1fr); gap:10px; }
      .card { border:1px solid var(--line); border-radius:6px; padding:8px; }
      .card .label { color:var(--dim); font-size:11px; } .card .value { font-size:20px; font-variant-numeric: tabular-nums; }
      .card canvas { width:100%; height:42px; display:block; margin-top:4px; }
      table { width:100%; border-collapse:collapse; font-variant-numeric: tabular-nums; }
      th, td { text-align:left; padding:3px 6px; border-bottom:1px solid var(--line); white-space:nowrap; }
      th { color:var(--dim); font-weight:normal; font-size:11px; }
      td.num, th.num { text-align:right; }
      .chips { display:flex; flex-wrap:wrap; gap:3px; white-space:normal; }
      .chip { font-size:11px; padding:0 5px; border-radius:3px; background:#1d2a38; color:var(--blue); }
      #diffs { max-height:430px; overflow:auto; }
      .enter { color:var(--green); } .exit { color:var(--red); }
      tr.fresh td { animation: flash 1.2s ease-out; }
      @keyframes flash { from { background:#24364a; } to { background:transparent; } }
      button { background:#1f2a36; color:var(--text); border:1px solid var(--line); border-radius:5px; padding:3px 10px; cursor:pointer; }
      button.active { border-color:var(--blue); color:var(--blue); }
      #js-errors { color:var(--red); white-space:pre-wrap; margin:0 18px; }
      .wide { grid-column: 1 / -1; }
      .dim { color:var(--dim); }
    </style>
    </head>
    <body>
    <header>
      <h1>engine</h1>
      <span id="conn" class="pill">connecting…</span>
      <span class="pill">feed <b id="feed">–</b></span>
      <span class="pill">workers <b id="workers">–</b></span>
      <span class="pill">cycle <b id="cycle">–</b></span>
      <span class="pill">uptime <b id="uptime">–</b></span>
      <span class="pill">tracking <b id="mode">–</b></span>
      <span>
        <button id="mode-changed" onclick="setMode('changed')">changed</button>
        <button id="mode-all" onclick="setMode('all')">all</button>
      </span>
      <span id="mode-msg" class="dim"></span>
    </header>
    <pre id="js-errors" hidden></pre>
    <main>
      <section>
        <h2>Performance monitor</h2>
        <div class="cards">
          <div class="card"><div class="label">efficiency (skipped, cumulative)</div><div class="value" id="v-eff">–</div><canvas id="c-eff"></canvas></div>
          <div class="card"><div class="label">evaluations / s</div><div class="value" id="v-evals">–</div><canvas id="c-evals"></canvas></div>
          <div class="card"><div class="label">symbols changed / s</div><div class="value" id="v-syms">–</div><canvas id="c-syms"></canvas></div>
          <div class="card"><div class="label">cycle latency (ms)</div><div class="value" id="v-lat">–</div><canvas id="c-lat"></canvas></div>
          <div class="card"><div class="label">buffer swap (µs)</div><div class="value" id="v-swap">–</div><canvas id="c-swap"></canvas></div>
          <div class="card"><div class="label">skipped this cycle</div><div class="value" id="v-cskip">–</div><canvas id="c-cskip"></canvas></div>
        </div>
        <h2 style="margin-top:12px">Tracking modes: cost per cycle (runtime A/B)</h2>
        <table id="modes"><thead><tr><th>mode</th><th class="num">cycles</th><th class="num">avg latency ms</th><th class="num">avg evaluations</th><th class="num">avg filter calls</th><th class="num">recent latency ms</th><th class="num">recent evaluations</th></tr></thead><tbody></tbody></table>
        <div id="saving" class="dim" style="margin-top:6px"></div>
      </section>
      <section>
        <h2>Live diffs <span class="dim" id="diff-count"></span></h2>
        <div id="diffs"><table><thead><tr><th>time</th><th>event</th><th>strategy</th><th>symbol</th><th class="num">price</th><th class="num">info</th></tr></thead><tbody id="diff-rows"></tbody></table></div>
      </section>
      <section class="wide">
        <h2>Strategies: current matches</h2>
        <table id="strategies"><thead><tr><th>strategy</th><th class="num">matches</th><th class="num">filter calls</th><th class="num">errors</th><th class="num">cost share*</th><th>matching symbols</th></tr></thead><tbody></tbody></table>
        <div class="dim" style="margin-top:4px">* share of the last cycle's filter calls, an estimate of its share of the time (per-strategy time is not measured).</div>
      </section>
      <section class="wide" id="sinks-section" hidden>
        <h2>Webhook sinks</h2>
        <table id="sinks"><thead><tr><th>url</th><th class="num">delivered</th><th class="num">retries</th><th class="num">dropped</th><th class="num">refused</th><th class="num">queue</th><th>last error</th></tr></thead><tbody></tbody></table>
      </section>
    </main>
    <script>
    "use strict";
    var state = { matches: {}, strategies: [], history: [], status: null, live: 0, diffs: 0 };
    var MAX_ROWS = 150, MAX_HISTORY = 300;

    function $(id) { return document.getElementById(id); }
    function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); }
    function fmt(x, digits) { if (x === null || x === undefined || isNaN(x)) return '–'; return Number(x).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }); }
    function pct(x) { return fmt(x * 100, 1) + '%'; }
    function clock(ms) { var d = new Date(ms); return d.toISOString().substr(11, 8); }
    function duration(s) { s = Math.floor(s); var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60; return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + r + 's'; }

    function spark(id, values, color) {
      var c = $(id); if (!c) return;
      var dpr = window.devicePixelRatio || 1, w = c.clientWidth || 200, h = c.clientHeight || 42;
      if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
      var g = c.getContext('2d'); g.setTransform(dpr, 0, 0, dpr, 0, 0); g.clearRect(0, 0, w, h);
      if (values.length < 2) return;
      var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
      if (hi === lo) { hi = lo + 1; lo = lo - (lo > 0 ? 0 : 0); }
      var step = w / (Math.max(values.length, 60) - 1), x0 = w - (values.length - 1) * step;
      g.beginPath();
      for (var i = 0; i < values.length; i++) {
        var x = x0 + i * step, y = h - 3 - (values[i] - lo) / (hi - lo) * (h - 6);
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      }
      g.strokeStyle = color; g.lineWidth = 1.5; g.stroke();
      g.lineTo(w, h); g.lineTo(x0, h); g.closePath(); g.globalAlpha = 0.12; g.fillStyle = color; g.fill(); g.globalAlpha = 1;
      // Mark cycles run in tracking mode "all".
      g.fillStyle = '#d29922';
      for (var j = 0; j < state.history.length && j < values.length; j++) {
        if (state.history[state.history.length - values.length + j].mode === 'all') g.fillRect(x0 + j * step - step / 2, h - 2, Math.max(step, 1), 2);
      }
    }

    function drawCharts() {
      var hs = state.history;
      function col(f) { return hs.map(f); }
      spark('c-eff', col(function (s) { return s.efficiency * 100; }), '#3fb950');
      spark('c-evals', col(function (s) { return s.evaluationsPerSecond; }), '#58a6ff');
      spark('c-syms', col(function (s) { return s.symbolsChangedPerSecond; }), '#bc8cff');
      spark('c-lat', col(function (s) { return s.latencyMs; }), '#d29922');
      spark('c-swap', col(function (s) { return s.swapMs * 1000; }), '#8493a3');
      spark('c-cskip', col(function (s) { return s.cycleSkipped * 100; }), '#3fb950');
      var last = hs[hs.length - 1];
      if (!last) return;
      $('v-eff').textContent = pct(last.efficiency);
      $('v-evals').textContent = fmt(last.evaluationsPerSecond, 0);
      $('v-syms').textContent = fmt(last.symbolsChangedPerSecond, 0);
      $('v-lat').textContent = fmt(last.latencyMs, 2);
      $('v-swap').textContent = fmt(last.swapMs * 1000, 1);
      $('v-cskip').textContent = pct(last.cycleSkipped);
      $('cycle').textContent = last.cycle;
      $('mode').textContent = last.mode;
    }

    function renderModes(modes) {
      var rows = '';
      ['changed', 'all'].forEach(function (m) {
        var c = modes && modes[m];
        rows += '<tr data-mode="' + m + '"><td>' + m + '</td>' + (c ?
          '<td class="num">' + c.cycles + '</td><td class="num">' + fmt(c.avgLatencyMs, 2) + '</td><td class="num">' + fmt(c.avgEvaluations, 1) +
          '</td><td class="num">' + fmt(c.avgFilterCalls, 1) + '</td><td class="num">' + fmt(c.recentLatencyMs, 2) + '</td><td class="num">' + fmt(c.recentEvaluations, 1) + '</td>'
          : '<td class="num">0</td><td class="num dim" colspan="5">not run yet: switch to compare</td>') + '</tr>';
      });
      $('modes').tBodies[0].innerHTML = rows;
      var a = modes && modes.all, c = modes && modes.changed;
      $('saving').textContent = (a && c && a.avgFilterCalls > 0)
        ? 'changed-only tracking makes ' + pct(1 - c.avgFilterCalls / a.avgFilterCalls) + ' fewer filter calls per cycle and takes ' + fmt(c.avgLatencyMs / Math.max(a.avgLatencyMs, 1e-9) * 100, 0) + '% of the latency of tracking all.'
        : '';
    }

    function renderStrategies() {
      var rows = '';
      state.strategies.forEach(function (s) {
        var m = state.matches[s.id] || {}, symbols = Object.keys(m).sort();
        var chips = symbols.slice(0, 60).map(function (x) { return '<span class="chip">' + esc(x) + '</span>'; }).join('') + (symbols.length > 60 ? ' <span class="dim">+' + (symbols.length - 60) + '</span>' : '');
        rows += '<tr class="strategy" data-strategy="' + esc(s.id) + '"><td title="' + esc(s.description || '') + '">' + esc(s.id) + '</td><td class="num">' + symbols.length +
          '</td><td class="num">' + fmt(s.filterCalls, 0) + '</td><td class="num">' + fmt(s.errors, 0) + '</td><td class="num">' + pct(s.costShare || 0) + '</td><td><div class="chips">' + chips + '</div></td></tr>';
      });
      $('strategies').tBodies[0].innerHTML = rows;
    }

    function renderSinks(sinks) {
      if (!sinks || !sinks.length) return;
      $('sinks-section').hidden = false;
      $('sinks').tBodies[0].innerHTML = sinks.map(function (s) {
        var t = s.stats;
        return '<tr><td>' + esc(s.url) + '</td><td class="num">' + t.delivered + '</td><td class="num">' + t.retries + '</td><td class="num">' + t.dropped +
          '</td><td class="num">' + t.rejected + '</td><td class="num">' + t.queueDepth + '</td><td class="dim">' + esc(t.lastError || '') + '</td></tr>';
      }).join('');
    }

    function addDiffs(list, live) {
      var body = $('diff-rows'), html = '';
      for (var i = list.length - 1; i >= 0; i--) {
        var d = list[i];
        html += '<tr class="diff' + (live ? ' live fresh' : '') + '"><td>' + clock(d.time) + '</td><td class="' + d.event + '">' + d.event + '</td><td>' + esc(d.strategy) + '</td><td>' + esc(d.symbol) +
          '</td><td class="num">' + fmt(d.price, 4) + '</td><td class="num">' + (d.info === undefined ? '' : esc(typeof d.info === 'number' ? fmt(d.info, 2) : d.info)) + '</td></tr>';
        if (live) {
          var set = state.matches[d.strategy] || (state.matches[d.strategy] = {});
          if (d.event === 'enter') set[d.symbol] = { price: d.price, since: d.time }; else delete set[d.symbol];
        }
      }
      body.insertAdjacentHTML('afterbegin', html);
      while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
      state.diffs += list.length; if (live) state.live += list.length;
      $('diff-count').textContent = '(' + state.live + ' live since load)';
    }

    function applyStatus(st) {
      state.status = st;
      state.strategies = st.strategies || [];
      $('feed').textContent = st.feed; $('workers').textContent = st.workers;
      $('uptime').textContent = duration(st.uptimeSeconds); $('mode').textContent = st.trackingMode;
      $('mode-changed').className = st.trackingMode === 'changed' ? 'active' : '';
      $('mode-all').className = st.trackingMode === 'all' ? 'active' : '';
      renderModes(st.modes); renderSinks(st.sinks); renderStrategies();
    }

    function refreshStatus() {
      return fetch('status', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(applyStatus)
        .catch(function () { $('conn').textContent = 'status unavailable'; });
    }

    function setMode(mode) {
      fetch('control/tracking', { method: 'POST', body: mode }).then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
        .then(function (res) { $('mode-msg').textContent = res[0] ? 'tracking → ' + res[1].mode + ' from the next cycle' : res[1].error; refreshStatus(); })
        .catch(function (e) { $('mode-msg').textContent = 'failed: ' + e; });
    }

    // `?events=N`: snapshot mode, the stream stops after N events (headless screenshots, where
    // an endless stream would keep the page from ever finishing loading).
    var EVENT_LIMIT = parseInt(new URLSearchParams(location.search).get('events') || '0', 10) || 0;

    function connect() {
      var es = new EventSource('events'), seen = 0;
      function counted() {
        if (EVENT_LIMIT > 0 && ++seen >= EVENT_LIMIT) { es.close(); $('conn').textContent = 'snapshot: stopped after ' + seen + ' events'; }
      }
      es.onopen = function () { $('conn').textContent = 'live'; $('conn').className = 'pill ok'; };
      es.onerror = function () { $('conn').textContent = 'reconnecting…'; $('conn').className = 'pill bad'; };
      es.addEventListener('diffs', function (e) { var b = JSON.parse(e.data); addDiffs(b.diffs, true); renderStrategies(); counted(); });
      es.addEventListener('cycle', function (e) {
        var s = JSON.parse(e.data);
        state.history.push(s); if (state.history.length > MAX_HISTORY) state.history.shift();
        drawCharts(); counted();
      });
    }

    fetch('api/state', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (st) {
      state.matches = st.matches || {}; state.history = st.history || [];
      applyStatus(st.status); addDiffs(st.recent || [], false); drawCharts();
      connect();
      if (EVENT_LIMIT === 0) setInterval(refreshStatus, 2000);
    }).catch(function (e) { __recordError('initial load failed: ' + e); });
    window.addEventListener('resize', drawCharts);
    </script>
    </body>
    </html>
    """#
}
