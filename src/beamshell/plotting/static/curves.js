// beamshell live plot: the curves of step scans, drawn by uPlot on a canvas.
// A drawing of a few thousand points costs a few milliseconds (plotly.js's SVG took tens),
// which matters when pages share the scan's computer. uPlot's "mode 2" gives every curve
// its own x values, drawn in the order taken: overlays of other scans, scans that go
// down, any channel as x. Zoom: drag a box; mouse wheel zooms x about the pointer,
// shift + wheel pans x; double-click returns to the whole curves. A zoom stays while
// points arrive, until the scan or the x axis changes.
'use strict';
window.BeamshellCurves = (() => {
  const TEXT = '#c9d1d9';
  const GRID = '#262c36';
  const LINE = '#39414d';
  const FONT = '12px system-ui, "DejaVu Sans", sans-serif';
  const DASHES = { dot: [2, 4], dash: [7, 4], dashdot: [7, 3, 2, 3] };
  const HOVER_PX = 30; // the nearest point within this distance is read out
  // uPlot's mode 2 needs a series: a plot of no curve (yet) has this one, empty and unlisted.
  const NO_CURVE = { name: '', x: [], y: [], yaxis: 'y', color: 'transparent', width: 0, points: false, meta: null };

  // Values uPlot can draw: non-finite (and, on a log scale, non-positive) ones are gaps.
  const drawable = (values, log) => Array.from(values, (v) => (Number.isFinite(v) && (!log || v > 0) ? v : null));

  // The x range: the data's own, widened around a single position. uPlot's default range for
  // one negative x (the first point of most dscans) makes its tick loop run away (RangeError),
  // and the chart stays blank for the rest of the scan.
  const xRange = (u, min, max) => {
    if (min !== max || !Number.isFinite(min)) return [min, max];
    const pad = Math.abs(min) * 0.05 || 0.5;
    return [min - pad, max + pad];
  };

  // Tick labels with the digits their spacing needs, all alike. uPlot's own keep 3 decimals
  // at most: a fine scan over a few microns, or a curve normalised by a monitor, had every
  // label "0". Very small or large numbers are written with an exponent.
  const decimalsOf = (step) => {
    let d = 0;
    while (d < 15 && Math.abs(step * 10 ** d - Math.round(step * 10 ** d)) > 1e-6 * step * 10 ** d) d++;
    return d;
  };
  const general = (v) => (v === 0 || (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6)
    ? String(+v.toPrecision(6)) : v.toExponential());
  const tickLabels = (u, splits, axisIdx, space, incr) => {
    const logScale = u.scales[u.axes[axisIdx].scale].distr === 3;
    if (logScale || !(incr > 0)) return splits.map((v) => (v == null ? '' : general(v)));
    const big = Math.max(0, ...splits.map((v) => (v == null ? 0 : Math.abs(v))));
    const decimals = decimalsOf(incr);
    if (decimals <= 6 && big < 1e6) return splits.map((v) => (v == null ? '' : v.toFixed(decimals)));
    // The step's exponent says where its last digit is; its mantissa (2.5 of 2.5e7) may need
    // one more: ticks 1.200e+9, 1.225e+9, not 1.20e+9, 1.23e+9.
    const magnitude = Math.floor(Math.log10(incr));
    const digits = Math.min(15, Math.max(0, Math.floor(Math.log10(big || incr)) - magnitude)
      + decimalsOf(incr / 10 ** magnitude));
    return splits.map((v) => (v == null ? '' : v === 0 ? '0' : v.toExponential(digits)));
  };

  // Room for the tick labels: uPlot asks with the labels it is about to draw.
  const axisSize = (u, values) => 18 + 7 * Math.max(3, ...(values || []).map((v) => String(v).length));

  class Curves {
    // onZoom(range or null): the x range the user zoomed to; onLegend(counter): a name clicked.
    constructor(el, { onZoom, onLegend }) {
      this.el = el;
      this.onZoom = onZoom;
      this.u = null;
      this.shape = null; // what the chart was built for (series, axes): rebuilt when it changes
      this.revision = null; // zoom is kept while this (scan and x axis) stays
      this.zoom = null; // {scale key: [min, max]} the user chose, or null
      this.markers = [];
      this.labels = null; // where the markers' labels were last drawn (for tests)
      this.metas = [];
      this.pointsShown = []; // per curve: whether its points are marked (few of them)
      this.hover = { best: null };
      // The chart's size in CSS pixels, kept here: reading the element's would make the
      // browser lay the page out again in the middle of a drawing.
      this.width = el.clientWidth;
      this.height = el.clientHeight;
      // Resized at the next frame: resizing inside the observer's callback would change the
      // layout it is reporting (the browser then warns of a "ResizeObserver loop").
      new ResizeObserver((entries) => {
        const box = entries[entries.length - 1].contentRect;
        this.width = box.width;
        this.height = box.height;
        requestAnimationFrame(() => this.resize());
      }).observe(el);
      el.addEventListener('click', (e) => { // the legend toggles the counter, as its table row does
        const row = e.target.closest('.u-legend .u-series');
        if (!row || !this.u) return;
        e.stopPropagation();
        const label = row.querySelector('.u-label');
        const i = this.u.series.findIndex((x, k) => k > 0 && label && x.label === label.textContent);
        const meta = i > 0 ? this.metas[i - 1] : null;
        if (meta && meta.counter) onLegend(meta.counter);
      }, true);
    }

    // figure: {traces: [{name, x, y, yaxis, color, width, dash, opacity, points, meta}],
    //          xTitle, yTitle, y2Title, logy, markers: [{x, label, color}], revision}
    draw(figure) {
      // Whether points are marked is not part of the shape: uPlot asks at each drawing
      // (below), so a scan growing past a few hundred points does not rebuild the chart.
      const shape = JSON.stringify([figure.traces.map((t) => [t.name, t.yaxis, t.color, t.width, t.dash,
        t.opacity]), figure.xTitle, figure.yTitle, figure.y2Title, figure.logy]);
      if (figure.revision !== this.revision) {
        this.revision = figure.revision;
        if (this.zoom) { this.zoom = null; this.onZoom(null); }
      }
      this.markers = figure.markers;
      const traces = figure.traces.length ? figure.traces : [NO_CURVE];
      this.metas = traces.map((t) => t.meta); // of this drawing (setData keeps the series')
      this.pointsShown = traces.map((t) => !!t.points);
      const data = [null, ...traces.map((t) => [t.x, drawable(t.y, figure.logy)])];
      if (this.u && shape === this.shape) {
        this.u.setData(data, !this.zoom); // zoomed: the scales stay as the user set them
      } else {
        this.build(figure, data);
        this.shape = shape;
      }
    }

    build(figure, data) {
      if (this.u) this.u.destroy();
      const traces = figure.traces.length ? figure.traces : [NO_CURVE];
      const y2 = traces.some((t) => t.yaxis === 'y2');
      const distr = figure.logy ? 3 : 1;
      const axis = (scale, label, extra) => ({ scale, label, stroke: TEXT, font: FONT, labelFont: FONT,
        values: tickLabels, grid: { stroke: GRID, width: 1 }, ticks: { stroke: LINE, width: 1 }, ...extra });
      const opts = {
        mode: 2,
        ...this.size(),
        padding: [28, y2 ? 8 : 20, 4, 4], // the legend sits in the top padding
        legend: { show: figure.traces.length > 0, live: false },
        scales: { x: { time: false, range: xRange }, y: { distr }, y2: { distr } },
        axes: [
          axis('x', figure.xTitle, {}),
          axis('y', figure.yTitle, { size: axisSize }),
          ...(y2 ? [axis('y2', figure.y2Title, { side: 1, size: axisSize, grid: { show: false } })] : []),
        ],
        series: [{}, ...traces.map((t) => ({
          label: t.name,
          stroke: t.color,
          width: t.width,
          dash: DASHES[t.dash],
          alpha: t.opacity,
          facets: [{ scale: 'x', auto: true }, { scale: t.yaxis === 'y2' ? 'y2' : 'y', auto: true }],
          points: {
            show: (u, i) => !!this.pointsShown[i - 1],
            // uPlot marks the points of its x window (mode 1's); in mode 2 (ours) it marks
            // none unless given their indices.
            filter: (u, i, show) => this.pointsToMark(u, i, show),
            size: 5, width: 1, fill: t.color, stroke: t.color,
          },
        }))],
        cursor: {
          drag: { x: true, y: true, setScale: true },
          dataIdx: (u, seriesIdx) => this.nearest(u, seriesIdx),
          bind: { dblclick: () => null }, // the page's own reset (below)
          points: { size: 8 },
        },
        hooks: {
          setSelect: [(u) => this.selected(u)],
          setCursor: [(u) => this.readOut(u)],
          draw: [(u) => this.drawMarkers(u)],
        },
      };
      this.u = new uPlot(opts, data, this.el);
      if (this.zoom) { // rebuilt (a counter added, log scale...) under a zoom: keep it
        for (const [key, [min, max]] of Object.entries(this.zoom)) {
          if (this.u.scales[key]) this.u.setScale(key, { min, max });
        }
      }
      const over = this.u.over;
      over.addEventListener('dblclick', () => this.unzoom());
      over.addEventListener('wheel', (e) => this.wheel(e), { passive: false });
      this.tip = document.createElement('div');
      this.tip.className = 'curve-tip';
      this.tip.hidden = true;
      over.appendChild(this.tip);
    }

    size() {
      if (!this.width || !this.height) { // last seen hidden: measure (once) now it is shown
        this.width = this.el.clientWidth;
        this.height = this.el.clientHeight;
      }
      return { width: Math.max(200, this.width), height: Math.max(150, this.height) };
    }

    resize() {
      if (this.u) this.u.setSize(this.size());
    }

    // The box dragged: uPlot zooms to it next; the ranges are kept for the drawings to come.
    selected(u) {
      const { left, top, width, height } = u.select;
      if (!(width > 0 || height > 0)) return;
      const zoom = { x: [u.posToVal(left, 'x'), u.posToVal(left + width, 'x')] };
      for (const key of new Set(u.series.slice(1).map((s) => s.facets[1].scale))) {
        zoom[key] = [u.posToVal(top + height, key), u.posToVal(top, key)];
      }
      this.setZoom(zoom);
    }

    setZoom(zoom) {
      this.zoom = zoom;
      this.onZoom([...zoom.x]);
    }

    unzoom() {
      if (!this.zoom) return;
      this.zoom = null;
      this.onZoom(null); // the page draws again, whole, and the scales follow the data
    }

    // Wheel: zoom x about the pointer (shift: pan x); the y scales follow what is shown.
    wheel(e) {
      e.preventDefault();
      const u = this.u;
      const { min, max } = u.scales.x;
      if (min == null || max == null || max <= min) return;
      let lo; let hi;
      if (e.shiftKey) {
        const step = (max - min) * 0.1 * Math.sign(e.deltaY || e.deltaX);
        lo = min + step; hi = max + step;
      } else {
        const at = u.posToVal(e.offsetX, 'x');
        const factor = e.deltaY < 0 ? 0.8 : 1.25;
        lo = at - (at - min) * factor; hi = at + (max - at) * factor;
      }
      const zoom = { ...(this.zoom || {}), x: [lo, hi] };
      for (const key of new Set(u.series.slice(1).map((s) => s.facets[1].scale))) {
        if (!zoom[key]) zoom[key] = [u.scales[key].min, u.scales[key].max]; // y stays as it is
      }
      this.setZoom(zoom);
      u.setScale('x', { min: lo, max: hi });
    }

    // The index of the point of series `i` nearest the pointer (within HOVER_PX), or null.
    nearest(u, i) {
      if (i === 1) this.hover = { best: null };
      const { left, top } = u.cursor;
      const s = u.series[i];
      if (left == null || left < 0 || !s.show) return null;
      const [xs, ys] = u.data[i];
      const yKey = s.facets[1].scale;
      let found = null; let best = HOVER_PX * HOVER_PX;
      for (let k = 0; k < xs.length; k++) {
        if (ys[k] == null) continue;
        const dx = u.valToPos(xs[k], 'x') - left;
        const dy = u.valToPos(ys[k], yKey) - top;
        const d = dx * dx + dy * dy;
        if (d < best) { best = d; found = k; }
      }
      if (found !== null && (!this.hover.best || best < this.hover.best.d)) {
        this.hover.best = { d: best, series: i, index: found };
      }
      return found;
    }

    readOut(u) {
      const hit = this.hover.best;
      if (!hit || !this.tip) { if (this.tip) this.tip.hidden = true; return; }
      const s = u.series[hit.series];
      const [xs, ys] = u.data[hit.series];
      const fmt = (v) => (Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(4) : +v.toPrecision(6));
      this.tip.textContent = `${s.label}: ${fmt(ys[hit.index])}  ·  ${u.axes[0].label}: ${fmt(xs[hit.index])}`;
      this.tip.style.left = `${u.valToPos(xs[hit.index], 'x') + 10}px`;
      this.tip.style.top = `${u.valToPos(ys[hit.index], s.facets[1].scale) + 10}px`;
      this.tip.hidden = false;
    }

    pointsToMark(u, i, show) {
      return show ? Array.from(u.data[i][0].keys()) : null;
    }

    // peak / cen / com: dashed vertical lines with their values, over the curves.
    drawMarkers(u) {
      const ctx = u.ctx;
      const { left, top, width, height } = u.bbox;
      const ratio = uPlot.pxRatio;
      ctx.save();
      ctx.font = `${11 * ratio}px system-ui, "DejaVu Sans", sans-serif`;
      ctx.textBaseline = 'top';
      ctx.textAlign = 'left'; // set here: uPlot leaves its last axis's alignment behind
      const labels = [];
      this.markers.forEach((m, k) => {
        const x = u.valToPos(m.x, 'x', true);
        if (!(x >= left && x <= left + width)) return;
        ctx.strokeStyle = m.color; ctx.fillStyle = m.color; ctx.lineWidth = ratio;
        ctx.setLineDash([5 * ratio, 4 * ratio]);
        ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
        // Right of its line, or left of it where the plot ends: never over the axes.
        const textWidth = ctx.measureText(m.label).width;
        let at = x + 4 * ratio;
        if (at + textWidth > left + width) at = Math.max(left, x - 4 * ratio - textWidth);
        ctx.fillText(m.label, at, top + (4 + 14 * k) * ratio);
        labels.push({ text: m.label, left: at / ratio, right: (at + textWidth) / ratio });
      });
      ctx.restore();
      this.labels = { plot: [left / ratio, (left + width) / ratio], drawn: labels };
    }

    clear() {
      if (this.u) { this.u.destroy(); this.u = null; }
      this.shape = null; this.revision = null; this.zoom = null; this.markers = [];
      this.labels = null;
    }

    // What is drawn, read from uPlot's own state (for tests and the curious).
    state() {
      const u = this.u;
      if (!u) return { traces: [], yaxisType: null, xRange: null, shapes: 0, zoom: null, markerLabels: null };
      return {
        traces: u.series.slice(1).map((s, i) => ({ type: 'scatter', name: s.label, meta: this.metas[i] || null,
          x: Array.from(u.data[i + 1][0]), y: Array.from(u.data[i + 1][1]), yaxis: s.facets[1].scale,
          marked: this.pointsShown[i] ? u.data[i + 1][0].length : 0, // points uPlot marks
          z: null, color: null })).filter((t) => t.meta),
        yaxisType: u.scales.y.distr === 3 ? 'log' : 'linear',
        xRange: [u.scales.x.min, u.scales.x.max], // the x axis drawn
        shapes: this.markers.length,
        markerLabels: this.labels, // {plot: [left, right], drawn: [{text, left, right}]} in CSS px
        ticks: u.axes.map((a) => ({ scale: a.scale, at: a._splits, labels: a._values })), // as drawn
        zoom: this.zoom && this.zoom.x ? [...this.zoom.x] : null,
      };
    }
  }
  Curves.tickLabels = tickLabels; // for the tests, with a stand-in for the chart
  return Curves;
})();
