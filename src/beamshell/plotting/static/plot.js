// beamshell live plot page: follows a session's scans through the plot server's event stream;
// step scans' curves are drawn with uPlot (curves.js), meshes, spectra and waterfalls with
// plotly.js. It keeps only the scans it shows (bounded memory all day) and draws at most a
// few points per pixel column of a curve (min/max decimation of the visible range).
'use strict';
(() => {
  const TOKEN = new URLSearchParams(location.search).get('token') || '';
  const HISTORY_MAX = 300;
  const OVERLAY_MAX = 6;
  const GROUP_MEMBERS_MAX = 8;
  const DRAWN_MAX = 2000; // points per curve above which the curve is decimated
  // ...and at most this many per pixel column: a minimum and a maximum, all a line can show.
  // (uPlot's own decimation, which assumes x grows, starts at 4: below, any x order is drawn
  // as taken.) Every extra point is canvas work for the page's CPU, often the scan's too.
  const DRAWN_PER_PX = 2;
  const SCATTER_MAX = 20000; // mesh scatter: points drawn at most (strided beyond)
  const MARKERS_EVERY_MS = 500;
  // Plot drawings start at most this often (about 6 a second): each costs the machine CPU (a
  // few ms for curves, tens with plotly.js's meshes and spectra), taken from the scan when the
  // page runs on the scan's own computer.
  const DRAW_EVERY_MS = 160;
  const PALETTE = ['#58a6ff', '#f0883e', '#3fb950', '#d2a8ff', '#f85149', '#e3b341',
    '#39c5cf', '#ff7b72', '#a5d6ff', '#7ee787', '#ffa657', '#bc8cff'];
  const HIDDEN_COUNTERS = new Set(['epoch']);
  const TIME_AXES = ['elapsed_time', 'epoch'];
  const $ = (id) => document.getElementById(id);
  const url = (path, params = {}) => `${path}?${new URLSearchParams({ ...params, token: TOKEN })}`;

  // ---- data --------------------------------------------------------------------------------
  function unpack(b64, Type = Float64Array) {
    if (Uint8Array.fromBase64) return new Type(Uint8Array.fromBase64(b64).buffer); // native, fast
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Type(bytes.buffer);
  }

  class Series { // a growing float64 array (amortised doubling)
    constructor() { this.buf = new Float64Array(64); this.length = 0; }
    append(first, values) {
      let skip = this.length - first;
      if (skip < 0) skip = 0; // never happens: the server sends from what the page has
      const add = values.length - skip;
      if (add <= 0) return;
      if (this.length + add > this.buf.length) {
        const grown = new Float64Array(Math.max(this.length + add, 2 * this.buf.length));
        grown.set(this.buf.subarray(0, this.length));
        this.buf = grown;
      }
      this.buf.set(skip ? values.subarray(skip) : values, this.length);
      this.length += add;
    }
    get values() { return this.buf.subarray(0, this.length); }
  }

  function makeScan(desc) {
    return {
      id: desc.id, kind: desc.kind, info: desc.info || {}, channels: desc.channels || {},
      members: desc.members || [], ended: !!desc.ended, series: {}, spectra: {}, done: 0,
    };
  }

  function applyData(scan, msg) {
    if (msg.info) { scan.info = msg.info; scan.ended = !!msg.ended; }
    for (const [name, chunk] of Object.entries(msg.series || {})) {
      if (!scan.series[name]) scan.series[name] = new Series();
      scan.series[name].append(chunk.first, unpack(chunk.values));
    }
    for (const [name, sp] of Object.entries(msg.spectra || {})) {
      let held = scan.spectra[name];
      if (!held || held.version !== sp.version) {
        held = { rows: [], version: sp.version };
        scan.spectra[name] = held;
      }
      Object.assign(held, { count: sp.count, size: sp.size, bin: sp.bin,
        columnBin: sp.column_bin, columns: sp.columns, last: unpack(sp.last) });
      const rows = unpack(sp.rows, Float32Array);
      held.rows.length = Math.min(held.rows.length, sp.first_row);
      for (let r = 0; r * sp.columns < rows.length; r++) {
        held.rows.push(rows.subarray(r * sp.columns, (r + 1) * sp.columns));
      }
    }
    if (msg.done !== undefined) scan.done = msg.done;
    // How long the scan has run, by the server's clock: the header counts on from it.
    if (msg.elapsed !== undefined) { scan.elapsed = msg.elapsed; scan.elapsedAt = performance.now(); }
  }

  function loadScan(json) {
    const scan = makeScan(json);
    applyData(scan, { series: Object.fromEntries(Object.entries(json.series || {})
      .map(([n, v]) => [n, { first: 0, values: v }])), spectra: json.spectra });
    scan.done = Math.min(...Object.values(scan.series).map((s) => s.length), Infinity);
    if (!Number.isFinite(scan.done)) scan.done = 0;
    return scan;
  }

  // ---- what the page holds ----------------------------------------------------------------
  const S = {
    client: null, connected: false, error: null, live: null, shown: null, follow: true,
    overlays: new Map(), history: new Map(), renders: 0, draws: 0, updates: 0, waiters: [], markers: {}, viewAcked: null,
  };
  const view = {
    previousCounters: null, x: null, y1: new Set(), y2: new Set(), monitor: '', logy: false, showMarkers: true,
    mesh: 'image', meshCounter: null, spectrum: null, xrange: null, counters: [],
  };

  const scalarNames = (scan) => Object.entries(scan.channels)
    .filter(([, c]) => c.shape.length === 0).map(([n]) => n);
  const isMesh = (scan) => Array.isArray(scan.info.shape) && scan.info.shape.length === 2
    && (scan.info.axes || []).length >= 2;

  function xChoices(scan) {
    const scalars = scalarNames(scan);
    const axes = (scan.info.axes || []).filter((a) => scalars.includes(a));
    const times = TIME_AXES.filter((a) => scalars.includes(a));
    const rest = scalars.filter((n) => !axes.includes(n) && !times.includes(n));
    return [...axes, ...times, ...rest, '#'];
  }

  // The counters first, then the axes and times (a mesh colours by counters only).
  function counterNames(scan) {
    const scalars = scalarNames(scan).filter((n) => !HIDDEN_COUNTERS.has(n) && n !== view.x);
    const others = new Set([...(scan.info.axes || []), ...TIME_AXES]);
    const counters = scalars.filter((n) => !others.has(n));
    return isMesh(scan) ? counters : [...counters, ...scalars.filter((n) => others.has(n))];
  }

  function chooseDefaults(scan, previousCounters) {
    const scalars = scalarNames(scan);
    const choices = xChoices(scan);
    view.x = choices[0];
    const counters = (scan.info.counters || []).filter((c) => scalars.includes(c));
    const sameCounters = previousCounters !== null
      && previousCounters === JSON.stringify(scan.info.counters || []);
    const plotselect = (scan.info.plotselect || []).filter((c) => scalars.includes(c));
    if (plotselect.length) {
      view.y1 = new Set(plotselect);
      view.y2 = new Set();
    } else if (!sameCounters || ![...view.y1, ...view.y2].every((c) => scalars.includes(c))
               || view.y1.size + view.y2.size === 0) {
      view.y1 = new Set(counters.length ? [counters[0]] : scalars.filter((n) => n !== view.x
        && !TIME_AXES.includes(n)).slice(0, 1));
      view.y2 = new Set();
    }
    if (view.monitor && !scalars.includes(view.monitor)) view.monitor = '';
    view.meshCounter = [...view.y1][0] || counters[0] || null;
    const spectra = Object.entries(scan.channels).filter(([, c]) => c.shape.length === 1);
    if (!spectra.some(([n]) => n === view.spectrum)) view.spectrum = spectra.length ? spectra[0][0] : null;
    view.xrange = null;
    view.counters = [...counters, ...scalars.filter((n) => !counters.includes(n))]; // colours
  }

  function colourOf(name) {
    const index = view.counters.indexOf(name);
    return PALETTE[(index < 0 ? 0 : index) % PALETTE.length];
  }

  // ---- decimation ----------------------------------------------------------------------------
  // Indices of the points to draw: all when few; else, per bucket of consecutive points in the
  // visible x range, its minimum and maximum in their order (about two per pixel column:
  // the drawn line covers exactly what the full one would), and the very first and last.
  function drawnIndices(x, y, n, range, most) {
    let candidates = null;
    if (range && n > most) { // few points: all drawn, the chart clips them to the view
      const [lo, hi] = range;
      candidates = [];
      let previousInside = false;
      for (let i = 0; i < n; i++) {
        const inside = x[i] >= lo && x[i] <= hi;
        if (inside || previousInside || (i + 1 < n && x[i + 1] >= lo && x[i + 1] <= hi)) candidates.push(i);
        previousInside = inside;
      }
    }
    const count = candidates ? candidates.length : n;
    const at = candidates ? (k) => candidates[k] : (k) => k;
    if (count <= most) {
      const all = new Uint32Array(count);
      for (let k = 0; k < count; k++) all[k] = at(k);
      return all;
    }
    const buckets = Math.floor(most / 2) - 1;
    const out = [at(0)];
    for (let b = 0; b < buckets; b++) {
      const k0 = Math.floor((b * count) / buckets);
      const k1 = Math.floor(((b + 1) * count) / buckets);
      if (k1 <= k0) continue;
      let kmin = k0; let kmax = k0;
      let lo = y[at(k0)]; let hi = lo;
      for (let k = k0 + 1; k < k1; k++) {
        const v = y[at(k)]; // NaN (no value) loses to any value
        if (v < lo || (lo !== lo && v === v)) { kmin = k; lo = v; }
        if (v > hi || (hi !== hi && v === v)) { kmax = k; hi = v; }
      }
      const picks = kmin === kmax ? [kmin] : [Math.min(kmin, kmax), Math.max(kmin, kmax)];
      for (const k of picks) if (at(k) !== out[out.length - 1]) out.push(at(k));
    }
    if (out[out.length - 1] !== at(count - 1)) out.push(at(count - 1));
    return Uint32Array.from(out);
  }

  // plotly puts a trace's uid in CSS selectors: letters, digits, '_' and '-' only.
  const uid = (scanId, what) => `${scanId}-${what}`.replace(/[^A-Za-z0-9_-]/g, '_');

  const pick = (values, indices) => {
    const out = new Float64Array(indices.length);
    for (let k = 0; k < indices.length; k++) out[k] = values[indices[k]];
    return out;
  };

  // ---- building the figures --------------------------------------------------------------------
  function xValues(scan, n) {
    if (view.x !== '#' && scan.series[view.x]) return scan.series[view.x].values;
    const idx = new Float64Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    return idx;
  }

  function yValues(scan, name) {
    const y = scan.series[name] ? scan.series[name].values : new Float64Array(0);
    const mon = view.monitor && scan.series[view.monitor] ? scan.series[view.monitor].values : null;
    if (!mon || name === view.monitor) return y;
    const n = Math.min(y.length, mon.length);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = mon[i] !== 0 ? y[i] / mon[i] : NaN;
    return out;
  }

  function stepTraces(scan, overlayIndex) {
    const traces = [];
    const overlay = overlayIndex !== null;
    // An overlaid scan without the shown x (another motor) has no place on this plot.
    if (overlay && view.x !== '#' && !scan.series[view.x]) return traces;
    const most = Math.min(DRAWN_MAX, DRAWN_PER_PX * Math.max(300, curves.width));
    for (const name of [...view.y1, ...view.y2]) {
      // A channel of the shown scan is a curve from the start, without points yet: the
      // chart keeps its series from scan to scan, and is not built again at the first points.
      if (!scan.series[name] && (overlay || !scan.channels[name])) continue;
      const y = yValues(scan, name);
      const n0 = scan.series[view.x] ? Math.min(y.length, scan.series[view.x].length) : y.length;
      const x = xValues(scan, n0);
      const n = Math.min(x.length, y.length);
      const indices = drawnIndices(x, y, n, view.xrange, most);
      traces.push({
        name: overlay ? `#${scan.info.scan_nb} ${name}` : name,
        x: pick(x, indices),
        y: pick(y, indices),
        yaxis: view.y2.has(name) ? 'y2' : 'y',
        color: colourOf(name),
        width: 1, // a hairline: the browser's software rasteriser draws it at half the cost
        dash: overlay ? ['dot', 'dash', 'dashdot'][overlayIndex % 3] : null,
        opacity: overlay ? 0.6 : 1,
        points: indices.length <= 300 && !overlay,
        meta: { scan: scan.id, counter: name, points: n, decimated: indices.length < n },
      });
    }
    return traces;
  }

  const axisStyle = { gridcolor: '#262c36', zerolinecolor: '#39414d', linecolor: '#39414d', automargin: true };
  const baseLayout = () => ({
    paper_bgcolor: '#12151a', plot_bgcolor: '#12151a',
    font: { color: '#c9d1d9', size: 12, family: 'system-ui, "DejaVu Sans", sans-serif' },
    margin: { l: 64, r: 24, t: 30, b: 48 },
    legend: { orientation: 'h', x: 0, y: 1.0, yanchor: 'bottom', bgcolor: 'rgba(0,0,0,0)' },
    hovermode: 'closest',
  });
  const plotConfig = { responsive: true, displaylogo: false, scrollZoom: true,
    modeBarButtonsToRemove: ['select2d', 'lasso2d', 'toImage'] };

  function unitOf(scan, name) {
    const c = scan.channels[name];
    return c && c.unit ? ` [${c.unit}]` : '';
  }

  function markerLines(scan) {
    if (!view.showMarkers) return [];
    const found = S.markers[scan.id];
    if (!found || found.x !== view.x || found.monitor !== view.monitor) return [];
    const first = [...view.y1, ...view.y2].find((c) => found.counters[c]);
    if (!first) return [];
    const m = found.counters[first];
    const lines = [['peak', m.peak && m.peak.x, '#e3b341'], ['cen', m.cen && m.cen.x, '#3fb950'], ['com', m.com, '#d2a8ff']];
    return lines.filter(([, at]) => at !== null && at !== undefined && Number.isFinite(at))
      .map(([label, at, color]) => ({ x: at, label: `${label} ${fmt(at)}`, color }));
  }

  function stepFigure(scan) {
    const traces = stepTraces(scan, null);
    let k = 0;
    for (const overlay of S.overlays.values()) {
      if (overlay.id !== scan.id) traces.push(...stepTraces(overlay, k++));
    }
    const first = [...view.y1][0];
    const second = [...view.y2][0];
    return {
      traces,
      xTitle: view.x === '#' ? 'point' : view.x + unitOf(scan, view.x),
      yTitle: (first ? first + unitOf(scan, first) : '') + (view.monitor ? ` / ${view.monitor}` : ''),
      y2Title: second ? second + unitOf(scan, second) : '',
      logy: view.logy,
      markers: markerLines(scan),
      revision: `${scan.id}|${view.x}`,
    };
  }

  // Mesh: cell (row, column) of point i; back-and-forth meshes run odd rows backwards.
  function meshFigure(scan) {
    const [rows, cols] = scan.info.shape;
    const [fast, slow] = scan.info.axes;
    const counter = view.meshCounter;
    const z = counter ? yValues(scan, counter) : new Float64Array(0);
    const xf = scan.series[fast] ? scan.series[fast].values : new Float64Array(0);
    const ys = scan.series[slow] ? scan.series[slow].values : new Float64Array(0);
    const n = Math.min(z.length, xf.length, ys.length);
    const layout = baseLayout();
    layout.uirevision = `${scan.id}|mesh|${view.mesh}`;
    layout.datarevision = S.renders;
    layout.xaxis = { ...axisStyle, title: { text: fast + unitOf(scan, fast) } };
    layout.yaxis = { ...axisStyle, title: { text: slow + unitOf(scan, slow) } };
    const colorbar = { title: { text: counter || '' }, outlinewidth: 0, tickfont: { color: '#c9d1d9' } };
    if (view.mesh === 'scatter') {
      const stride = Math.max(1, Math.ceil(n / SCATTER_MAX));
      const idx = []; for (let i = 0; i < n; i += stride) idx.push(i);
      const indices = Uint32Array.from(idx);
      return { layout, traces: [{ type: 'scatter', mode: 'markers', x: pick(xf, indices), y: pick(ys, indices),
        marker: { color: pick(z, indices), colorscale: 'Viridis', size: n > 2000 ? 4 : 9, showscale: true, colorbar },
        name: counter, uid: uid(scan.id, 'mesh'), meta: { scan: scan.id, counter, points: n, mesh: 'scatter' },
        hovertemplate: `${fast} %{x:.5g}<br>${slow} %{y:.5g}<br>${counter} %{marker.color:.5g}<extra></extra>` }] };
    }
    const grid = Array.from({ length: rows }, () => new Array(cols).fill(null));
    const xsum = new Float64Array(cols); const xcount = new Uint32Array(cols);
    const ysum = new Float64Array(rows); const ycount = new Uint32Array(rows);
    for (let i = 0; i < n && i < rows * cols; i++) {
      const r = Math.floor(i / cols);
      let c = i % cols;
      if (scan.info.backnforth && r % 2 === 1) c = cols - 1 - c;
      grid[r][c] = Number.isFinite(z[i]) ? z[i] : null;
      xsum[c] += xf[i]; xcount[c]++; ysum[r] += ys[i]; ycount[r]++;
    }
    const coords = (sum, count, size) => { // measured mean per column/row, extrapolated before
      const out = new Array(size); let last = -1; let step = 1;
      for (let k = 0; k < size; k++) if (count[k]) { out[k] = sum[k] / count[k]; }
      const known = [...Array(size).keys()].filter((k) => count[k]);
      if (known.length >= 2) step = (out[known[1]] - out[known[0]]) / (known[1] - known[0]) || 1;
      for (let k = 0; k < size; k++) {
        if (count[k]) { last = k; continue; }
        const ref = last >= 0 ? last : known[0];
        out[k] = ref === undefined ? k : out[ref] + (k - ref) * step;
      }
      return out;
    };
    return { layout, traces: [{ type: 'heatmap', z: grid, x: coords(xsum, xcount, cols), y: coords(ysum, ycount, rows),
      colorscale: 'Viridis', colorbar, zsmooth: false, name: counter, uid: uid(scan.id, 'mesh'),
      meta: { scan: scan.id, counter, points: n, mesh: 'image' },
      hovertemplate: `${fast} %{x:.5g}<br>${slow} %{y:.5g}<br>${counter} %{z:.5g}<extra></extra>` }] };
  }

  function spectrumFigures(scan) {
    const sp = view.spectrum && scan.spectra[view.spectrum];
    if (!sp) return null;
    const channels = new Float64Array(sp.size); for (let i = 0; i < sp.size; i++) channels[i] = i;
    const last = baseLayout();
    Object.assign(last, { uirevision: `${scan.id}|spectrum`, datarevision: S.renders,
      title: { text: `${view.spectrum}: spectrum ${sp.count}`, font: { size: 12 }, x: 0.02 },
      xaxis: { ...axisStyle, title: { text: 'channel' } },
      yaxis: { ...axisStyle, type: view.logy ? 'log' : 'linear' } });
    const water = baseLayout();
    const rowsX = new Float64Array(sp.columns); for (let i = 0; i < sp.columns; i++) rowsX[i] = i * sp.columnBin;
    const rowsY = sp.rows.map((_, r) => r * sp.bin);
    Object.assign(water, { uirevision: `${scan.id}|waterfall`, datarevision: S.renders,
      title: { text: `waterfall${sp.bin > 1 ? ` (${sp.bin} spectra per row)` : ''}`, font: { size: 12 }, x: 0.02 },
      xaxis: { ...axisStyle, title: { text: 'channel' } }, yaxis: { ...axisStyle, title: { text: 'point' } } });
    return {
      last: { traces: [{ type: 'scatter', mode: 'lines', x: channels, y: sp.last, name: view.spectrum,
        line: { color: '#58a6ff', width: 1.2 }, uid: uid(scan.id, 'last'), meta: { scan: scan.id, spectrum: view.spectrum } }], layout: last },
      water: { traces: [{ type: 'heatmap', z: sp.rows, x: rowsX, y: rowsY, colorscale: 'Viridis',
        colorbar: { outlinewidth: 0 }, uid: uid(scan.id, 'waterfall'), meta: { scan: scan.id, rows: sp.rows.length } }], layout: water },
    };
  }

  // ---- drawing -----------------------------------------------------------------------------
  let renderPending = false;
  let spectraShown = false;
  let plotDirty = true; // the figures need drawing again (else only the header and waiters)
  function requestRender(plotChanged = true) {
    if (plotChanged) plotDirty = true;
    if (renderPending) return;
    // A drawing too soon after the last waits for its timer, without asking for a frame: a
    // frame requested costs the browser a full pass (style, paint, commit, composite) even
    // when nothing on the page changed.
    if (drawTooSoon()) return;
    renderPending = true;
    // At the next frame; the timer draws also where frames are not given (a hidden tab).
    requestAnimationFrame(render);
    setTimeout(render, 100);
  }

  // A page nobody sees (a background tab, a minimised window) is sent no points and draws
  // nothing: its tab's title still follows the scan. Shown again, it gets what it missed.
  const pageHidden = () => document.visibilityState === 'hidden';

  // The channels drawn; of the live scan the server sends only these (and the progress).
  function shownChannels() {
    if (pageHidden()) return [];
    const scan = S.shown;
    const names = new Set([...view.y1, ...view.y2]);
    if (view.x && view.x !== '#') names.add(view.x);
    if (view.monitor) names.add(view.monitor);
    if (view.spectrum) names.add(view.spectrum);
    if (scan && isMesh(scan)) {
      for (const axis of scan.info.axes.slice(0, 2)) names.add(axis);
      if (view.meshCounter) names.add(view.meshCounter);
    }
    return [...names].sort();
  }

  let viewSent = null; // what the server was last told, for this connection
  function syncView() {
    if (!S.client || !S.shown) return; // no scan shown: no points wanted yet
    const channels = shownChannels();
    const key = JSON.stringify([S.client, channels]);
    if (key === viewSent) return;
    viewSent = key;
    fetch(url('/api/view', { client: S.client }), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ channels }),
    }).then((r) => {
      if (r.ok) { S.viewAcked = channels; requestRender(false); } else if (viewSent === key) viewSent = null;
    }, () => { if (viewSent === key) viewSent = null; });
  }

  function render() {
    if (!renderPending) return;
    renderPending = false;
    S.renders++;
    syncView();
    const started = performance.now();
    try {
      if (draw()) S.drawMs = performance.now() - started; // the last plot drawing's time
    } finally {
      // A state whose plot is still to be drawn would show the model ahead of the figure.
      if (!S.shown || !plotDirty || pageHidden()) settleWaiters();
    }
  }

  // plotly.js (1.5 MB, for meshes and spectra) is loaded when one is first shown: a page of
  // curves, the common case, opens without parsing it (a plot window runs at low priority).
  let plotlyLoading = null;
  function plotlyLoaded() {
    if (window.Plotly) return true;
    if (!plotlyLoading) {
      plotlyLoading = new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = url('/static/plotly-cartesian.min.js');
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      }).then(() => requestRender(), () => { plotlyLoading = null; setTimeout(requestRender, 1000); });
    }
    return false;
  }

  let lastDrawAt = -Infinity;
  let meshShown = false;
  let curves = null; // the step scans' chart (curves.js)
  let drawTimer = null;
  // True if the plot needs drawing sooner than DRAW_EVERY_MS after the last drawing: then
  // header and plot follow together when the interval is over (its timer is set). One frame
  // for both, not two: without a GPU each frame costs the browser a full composite. The
  // followed scan, once ended, is drawn at once: its final state is what the operator waits
  // for. (A scan from the history is ended too, but may have the live one overlaid.)
  function drawTooSoon() {
    const wait = lastDrawAt + DRAW_EVERY_MS - performance.now();
    if (!S.shown || !plotDirty || wait <= 0 || (S.shown.ended && S.shown === S.live)) return false;
    if (!drawTimer) drawTimer = setTimeout(() => { drawTimer = null; requestRender(); }, wait);
    return true;
  }

  // The header, and the plot when it changed, at most every DRAW_EVERY_MS. True if it drew.
  function draw() {
    const scan = S.shown;
    if (drawTooSoon()) return false;
    renderHeader();
    setHidden('empty', !!scan);
    if (!scan || !plotDirty || pageHidden()) return false;
    const mesh = isMesh(scan);
    const spectra = spectrumFigures(scan);
    if ((mesh || spectra) && !plotlyLoaded()) return false; // drawn when it has loaded
    lastDrawAt = performance.now();
    plotDirty = false;
    S.draws++;
    setHidden('main-plot', !mesh);
    setHidden('curve-plot', mesh);
    if (mesh) {
      curves.clear();
      const figure = meshFigure(scan);
      Plotly.react('main-plot', figure.traces, figure.layout, plotConfig);
      meshShown = true;
    } else {
      if (meshShown) { Plotly.purge('main-plot'); meshShown = false; }
      curves.draw(stepFigure(scan));
    }
    setHidden('spectra', !spectra);
    if (spectra) {
      Plotly.react('spectrum-plot', spectra.last.traces, spectra.last.layout, plotConfig);
      Plotly.react('waterfall-plot', spectra.water.traces, spectra.water.layout, plotConfig);
    } else if (spectraShown) {
      Plotly.purge('spectrum-plot'); Plotly.purge('waterfall-plot');
    }
    if (!!spectra !== spectraShown) { spectraShown = !!spectra; window.dispatchEvent(new Event('resize')); }
    renderMarkersTable(scan);
    maybeFetchMarkers(scan);
    return true;
  }

  function fmt(v, digits = 5) {
    if (v === null || v === undefined || !Number.isFinite(v)) return '–';
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(digits - 1);
    if (a < 1) return v.toFixed(digits - 1); // positions near 0: fixed decimals, no jitter
    return (+v.toPrecision(digits)).toString();
  }

  function fmtDuration(s) {
    if (!Number.isFinite(s) || s < 0) return '';
    const h = Math.floor(s / 3600); const m = Math.floor((s % 3600) / 60); const sec = Math.floor(s % 60);
    return `${h ? `${h}:` : ''}${String(m).padStart(h ? 2 : 1, '0')}:${String(sec).padStart(2, '0')}`;
  }

  // Text and classes are written only when they change: a write re-lays out the page.
  function setText(id, text) { const el = $(id); if (el.textContent !== text) el.textContent = text; }
  function setClass(id, name) { const el = $(id); if (el.className !== name) el.className = name; }
  function setHidden(id, hidden) { const el = $(id); if (el.hidden !== hidden) el.hidden = hidden; }

  function renderHeader() {
    const scan = S.shown;
    setClass('follow', S.follow ? 'on' : '');
    setText('follow', S.follow ? 'live' : (S.live ? `back to live #${S.live.info.scan_nb}` : 'live'));
    setClass('conn', `conn${S.connected ? ' ok' : ''}`);
    setText('conn', S.connected ? 'connected' : 'reconnecting…');
    setHidden('banner', !S.error);
    setText('banner', S.error ? `Scan data cannot be read: ${S.error}` : '');
    if (!scan) { setText('scan-title', 'waiting for a scan…'); setText('scan-nb', ''); setText('state', ''); return; }
    setText('scan-nb', `#${scan.info.scan_nb ?? ''}`);
    setText('scan-title', scan.info.title || scan.id);
    const title = `#${scan.info.scan_nb} ${scan.info.state || ''} · ${$('session').textContent}`;
    if (document.title !== title) document.title = title;
    const state = scan.info.state || '';
    setText('state', state);
    setClass('state', `state ${state}`);
    const npoints = scan.info.npoints || 0;
    const done = scan.done;
    const width = npoints ? `${Math.min(100, (100 * done) / npoints)}%` : (scan.ended ? '100%' : '0');
    if ($('progress-fill').style.width !== width) $('progress-fill').style.width = width;
    setText('progress-text', npoints ? `${done} / ${npoints}` : `${done}`);
    let seconds = NaN;
    if (scan.ended && scan.info.end_timestamp && scan.info.start_timestamp) seconds = scan.info.end_timestamp - scan.info.start_timestamp;
    else if (!scan.ended && scan.elapsed !== undefined) seconds = scan.elapsed + (performance.now() - scan.elapsedAt) / 1000;
    setText('elapsed', fmtDuration(seconds));
  }

  // ---- side panel ------------------------------------------------------------------------------
  function renderControls() {
    const scan = S.shown;
    const tbody = $('counters').tBodies[0];
    tbody.replaceChildren();
    $('x-select').replaceChildren(); $('monitor-select').replaceChildren();
    if (!scan) return;
    const mesh = isMesh(scan);
    $('mesh-options').hidden = !mesh;
    $('x-label').hidden = mesh;
    for (const name of counterNames(scan)) {
      const tr = document.createElement('tr');
      const on = mesh ? view.meshCounter === name : view.y1.has(name) || view.y2.has(name);
      tr.className = on ? '' : 'off';
      tr.dataset.counter = name;
      const unit = scan.channels[name].unit;
      tr.innerHTML = '<td><span class="swatch"></span></td><td class="name"></td><td class="unit"></td><td></td>';
      tr.querySelector('.swatch').style.background = colourOf(name);
      tr.querySelector('.name').textContent = name;
      tr.querySelector('.unit').textContent = unit || '';
      if (!mesh) {
        const b = document.createElement('button');
        b.type = 'button'; b.className = `y2${view.y2.has(name) ? ' on' : ''}`; b.textContent = 'y2';
        b.title = 'on the right axis';
        b.addEventListener('click', (ev) => { ev.stopPropagation(); toggleY2(name); });
        tr.lastChild.appendChild(b);
      }
      tr.addEventListener('click', () => toggleCounter(name));
      tbody.appendChild(tr);
    }
    const option = (select, value, text, selected) => {
      const o = document.createElement('option'); o.value = value; o.textContent = text; o.selected = selected; select.appendChild(o);
    };
    for (const name of xChoices(scan)) option($('x-select'), name, name === '#' ? 'point number' : name, name === view.x);
    option($('monitor-select'), '', 'none', !view.monitor);
    for (const name of scalarNames(scan).filter((n) => !TIME_AXES.includes(n) && !(scan.info.axes || []).includes(n))) {
      option($('monitor-select'), name, name, name === view.monitor);
    }
    $('mesh-counter').replaceChildren();
    for (const name of counterNames(scan).filter((n) => !(scan.info.axes || []).includes(n))) option($('mesh-counter'), name, name, name === view.meshCounter);
    $('mesh-image').classList.toggle('on', view.mesh === 'image');
    $('mesh-scatter').classList.toggle('on', view.mesh === 'scatter');
    const spectra = Object.entries(scan.channels).filter(([, c]) => c.shape.length === 1).map(([n]) => n);
    $('spectrum-label').hidden = spectra.length < 2;
    $('spectrum-select').replaceChildren();
    for (const name of spectra) option($('spectrum-select'), name, name, name === view.spectrum);
    $('log-y').checked = view.logy;
    $('show-markers').checked = view.showMarkers;
  }

  function toggleCounter(name) {
    if (isMesh(S.shown)) { view.meshCounter = name; }
    else if (view.y1.has(name) || view.y2.has(name)) { view.y1.delete(name); view.y2.delete(name); }
    else view.y1.add(name);
    viewChanged();
  }

  function toggleY2(name) {
    if (view.y2.has(name)) { view.y2.delete(name); view.y1.add(name); }
    else { view.y1.delete(name); view.y2.add(name); }
    viewChanged();
  }

  function viewChanged() { renderControls(); requestRender(); }

  function bindControls() {
    $('x-select').addEventListener('change', (e) => { view.x = e.target.value; view.y1.delete(view.x); view.y2.delete(view.x); view.xrange = null; viewChanged(); });
    $('monitor-select').addEventListener('change', (e) => { view.monitor = e.target.value; viewChanged(); });
    $('log-y').addEventListener('change', (e) => { view.logy = e.target.checked; viewChanged(); });
    $('show-markers').addEventListener('change', (e) => { view.showMarkers = e.target.checked; viewChanged(); });
    $('mesh-counter').addEventListener('change', (e) => { view.meshCounter = e.target.value; viewChanged(); });
    $('mesh-image').addEventListener('click', () => { view.mesh = 'image'; viewChanged(); });
    $('mesh-scatter').addEventListener('click', () => { view.mesh = 'scatter'; viewChanged(); });
    $('spectrum-select').addEventListener('change', (e) => { view.spectrum = e.target.value; viewChanged(); });
    $('follow').addEventListener('click', () => { if (S.live) show(S.live, true); });
    curves = new window.BeamshellCurves($('curve-plot'), {
      onZoom: (range) => { view.xrange = range; requestRender(); }, // the zoomed range in full
      onLegend: (counter) => { if (S.shown && !isMesh(S.shown)) toggleCounter(counter); },
    });
  }

  // ---- markers (peak, cen, com from the server's analysis) -------------------------------------
  let markersInFlight = false;
  let markersAt = 0;
  let markersTimer = null;
  const shownCounters = () => [...view.y1, ...view.y2].sort().join(',');
  function markersKey(scan) {
    return `${scan.id}|${view.x}|${view.monitor}|${shownCounters()}|${scan.done}|${scan.ended}`;
  }
  // Asked of the server (the session's own analysis functions), at most twice a second
  // while points arrive, once more when the scan has ended.
  function maybeFetchMarkers(scan) {
    if (!view.showMarkers || isMesh(scan) || view.x === '#' || markersInFlight) return;
    const found = S.markers[scan.id];
    if (found && found.key === markersKey(scan)) return;
    const wait = MARKERS_EVERY_MS - (performance.now() - markersAt);
    if (wait > 0) {
      if (!markersTimer) markersTimer = setTimeout(() => { markersTimer = null; requestRender(); }, wait);
      return;
    }
    markersInFlight = true; markersAt = performance.now();
    const key = markersKey(scan); const x = view.x; const monitor = view.monitor;
    fetch(url('/api/markers', { id: scan.id, x, monitor, counters: shownCounters() }))
      .then((r) => (r.ok ? r.json() : null))
      .then((json) => {
        for (const id of Object.keys(S.markers)) if (id !== scan.id) delete S.markers[id];
        S.markers[scan.id] = { key, x, monitor, counters: (json && json.counters) || {} };
        if (json) requestRender();
      })
      .catch(() => {})
      .finally(() => { markersInFlight = false; });
  }

  let markersShown = null; // the table's rows as last written
  function renderMarkersTable(scan) {
    const found = S.markers[scan.id];
    const tbody = $('markers').tBodies[0];
    setHidden('markers-section', !view.showMarkers || isMesh(scan) || !found
      || ![...view.y1, ...view.y2].some((c) => found.counters[c]));
    const rows = [];
    for (const name of found ? [...view.y1, ...view.y2] : []) {
      const m = found.counters[name];
      if (m) rows.push([name, fmt(m.peak && m.peak.x), fmt(m.cen && m.cen.x), fmt(m.cen && m.cen.fwhm), fmt(m.com)]);
    }
    const key = JSON.stringify([!!found, rows]);
    if (key === markersShown) return; // unchanged: the page is not laid out again
    markersShown = key;
    if (!found) { tbody.replaceChildren(); return; }
    tbody.innerHTML = '<tr><th></th><th>peak</th><th>cen</th><th>fwhm</th><th>com</th></tr>';
    for (const texts of rows) {
      const tr = document.createElement('tr');
      for (const text of texts) {
        const td = document.createElement('td'); td.textContent = text; tr.appendChild(td);
      }
      tr.firstChild.style.color = colourOf(texts[0]);
      tbody.appendChild(tr);
    }
  }

  // ---- history -------------------------------------------------------------------------------
  const historyItems = new Map(); // id -> li
  function historyRow(summary) {
    let li = historyItems.get(summary.id);
    if (!li) {
      li = document.createElement('li');
      li.dataset.id = summary.id;
      li.innerHTML = '<div class="row"><span class="nb"></span><span class="title"></span><span class="st"></span><button type="button" class="add" title="overlay on the plot">+</button></div>';
      li.querySelector('.row').addEventListener('click', () => pickHistory(li.dataset.id));
      li.querySelector('.add').addEventListener('click', (ev) => { ev.stopPropagation(); toggleOverlay(li.dataset.id); });
      historyItems.set(summary.id, li);
    }
    li.className = summary.kind === 'scan_group' ? 'group' : '';
    li.querySelector('.nb').textContent = `#${summary.nb ?? ''}`;
    const points = summary.kind === 'scan_group' ? `${summary.members.length} scans` : `${summary.done ?? 0}/${summary.npoints ?? '?'} pts`;
    li.querySelector('.title').textContent = `${summary.title}`;
    li.querySelector('.title').title = `${summary.title} · ${points}`;
    const st = li.querySelector('.st');
    st.textContent = summary.state || ''; st.className = `st ${summary.state || ''}`;
    li.querySelector('.add').hidden = summary.kind === 'scan_group';
    if (summary.kind === 'scan_group') {
      let ul = li.querySelector('ul.members');
      if (!ul) { ul = document.createElement('ul'); ul.className = 'members'; li.appendChild(ul); }
      ul.replaceChildren(...summary.members.map((id) => {
        const m = S.history.get(id);
        const child = document.createElement('li');
        child.innerHTML = '<div class="row"><span class="nb"></span><span class="title"></span><span class="st"></span></div>';
        child.querySelector('.nb').textContent = m ? `#${m.nb}` : '';
        child.querySelector('.title').textContent = m ? m.title : id.split(':').pop();
        child.querySelector('.st').textContent = m ? m.state || '' : '';
        child.querySelector('.st').className = `st ${m ? m.state || '' : ''}`;
        child.querySelector('.row').addEventListener('click', (ev) => { ev.stopPropagation(); pickHistory(id); });
        return child;
      }));
    }
    return li;
  }

  function applyHistory(msg) {
    if (msg.reset) { S.history.clear(); historyItems.clear(); $('history').replaceChildren(); }
    const list = $('history');
    for (const summary of msg.scans) {
      const isNew = !S.history.has(summary.id);
      S.history.set(summary.id, summary); // in creation order, newest last
      const li = historyRow(summary);
      if (isNew || msg.reset) list.prepend(li);
    }
    while (S.history.size > HISTORY_MAX) {
      const oldest = S.history.keys().next().value;
      S.history.delete(oldest);
      const li = historyItems.get(oldest);
      if (li) li.remove();
      historyItems.delete(oldest);
    }
    for (const summary of msg.scans) { // groups list members that may have arrived after them
      if (summary.kind !== 'scan_group') for (const g of S.history.values()) if (g.kind === 'scan_group' && g.members.includes(summary.id)) historyRow(g);
    }
    markHistory();
  }

  function markHistory() {
    for (const [id, li] of historyItems) {
      li.classList.toggle('shown', !!S.shown && S.shown.id === id);
      li.classList.toggle('overlaid', S.overlays.has(id));
    }
  }

  async function fetchScan(id) {
    if (S.live && S.live.id === id) return S.live;
    const response = await fetch(url('/api/scan', { id }));
    if (!response.ok) throw new Error(await response.text());
    return loadScan(await response.json());
  }

  async function pickHistory(id) {
    try {
      const scan = await fetchScan(id);
      if (scan.kind === 'scan_group') {
        const members = await Promise.all(scan.members.slice(0, GROUP_MEMBERS_MAX).map(fetchScan));
        if (!members.length) return;
        S.overlays.clear();
        for (const m of members.slice(1)) S.overlays.set(m.id, m);
        show(members[0], S.live && members[0].id === S.live.id);
        return;
      }
      show(scan, S.live && scan.id === S.live.id);
    } catch (err) { S.error = String(err.message || err); renderHeader(); }
  }

  async function toggleOverlay(id) {
    if (S.overlays.has(id)) { S.overlays.delete(id); }
    else {
      try {
        const scan = await fetchScan(id);
        S.overlays.set(id, scan);
        while (S.overlays.size > OVERLAY_MAX) S.overlays.delete(S.overlays.keys().next().value);
      } catch (err) { S.error = String(err.message || err); }
    }
    markHistory(); requestRender();
  }

  function show(scan, follow) {
    const previous = S.shown;
    S.follow = !!follow;
    S.shown = scan;
    if (!previous || previous.id !== scan.id) {
      // Only the counters' names are kept of the previous scan (its data may go).
      view.previousCounters = previous ? JSON.stringify(previous.info.counters || []) : null;
      chooseDefaults(scan, view.previousCounters);
    }
    S.overlays.delete(scan.id);
    renderControls(); markHistory(); requestRender();
  }

  // ---- the event stream -------------------------------------------------------------------------
  function connect() {
    // select: the stream sends the points of the channels this page shows only (syncView).
    const source = new EventSource(url('/events', { select: '1' }));
    // Every change goes through a drawing, where the page's waiters are checked too.
    source.onopen = () => { S.connected = true; requestRender(false); };
    source.onerror = () => { S.connected = false; requestRender(false); };
    source.addEventListener('hello', (e) => {
      S.client = JSON.parse(e.data).client; S.connected = true; S.live = null; S.viewAcked = null; requestRender(false);
    });
    source.addEventListener('status', (e) => { S.error = JSON.parse(e.data).error; requestRender(false); });
    source.addEventListener('history', (e) => { applyHistory(JSON.parse(e.data)); requestRender(false); });
    source.addEventListener('scan', (e) => {
      const desc = JSON.parse(e.data);
      const wasShown = S.shown && S.live && S.shown === S.live;
      S.live = makeScan(desc);
      if (S.follow || !S.shown || wasShown) show(S.live, true);
      else requestRender(false);
    });
    source.addEventListener('data', (e) => {
      const msg = JSON.parse(e.data);
      S.updates++;
      if (!S.live || msg.id !== S.live.id) return;
      if (msg.channels) {
        S.live.channels = msg.channels;
        if (S.shown === S.live) chooseDefaults(S.live, view.previousCounters);
      }
      applyData(S.live, msg);
      if (S.shown === S.live && msg.channels) renderControls();
      const drawn = !!(msg.series || msg.spectra || msg.info || msg.channels); // else progress only
      requestRender(drawn && (S.shown === S.live || S.overlays.has(S.live.id)));
    });
    return source;
  }

  // ---- for tests and for the curious: the page's state, read from plotly's own data -----------
  function meshState(gd) {
    return {
      traces: (gd.data || []).map((t) => ({ type: t.type, name: t.name, meta: t.meta || null,
        x: t.x ? Array.from(t.x) : [], y: t.y ? Array.from(t.y) : [],
        z: t.type === 'heatmap' ? t.z.map((row) => Array.from(row)) : null,
        color: t.marker && t.marker.color && typeof t.marker.color !== 'string' ? Array.from(t.marker.color) : null,
        yaxis: t.yaxis || 'y' })),
      yaxisType: gd.layout && gd.layout.yaxis ? gd.layout.yaxis.type : null,
      xRange: null,
      shapes: 0,
      markerLabels: null,
      zoom: null,
    };
  }

  function pageState() {
    const scan = S.shown;
    const drawn = meshShown ? meshState($('main-plot')) : curves.state();
    return {
      connected: S.connected,
      error: S.error,
      follow: S.follow,
      live: S.live ? S.live.id : null,
      renders: S.renders,
      draws: S.draws, // renders that drew the plot (others only the header)
      updates: S.updates, // data messages received
      drawMs: S.drawMs,
      plotly: !!window.Plotly, // loaded when a mesh or a spectrum is first shown
      shown: scan ? { id: scan.id, nb: scan.info.scan_nb, title: scan.info.title, state: scan.info.state || null,
        done: scan.done, series: Object.keys(scan.series).sort(), npoints: scan.info.npoints, ended: scan.ended, mesh: isMesh(scan),
        held: Object.fromEntries(Object.entries(scan.series).map(([name, series]) => [name, series.length])) } : null,
      viewAcked: S.viewAcked, // the channels the server last agreed to send
      header: { state: $('state').textContent, progress: $('progress-text').textContent, title: $('scan-title').textContent,
        elapsed: $('elapsed').textContent },
      view: { x: view.x, y1: [...view.y1], y2: [...view.y2], monitor: view.monitor, logy: view.logy, mesh: view.mesh },
      traces: drawn.traces, // read from the charting library's state
      yaxisType: drawn.yaxisType,
      xRange: drawn.xRange,
      shapes: drawn.shapes, // peak / cen / com lines drawn
      markerLabels: drawn.markerLabels, // where their labels were drawn
      ticks: drawn.ticks || null, // each axis's tick positions and labels, as drawn
      zoom: drawn.zoom, // the x range the user zoomed to
      markers: scan && S.markers[scan.id] ? S.markers[scan.id].counters : null,
      spectra: $('spectra').hidden ? null : {
        last: Array.from(($('spectrum-plot').data || [{ y: [] }])[0].y || []),
        rows: ($('waterfall-plot').data || [{ z: [] }])[0].z.length,
      },
      history: [...S.history.values()].map((h) => ({ id: h.id, nb: h.nb, state: h.state, kind: h.kind, members: h.members })),
      held: { scans: new Set([S.live, S.shown, ...S.overlays.values()].filter(Boolean)).size,
        overlays: S.overlays.size, historyRows: historyItems.size, markers: Object.keys(S.markers).length },
    };
  }

  function settleWaiters() {
    if (!S.waiters.length) return;
    const state = pageState();
    S.waiters = S.waiters.filter(({ predicate, resolve }) => {
      let ok = false;
      try { ok = predicate(state); } catch (err) { ok = false; }
      if (ok) resolve(state);
      return !ok;
    });
  }

  window.beamshellPlot = {
    state: pageState,
    // A promise of the page state once predicate(state) holds, checked after every drawing.
    waitFor(predicate) {
      return new Promise((resolve) => { S.waiters.push({ predicate, resolve }); requestRender(false); });
    },
    get curves() { return curves; }, // the step scans' chart (its uPlot object: .u)
    show: pickHistory,
    overlay: toggleOverlay,
    setView(changes) { Object.assign(view, changes); if (changes.y1) view.y1 = new Set(changes.y1); if (changes.y2) view.y2 = new Set(changes.y2); viewChanged(); },
  };

  bindControls();
  document.addEventListener('visibilitychange', () => { syncView(); requestRender(); });
  connect();
  setInterval(() => { if (S.shown && !S.shown.ended) renderHeader(); }, 1000);
})();
