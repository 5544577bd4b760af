/* UnitLayer: every unit of the plan drawn on one canvas over a Leaflet map.
   Shapes arrive as one binary buffer of flat arrays already projected to zoom-0 world
   pixels (workflows/ui/geometry.py), and are redrawn per frame: one fill per colour, a
   dark stroke under each territory's fills drawn only for units on a territory's edge
   (the fills hide it inside, so only territory outlines show), highlights on top.
   Shapes smaller than a few pixels are drawn as their boxes. Hit testing goes through a
   uniform grid of bounding boxes. */
(function () {
  'use strict';
  const R = 6378137, MAXLAT = 85.0511287798;

  // The geometry buffer of workflows/ui/geometry.py (encode): magic "TPG1", a uint32
  // header length, a JSON header, then 8-byte aligned little-endian arrays. Positions are
  // already in zoom-0 world pixels, as float32 offsets from header.origin.
  const TYPES = { f8: Float64Array, f4: Float32Array, i4: Int32Array };
  function decodeGeometry(buf) {
    const magic = new TextDecoder().decode(new Uint8Array(buf, 0, 4));
    if (magic !== 'TPG1') throw new Error('the server sent no geometry buffer');
    const size = new DataView(buf).getUint32(4, true);
    const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, size)));
    const g = { kind: head.kind, n: head.n, origin: head.origin, lonlat: head.lonlat };
    for (const a of head.arrays) g[a.name] = new TYPES[a.dtype](buf, 8 + size + a.offset, a.length);
    return g;
  }

  class UnitLayer extends L.Layer {
    constructor(g, options) {
      super(options);
      this.g = g; this.kind = g.kind; this.n = g.n;
      this.crs = g.lonlat ? L.CRS.EPSG3857 : L.CRS.Simple;
      this.origin = g.origin;
      this.cx = g.cx; this.cy = g.cy; this.c = g.coords;
      this.ringStart = g.ring_start; this.unitRing = g.unit_ring;
      this.colour = new Array(this.n).fill('#ccc');
      this.group = new Int32Array(this.n);   // territory index: outlines drawn per group
      this.flags = new Uint8Array(this.n);   // 1 selected, 2 locked, 4 highlighted, 8 moved
      this.border = new Uint8Array(this.n);  // 1: a neighbour lies in another group
      this.hover = -1;
      this.labels = null;
      this._bbox();
      this._grid();
    }

    _hasShape(i) { return this.kind !== 'point' && this.unitRing[i + 1] > this.unitRing[i]; }

    _bbox() {
      const n = this.n, c = this.c;
      this.bx0 = new Float32Array(n); this.by0 = new Float32Array(n);
      this.bx1 = new Float32Array(n); this.by1 = new Float32Array(n);
      let X0 = Infinity, Y0 = Infinity, X1 = -Infinity, Y1 = -Infinity;
      for (let i = 0; i < n; i++) {
        let x0 = this.cx[i], y0 = this.cy[i], x1 = x0, y1 = y0;
        if (this._hasShape(i)) {
          x0 = y0 = Infinity; x1 = y1 = -Infinity;
          for (let v = this.ringStart[this.unitRing[i]]; v < this.ringStart[this.unitRing[i + 1]]; v++) {
            const x = c[2 * v], y = c[2 * v + 1];
            if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
          }
        }
        this.bx0[i] = x0; this.by0[i] = y0; this.bx1[i] = x1; this.by1[i] = y1;
        if (x0 < X0) X0 = x0; if (y0 < Y0) Y0 = y0; if (x1 > X1) X1 = x1; if (y1 > Y1) Y1 = y1;
      }
      this.extent = [X0, Y0, X1, Y1];
    }

    _grid() {
      const [X0, Y0, X1, Y1] = this.extent;
      const side = Math.max(8, Math.ceil(Math.sqrt(this.n / 2)));
      this.gw = side; this.gh = side;
      this.gsx = (X1 - X0) / side || 1; this.gsy = (Y1 - Y0) / side || 1;
      const cells = new Array(side * side);
      for (let i = 0; i < this.n; i++) {
        const a = this._cell(this.bx0[i], this.by0[i]), b = this._cell(this.bx1[i], this.by1[i]);
        for (let gy = a[1]; gy <= b[1]; gy++) for (let gx = a[0]; gx <= b[0]; gx++) {
          const k = gy * side + gx; (cells[k] || (cells[k] = [])).push(i);
        }
      }
      this.cells = cells;
    }

    _cell(x, y) {
      const gx = Math.min(this.gw - 1, Math.max(0, Math.floor((x - this.extent[0]) / this.gsx)));
      const gy = Math.min(this.gh - 1, Math.max(0, Math.floor((y - this.extent[1]) / this.gsy)));
      return [gx, gy];
    }

    bounds() {  // Leaflet LatLngBounds of all units
      const [X0, Y0, X1, Y1] = this.extent, [ox, oy] = this.origin;
      return L.latLngBounds(this.crs.pointToLatLng(L.point(X0 + ox, Y1 + oy), 0),
                            this.crs.pointToLatLng(L.point(X1 + ox, Y0 + oy), 0));
    }

    latLng(i) { return this.crs.pointToLatLng(L.point(this.cx[i] + this.origin[0], this.cy[i] + this.origin[1]), 0); }

    setBorders() {  // units with a neighbour in another group get the territory outline
      const a = this.g.edge_a, b = this.g.edge_b;
      if (!a.length) { this.border.fill(1); return; }
      this.border.fill(0);
      for (let k = 0; k < a.length; k++) {
        if (this.group[a[k]] !== this.group[b[k]]) { this.border[a[k]] = 1; this.border[b[k]] = 1; }
      }
    }

    onAdd(map) {
      this._map = map;
      const c = this._canvas = L.DomUtil.create('canvas', 'units-canvas');
      c.style.position = 'absolute'; c.style.left = '0'; c.style.top = '0';
      c.style.zIndex = 350; c.style.pointerEvents = 'none';
      map.getContainer().appendChild(c);
      this._events = { move: this.redraw, zoom: this.redraw, resize: this.redraw, viewreset: this.redraw };
      map.on(this._events, this);
      this.redraw();  // on the next frame, once the page has coloured the units
    }

    onRemove(map) { map.off(this._events, this); this._canvas.remove(); }

    redraw() {
      if (this._frame) return;
      this._frame = requestAnimationFrame(() => { this._frame = null; this.draw(); });
    }

    _view() {
      const m = this._map, size = m.getSize(), z = m.getZoom();
      const scale = m.getZoomScale(z, 0), px = m.getPixelBounds().min;
      // screen = offset * scale - o, with the geometry's origin folded into o
      return { size, scale, ox: px.x - this.origin[0] * scale, oy: px.y - this.origin[1] * scale };
    }

    toWorld(containerPoint) {  // container pixel -> zoom-0 world pixel
      const v = this._view();
      return [(containerPoint.x + v.ox) / v.scale, (containerPoint.y + v.oy) / v.scale];
    }

    toScreen(i) {
      const v = this._view();
      return [this.cx[i] * v.scale - v.ox, this.cy[i] * v.scale - v.oy];
    }

    _small(i, s) { return (this.bx1[i] - this.bx0[i]) * s < 4 && (this.by1[i] - this.by0[i]) * s < 4; }

    _path(ctx, i, v) {
      const s = v.scale, ox = v.ox, oy = v.oy;
      if (!this._hasShape(i)) {
        const r = this._radius;
        ctx.moveTo(this.cx[i] * s - ox + r, this.cy[i] * s - oy);
        ctx.arc(this.cx[i] * s - ox, this.cy[i] * s - oy, r, 0, 2 * Math.PI);
        return;
      }
      if (this._small(i, s)) {  // under 4 px a shape looks like its box, at a seventh of the calls
        const w = (this.bx1[i] - this.bx0[i]) * s, h = (this.by1[i] - this.by0[i]) * s;
        ctx.rect(this.bx0[i] * s - ox, this.by0[i] * s - oy, Math.max(w, 1), Math.max(h, 1));
        return;
      }
      const c = this.c;
      for (let r = this.unitRing[i]; r < this.unitRing[i + 1]; r++) {
        const a = this.ringStart[r], b = this.ringStart[r + 1];
        ctx.moveTo(c[2 * a] * s - ox, c[2 * a + 1] * s - oy);
        for (let k = a + 1; k < b; k++) ctx.lineTo(c[2 * k] * s - ox, c[2 * k + 1] * s - oy);
        ctx.closePath();
      }
    }

    draw() {
      const map = this._map; if (!map) return;
      const v = this._view(), dpr = window.devicePixelRatio || 1, c = this._canvas;
      if (c.width !== v.size.x * dpr || c.height !== v.size.y * dpr) {
        c.width = v.size.x * dpr; c.height = v.size.y * dpr;
        c.style.width = v.size.x + 'px'; c.style.height = v.size.y + 'px';
      }
      const ctx = c.getContext('2d');
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, v.size.x, v.size.y);
      // only units whose box meets the view
      const vx0 = v.ox / v.scale, vy0 = v.oy / v.scale;
      const vx1 = (v.ox + v.size.x) / v.scale, vy1 = (v.oy + v.size.y) / v.scale;
      const visible = [];
      for (let i = 0; i < this.n; i++) {
        if (this.bx1[i] >= vx0 && this.bx0[i] <= vx1 && this.by1[i] >= vy0 && this.by0[i] <= vy1) visible.push(i);
      }
      const spacing = Math.sqrt((this.extent[2] - this.extent[0]) * (this.extent[3] - this.extent[1]) / this.n) * v.scale;
      this._radius = Math.max(2, Math.min(9, spacing * 0.35));
      const groups = new Map();
      for (const i of visible) {
        const g = this.group[i]; let arr = groups.get(g); if (!arr) groups.set(g, arr = []); arr.push(i);
      }
      const polygons = this.kind !== 'point';
      const fine = spacing > 6;  // unit borders only when units are big enough to see them
      ctx.lineJoin = 'round';
      if (polygons) this.setBorders();
      for (const [, members] of groups) {
        if (polygons) {
          // the outline under the fills: only units on the group's edge can show it
          ctx.beginPath(); for (const i of members) if (this.border[i]) this._path(ctx, i, v);
          ctx.strokeStyle = '#1b1f24'; ctx.lineWidth = spacing > 4 ? 2.4 : 1.4; ctx.stroke();
        }
        const byColour = new Map();
        for (const i of members) { const k = this.colour[i]; let a = byColour.get(k); if (!a) byColour.set(k, a = []); a.push(i); }
        for (const [colour, list] of byColour) {
          // shapes fill even-odd (holes listed as rings stay holes); boxes of tiny shapes
          // overlap their neighbours' boxes, so they fill non-zero in a path of their own
          let boxes = false;
          ctx.beginPath();
          for (const i of list) if (polygons && this._small(i, v.scale)) boxes = true; else this._path(ctx, i, v);
          ctx.fillStyle = colour; ctx.fill('evenodd');
          if (fine && polygons) { ctx.strokeStyle = 'rgba(255,255,255,.75)'; ctx.lineWidth = 0.6; ctx.stroke(); }
          if (boxes) {
            ctx.beginPath(); for (const i of list) if (this._small(i, v.scale)) this._path(ctx, i, v);
            ctx.fill('nonzero');
          }
          if (!polygons) { ctx.strokeStyle = '#333'; ctx.lineWidth = 0.7; ctx.stroke(); }
        }
      }
      this._overlay(ctx, v, visible, 8, p => { p.setLineDash([4, 3]); p.strokeStyle = '#6f42c1'; p.lineWidth = 1.6; });
      this._overlay(ctx, v, visible, 4, p => { p.setLineDash([]); p.strokeStyle = '#cf222e'; p.lineWidth = 2.6; });
      this._locks(ctx, v, visible);
      this._overlay(ctx, v, visible, 1, p => { p.setLineDash([]); p.strokeStyle = '#ffd33d'; p.lineWidth = 3; }, 'rgba(255,211,61,.35)');
      if (this.hover >= 0) {
        ctx.setLineDash([]); ctx.beginPath(); this._path(ctx, this.hover, v);
        ctx.strokeStyle = '#fff'; ctx.lineWidth = 3; ctx.stroke();
        ctx.strokeStyle = '#000'; ctx.lineWidth = 1; ctx.stroke();
      }
      ctx.setLineDash([]);
      if (this.labels && spacing > 55) this._labels(ctx, v, visible);
      this.lastDrawn = visible.length;
      const waiting = this._waiting || []; this._waiting = [];
      waiting.forEach(resolve => resolve());
    }

    drawn() {  // resolves when the next draw has finished
      return new Promise(resolve => (this._waiting || (this._waiting = [])).push(resolve));
    }

    _overlay(ctx, v, visible, bit, style, fill) {
      ctx.beginPath(); let any = false;
      for (const i of visible) if (this.flags[i] & bit) { this._path(ctx, i, v); any = true; }
      if (!any) return;
      if (fill) { ctx.fillStyle = fill; ctx.fill('nonzero'); }
      style(ctx); ctx.stroke();
    }

    _locks(ctx, v, visible) {
      ctx.fillStyle = '#111';
      for (const i of visible) if (this.flags[i] & 2) {
        const [x, y] = this.toScreen(i);
        ctx.fillRect(x - 4, y - 1, 8, 6);
        ctx.beginPath(); ctx.arc(x, y - 1, 3, Math.PI, 0); ctx.lineWidth = 1.5; ctx.strokeStyle = '#111'; ctx.stroke();
      }
    }

    _labels(ctx, v, visible) {
      ctx.font = '600 11px system-ui,sans-serif'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
      ctx.lineWidth = 3; ctx.strokeStyle = 'rgba(255,255,255,.9)'; ctx.fillStyle = '#111';
      let drawn = 0;
      for (const i of visible) {
        if (drawn++ > 600) break;
        const [x, y] = this.toScreen(i);
        ctx.strokeText(this.labels[i], x, y + 10); ctx.fillText(this.labels[i], x, y + 10);
      }
    }

    _inside(i, x, y) {
      if (!this._hasShape(i)) return false;
      let inside = false;
      const c = this.c;
      for (let r = this.unitRing[i]; r < this.unitRing[i + 1]; r++) {
        const a = this.ringStart[r], b = this.ringStart[r + 1];
        for (let k = a, j = b - 1; k < b; j = k++) {
          const xi = c[2 * k], yi = c[2 * k + 1], xj = c[2 * j], yj = c[2 * j + 1];
          if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
        }
      }
      return inside;
    }

    hit(containerPoint) {  // unit under a container pixel, or -1
      const [x, y] = this.toWorld(containerPoint);
      const [X0, Y0, X1, Y1] = this.extent, v = this._view();
      const tol = (this._radius || 4) / v.scale * 1.5;
      if (x < X0 - tol || x > X1 + tol || y < Y0 - tol || y > Y1 + tol) return -1;
      const [gx, gy] = this._cell(x, y);
      const cand = this.cells[gy * this.gw + gx] || [];
      let best = -1, bestD = Infinity;
      for (const i of cand) {
        if (x < this.bx0[i] - tol || x > this.bx1[i] + tol || y < this.by0[i] - tol || y > this.by1[i] + tol) continue;
        if (this._inside(i, x, y)) return i;
        const d = Math.hypot(this.cx[i] - x, this.cy[i] - y);
        if (!this._hasShape(i) && d < tol && d < bestD) { best = i; bestD = d; }
      }
      return best;
    }

    within(ring) {  // units whose center lies inside a container-pixel polygon
      const w = ring.map(p => this.toWorld(p)), out = [];
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const [x, y] of w) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
      for (let i = 0; i < this.n; i++) {
        const x = this.cx[i], y = this.cy[i];
        if (x < x0 || x > x1 || y < y0 || y > y1) continue;
        let inside = false;
        for (let k = 0, j = w.length - 1; k < w.length; j = k++) {
          if ((w[k][1] > y) !== (w[j][1] > y) && x < (w[j][0] - w[k][0]) * (y - w[k][1]) / (w[j][1] - w[k][1]) + w[k][0]) inside = !inside;
        }
        if (inside) out.push(i);
      }
      return out;
    }

    interiorPoint(i) {  // a container pixel inside unit i (its center if that is inside)
      let x = this.cx[i], y = this.cy[i];
      if (this._hasShape(i) && !this._inside(i, x, y)) {
        outer: for (let a = 1; a < 12; a++) for (let b = 1; b < 12; b++) {
          const tx = this.bx0[i] + (this.bx1[i] - this.bx0[i]) * a / 12, ty = this.by0[i] + (this.by1[i] - this.by0[i]) * b / 12;
          if (this._inside(i, tx, ty)) { x = tx; y = ty; break outer; }
        }
      }
      const v = this._view();
      return [x * v.scale - v.ox, y * v.scale - v.oy];
    }
  }

  window.UnitLayer = UnitLayer;
  window.decodeGeometry = decodeGeometry;
})();
