/* The planner page: state, map, panels. Everything the server does goes through the JSON
   API (see README "Planner"); no SQL is ever built here. */
(function () {
  'use strict';
  const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#edc948', '#76b7b2',
    '#ff9da7', '#9c755f', '#a0cbe8', '#ffbe7d', '#8cd17d', '#b6992d', '#499894', '#86bcb6',
    '#d37295', '#fabfd2', '#d4a6c8'];
  const $ = s => document.querySelector(s);
  const token = new URLSearchParams(location.search).get('token') || '';
  const S = {               // the page's state
    meta: null, units: null, n: 0, plan: [], locked: new Uint8Array(0), base: [],
    selected: new Set(), undo: [], redo: [], colours: {}, centers: {}, pinned: {}, planName: 'current',
    scenarios: [], tool: 'click', diff: null, hist: [], locations: null, showLocations: false,
  };
  const planner = window.planner = { state: S, ready: false, errors: [], marks: {} };
  const mark = name => { planner.marks[name] = performance.now(); };

  // -- API ------------------------------------------------------------------------------
  async function api(path, body, method) {
    const opt = { method: method || (body ? 'POST' : 'GET'), headers: {} };
    if (token) opt.headers['X-Terraplan-Token'] = token;
    if (body) { opt.headers['Content-Type'] = 'application/json'; opt.body = JSON.stringify(body); }
    const r = await fetch('api/' + path, opt);
    const type = r.headers.get('Content-Type') || '';
    if (!type.startsWith('application/json')) { if (!r.ok) throw new Error(r.statusText); return r; }
    const data = await r.json();
    if (!r.ok) throw new Error(data.error || r.statusText);
    return data;
  }
  function say(el, text, kind) { el.innerHTML = text ? `<div class="${kind || 'ok'}">${esc(text)}</div>` : ''; }
  function esc(s) { return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]); }
  const fmt = v => (v == null ? '' : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US')
    : Number.isInteger(v) ? String(v) : v.toFixed(2));

  // -- territory graph, colours, balance, contiguity ------------------------------------
  function territories() { return [...new Set(S.plan)].sort(); }
  function neighbours() { // unit adjacency lists
    if (S.adj) return S.adj;
    const adj = Array.from({ length: S.n }, () => []);
    const a = S.geom.edge_a, b = S.geom.edge_b;
    for (let k = 0; k < a.length; k++) { adj[a[k]].push(b[k]); adj[b[k]].push(a[k]); }
    return (S.adj = adj);
  }
  function colourTerritories() { // greedy colouring: neighbouring territories differ
    const names = territories(), adj = neighbours(), tadj = new Map(names.map(t => [t, new Set()]));
    for (let i = 0; i < S.n; i++) for (const j of adj[i]) if (S.plan[i] !== S.plan[j]) tadj.get(S.plan[i]).add(S.plan[j]);
    const uses = PALETTE.map(() => 0), idx = {};
    for (const t of names) {
      const taken = new Set([...tadj.get(t)].filter(x => x in idx).map(x => idx[x]));
      let best = -1;
      for (let c = 0; c < uses.length; c++) if (!taken.has(c) && (best < 0 || uses[c] < uses[best])) best = c;
      if (best < 0) { uses.push(0); best = uses.length - 1; }
      idx[t] = best; uses[best]++;
    }
    S.colours = {};
    for (const t of names) S.colours[t] = idx[t] < PALETTE.length ? PALETTE[idx[t]] : `hsl(${(idx[t] * 137.5) % 360},55%,62%)`;
  }
  function colourOf(t) { if (!(t in S.colours)) colourTerritories(); return S.colours[t] || '#bbb'; }

  function balance() {
    const names = territories(), pos = new Map(names.map((t, k) => [t, k])), m = names.length;
    const metrics = S.meta.metrics, tot = names.map(() => metrics.map(() => 0)), units = names.map(() => 0);
    const grand = metrics.map(() => 0);
    for (let i = 0; i < S.n; i++) {
      const k = pos.get(S.plan[i]); units[k]++;
      metrics.forEach((mname, j) => { const v = S.units.metrics[mname][i]; tot[k][j] += v; grand[j] += v; });
    }
    const pieces = contiguity(pos, m);
    return names.map((t, k) => ({
      territory: t, units: units[k], pieces: pieces[k],
      totals: tot[k], ratios: metrics.map((_, j) => grand[j] > 0 ? tot[k][j] / (grand[j] / m) : 0),
    }));
  }
  function contiguity(pos, m) { // connected pieces per territory, by breadth-first search
    const adj = neighbours(), seen = new Uint8Array(S.n), pieces = new Array(m).fill(0), queue = new Int32Array(S.n);
    for (let s = 0; s < S.n; s++) {
      if (seen[s]) continue;
      const t = S.plan[s]; pieces[pos.get(t)]++; seen[s] = 1;
      let head = 0, tail = 0; queue[tail++] = s;
      while (head < tail) {
        const i = queue[head++];
        for (const j of adj[i]) if (!seen[j] && S.plan[j] === t) { seen[j] = 1; queue[tail++] = j; }
      }
    }
    return pieces;
  }

  function renderBalance() {
    const rows = balance(), metrics = S.meta.metrics, tol = metrics.map(k => S.meta.tolerance[k] ?? 0.05);
    const broken = rows.filter(r => r.pieces > 1);
    const out = rows.filter(r => r.ratios.some((x, j) => Math.abs(x - 1) > tol[j] + 1e-9));
    $('#warnings').innerHTML =
      (broken.length ? `<div class="warn" id="contiguity-warning">Contiguity broken: ${broken.slice(0, 12).map(r => `${esc(r.territory)} (${r.pieces} pieces)`).join(', ')}${broken.length > 12 ? `, … (${broken.length} territories)` : ''}</div>` : '<div class="ok" id="contiguity-ok">All territories contiguous</div>') +
      (out.length ? `<div class="error" id="band-warning">${out.length} territor${out.length === 1 ? 'y' : 'ies'} outside the tolerance band: ${out.slice(0, 12).map(r => esc(r.territory)).join(', ')}${out.length > 12 ? ', …' : ''}</div>` : '');
    const range = metrics.map((_, j) => { const v = rows.map(r => r.ratios[j]); return [Math.min(...v), Math.max(...v)]; });
    $('#balance-summary').textContent = metrics.map((k, j) => `${k}: ${range[j][0].toFixed(3)}–${range[j][1].toFixed(3)} (±${(tol[j] * 100).toFixed(0)} %)`).join(' · ') + ` · ${rows.length} territories`;
    const lo = 0.7, hi = 1.3, pct = x => `${(Math.max(lo, Math.min(hi, x)) - lo) / (hi - lo) * 100}%`;
    let html = `<thead><tr><th>territory</th><th>units</th>${metrics.map(k => `<th>${esc(k)}</th>`).join('')}</tr></thead><tbody>`;
    for (const r of rows) {
      const bad = r.ratios.some((x, j) => Math.abs(x - 1) > tol[j] + 1e-9) || r.pieces > 1;
      html += `<tr data-t="${esc(r.territory)}" class="${bad ? 'bad' : ''}"><td><span class="swatch" style="background:${colourOf(r.territory)}"></span>${esc(r.territory)}${r.pieces > 1 ? ' ⚠' : ''}</td><td>${r.units}</td>`;
      r.ratios.forEach((x, j) => {
        const outb = Math.abs(x - 1) > tol[j] + 1e-9;
        html += `<td title="${esc(metrics[j])} ${fmt(r.totals[j])} = ${x.toFixed(3)} of target"><span class="meter${outb ? ' out' : ''}" data-metric="${esc(metrics[j])}" data-ratio="${x.toFixed(4)}"><span class="band" style="left:${pct(1 - tol[j])};width:calc(${pct(1 + tol[j])} - ${pct(1 - tol[j])})"></span><span class="fill" style="width:${pct(x)}"></span><span class="one" style="left:${pct(1)}"></span></span> <span class="ratio">${x.toFixed(3)}</span></td>`;
      });
      html += '</tr>';
    }
    $('#balance').innerHTML = html + '</tbody>';
  }

  // -- map --------------------------------------------------------------------------------
  let map, layer, centerLayer, locLayer;
  function paint() {
    for (let i = 0; i < S.n; i++) {
      const t = S.diff ? S.diff.plan[i] : S.showLocations && S.locations ? S.locations.assignment[i] : S.plan[i];
      layer.colour[i] = S.showLocations && S.locations ? locColour(t) : colourOf(t);
      let f = 0;
      if (S.selected.has(i)) f |= 1;
      if (S.locked[i]) f |= 2;
      if (S.diff && S.diff.moved.has(i)) f |= 4;
      if (!S.diff && S.plan[i] !== S.base[i]) f |= 8;
      layer.flags[i] = f;
    }
    const names = territories(), pos = new Map(names.map((t, k) => [t, k]));
    for (let i = 0; i < S.n; i++) layer.group[i] = pos.get(S.diff ? S.diff.plan[i] : S.plan[i]) ?? 0;
    layer.redraw(); drawCenters(); renderBalance(); toolbarState();
  }
  function locColour(f) { if (f == null) return '#ddd'; const k = S.locations.facilities.findIndex(x => x.id === f); return PALETTE[(k >= 0 ? k : 0) % PALETTE.length]; }
  function drawCenters() {
    centerLayer.clearLayers();
    if (S.showLocations) return;
    const idx = S.idIndex;
    for (const t of territories()) {
      let c = S.centers[t]; let i = idx.get(c);
      if (i == null || S.plan[i] !== t) { i = S.plan.indexOf(t); S.centers[t] = S.units.ids[i]; }
      const pin = S.pinned[t];
      if (pin != null && S.plan[idx.get(pin)] !== t) delete S.pinned[t];  // its unit moved away
      const pinned = S.pinned[t] != null;
      if (pinned) i = idx.get(S.pinned[t]);
      const ll = unitLatLng(i);
      L.marker(ll, { interactive: false, keyboard: false, icon: L.divIcon({ className: '', iconSize: [16, 16], iconAnchor: [8, 8], html: `<div class="center-icon${pinned ? ' pinned' : ''}" data-t="${esc(t)}" data-unit="${esc(S.units.ids[i])}" title="${pinned ? 'pinned ' : ''}center of ${esc(t)}"><i style="background:${colourOf(t)}"></i></div>` }) }).addTo(centerLayer);
      if (S.n <= 5000 || map.getZoom() >= 8) L.marker(ll, { interactive: false, keyboard: false, icon: L.divIcon({ className: 'center-label', iconSize: [60, 14], iconAnchor: [-12, 7], html: esc(t) }) }).addTo(centerLayer);
    }
  }
  function unitLatLng(i) { return layer.latLng(i); }
  function nameOf(i) { return (S.units.names || S.units.ids)[i]; }

  function setupMap() {
    const lonlat = S.meta.lonlat;
    map = L.map('map', { crs: lonlat ? L.CRS.EPSG3857 : L.CRS.Simple, boxZoom: false, zoomSnap: 0.25, minZoom: -20, preferCanvas: true, attributionControl: false });
    if (S.meta.basemap) L.tileLayer(S.meta.basemap, { maxZoom: 19 }).addTo(map);
    layer = new UnitLayer(S.geom);
    layer.labels = S.units.names || S.units.ids;
    map.fitBounds(layer.bounds(), { padding: [10, 10] });
    layer.addTo(map);
    centerLayer = L.layerGroup().addTo(map);
    locLayer = L.layerGroup().addTo(map);
    map.on('zoomend', drawCenters);
    const el = map.getContainer();
    el.addEventListener('mousemove', e => {
      if (drag) return;
      const i = layer.hit(map.mouseEventToContainerPoint(e));
      if (i !== layer.hover) { layer.hover = i; layer.redraw(); showDetails(i >= 0 ? i : null); }
    });
    el.addEventListener('mouseleave', () => { layer.hover = -1; layer.redraw(); showDetails(null); });
    map.on('click', e => {
      if (S.tool !== 'click') return;
      const i = layer.hit(e.containerPoint);
      if (!e.originalEvent.shiftKey) S.selected.clear();
      if (i >= 0) { if (S.selected.has(i) && e.originalEvent.shiftKey) S.selected.delete(i); else S.selected.add(i); }
      paint(); showDetails(i >= 0 ? i : null);
    });
    setupDrag(el);
  }

  // box and lasso selection: drawn on an overlay canvas, units chosen by their center
  let drag = null;
  function setupDrag(el) {
    const c = L.DomUtil.create('canvas', 'lasso', el);
    el.addEventListener('mousedown', e => {
      if (S.tool === 'click' || e.button !== 0) return;
      e.preventDefault(); e.stopPropagation(); map.dragging.disable();
      const p = map.mouseEventToContainerPoint(e);
      drag = { pts: [[p.x, p.y]], add: e.shiftKey };
      c.width = el.clientWidth; c.height = el.clientHeight;
    }, true);
    window.addEventListener('mousemove', e => {
      if (!drag) return;
      const p = map.mouseEventToContainerPoint(e);
      if (S.tool === 'box') drag.pts = [drag.pts[0], [p.x, p.y]]; else drag.pts.push([p.x, p.y]);
      const ctx = c.getContext('2d'); ctx.clearRect(0, 0, c.width, c.height);
      ctx.strokeStyle = '#1f6feb'; ctx.fillStyle = 'rgba(31,111,235,.12)'; ctx.lineWidth = 1.5; ctx.setLineDash([5, 3]);
      ctx.beginPath(); ring(drag).forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y))); ctx.closePath(); ctx.fill(); ctx.stroke();
    });
    window.addEventListener('mouseup', () => {
      if (!drag) return;
      const r = ring(drag); const add = drag.add; drag = null; map.dragging.enable();
      c.getContext('2d').clearRect(0, 0, c.width, c.height);
      if (r.length < 3) return;
      if (!add) S.selected.clear();
      for (const i of layer.within(r)) S.selected.add(i);
      paint();
    });
  }
  function ring(d) {
    if (S.tool !== 'box') return d.pts;
    const [[x0, y0], [x1, y1]] = [d.pts[0], d.pts[d.pts.length - 1]];
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
  }

  function showDetails(i) {
    const body = $('#detail-body');
    if (i == null) {
      body.innerHTML = S.selected.size ? `${S.selected.size} unit(s) selected: ${selectionTotals()}` : '<span class="muted">Hover a unit to see its figures.</span>';
      return;
    }
    const t = S.plan[i], rows = balance(), row = rows.find(r => r.territory === t);
    const ci = S.units.ids.indexOf(S.centers[t]);
    const dist = ci >= 0 ? distance(i, ci) : null;
    let html = `<dl class="kv" id="hover-details"><dt>name</dt><dd class="d-name">${esc(nameOf(i))}</dd><dt>id</dt><dd class="d-id">${esc(S.units.ids[i])}</dd>`;
    for (const k of S.meta.metrics) html += `<dt>${esc(k)}</dt><dd class="d-metric" data-metric="${esc(k)}">${fmt(S.units.metrics[k][i])}</dd>`;
    html += `<dt>territory</dt><dd class="d-territory"><span class="swatch" style="background:${colourOf(t)}"></span>${esc(t)}${S.locked[i] ? ' (locked)' : ''}${S.plan[i] !== S.base[i] ? ` (was ${esc(S.base[i])})` : ''}</dd>`;
    if (dist != null) html += `<dt>to center</dt><dd>${dist.toFixed(1)} ${S.meta.lonlat ? 'km' : ''} (center ${esc(nameOf(ci))})</dd>`;
    if (row) S.meta.metrics.forEach((k, j) => { html += `<dt>territory ${esc(k)}</dt><dd>${fmt(row.totals[j])} · ${row.ratios[j].toFixed(3)} of target</dd>`; });
    if (S.showLocations && S.locations && S.locations.assignment[i] != null) html += `<dt>facility</dt><dd>${esc(S.locations.assignment[i])}</dd>`;
    body.innerHTML = html + '</dl>';
  }
  function selectionTotals() {
    return S.meta.metrics.map(k => { let s = 0; for (const i of S.selected) s += S.units.metrics[k][i]; return `${k} ${fmt(s)}`; }).join(', ');
  }
  function distance(i, j) {
    const x = S.geom.lon, y = S.geom.lat;
    if (!S.meta.lonlat) return Math.hypot(x[i] - x[j], y[i] - y[j]);
    const r = Math.PI / 180, dl = (y[j] - y[i]) * r, dn = (x[j] - x[i]) * r;
    const h = Math.sin(dl / 2) ** 2 + Math.cos(y[i] * r) * Math.cos(y[j] * r) * Math.sin(dn / 2) ** 2;
    return 2 * 6371.0088 * Math.asin(Math.sqrt(h));
  }

  // -- edits, locks, undo -----------------------------------------------------------------
  function apply(action, forward) {
    for (const [i, a, b] of action.moves || []) S.plan[i] = forward ? b : a;
    for (const [i, a, b] of action.locks || []) S.locked[i] = forward ? b : a;
  }
  function commit(action) {
    if (!(action.moves || []).length && !(action.locks || []).length) return;
    apply(action, true); S.undo.push(action); S.redo = [];
    if ((action.moves || []).length) { const before = Object.keys(S.colours).length; if (territories().length !== before) colourTerritories(); }
    paint();
  }
  function moveSelected(target) {
    if (!target) return;
    const moves = [...S.selected].filter(i => S.plan[i] !== target && !S.locked[i]).map(i => [i, S.plan[i], target]);
    const skipped = [...S.selected].filter(i => S.locked[i]).length;
    commit({ moves });
    say($('#opt-msg'), skipped ? `${skipped} locked unit(s) not moved: unlock them first` : '', 'warn');
  }
  function pinSelected() {
    if (S.selected.size !== 1) { say($('#opt-msg'), 'select one unit to pin as its territory\'s center', 'warn'); return; }
    const i = [...S.selected][0], t = S.plan[i], id = S.units.ids[i];
    if (S.pinned[t] === id) delete S.pinned[t]; else { S.pinned[t] = id; S.centers[t] = id; }
    say($('#opt-msg'), S.pinned[t] ? `${nameOf(i)} is now the fixed center of ${t}` : `center of ${t} unpinned`);
    paint();
  }
  function lockSelected(value) { commit({ locks: [...S.selected].filter(i => S.locked[i] !== value).map(i => [i, S.locked[i], value]) }); }
  function undo() { const a = S.undo.pop(); if (!a) return; apply(a, false); S.redo.push(a); colourTerritories(); paint(); }
  function redo() { const a = S.redo.pop(); if (!a) return; apply(a, true); S.undo.push(a); colourTerritories(); paint(); }
  function toolbarState() {
    $('#selcount').textContent = S.selected.size;
    $('#undo').disabled = !S.undo.length; $('#redo').disabled = !S.redo.length;
    const sel = $('#moveto'), names = territories(), keep = sel.value;
    const want = names.join('|');
    if (sel.dataset.names !== want) {
      sel.innerHTML = names.map(t => `<option>${esc(t)}</option>`).join('') + '<option value="__new">new territory…</option>';
      sel.dataset.names = want; if (names.includes(keep)) sel.value = keep;
    }
    const m = +$('#opt-m').value, cur = names.length;
    $('#opt-mode').textContent = m === cur ? 'optimise existing' : m < cur ? `consolidate ${cur} → ${m}` : `expand ${cur} → ${m}`;
    $('#plan-name').textContent = S.planName;
    $('#pin-count').textContent = Object.keys(S.pinned).length;
  }

  // -- scenarios, optimise ----------------------------------------------------------------
  function openPlan(sc) {
    S.plan = sc.assignment.slice(); S.centers = { ...sc.centers }; S.planName = sc.name;
    S.undo = []; S.redo = []; S.diff = null; $('#diffbar').classList.add('hidden');
    $('#opt-m').value = new Set(S.plan).size;
    colourTerritories(); paint();
  }
  async function refreshScenarios() {
    S.scenarios = await api('scenarios');
    const keepA = document.querySelector('input[name=cmpA]:checked')?.value || 'current';
    const keepB = document.querySelector('input[name=cmpB]:checked')?.value || (S.scenarios[S.scenarios.length - 1] || {}).id;
    let html = '<thead><tr><th>scenario</th><th>A</th><th>B</th><th>terr.</th><th>range</th><th>moved</th><th></th></tr></thead><tbody>';
    for (const s of S.scenarios) {
      const b = Object.values(s.stats.balance)[0];
      html += `<tr data-s="${esc(s.id)}"><td title="${esc(s.source)}">${esc(s.name)}${s.published_run ? ' <span class="tag">published</span>' : ''}</td>
        <td><input type="radio" name="cmpA" value="${esc(s.id)}" ${s.id === keepA ? 'checked' : ''}></td>
        <td><input type="radio" name="cmpB" value="${esc(s.id)}" ${s.id === keepB ? 'checked' : ''}></td>
        <td>${s.stats.territories}</td><td>${b.min_ratio.toFixed(3)}–${b.max_ratio.toFixed(3)}</td><td>${s.stats.moved_units}</td>
        <td><button data-act="open">Open</button>${s.id !== 'current' ? '<button data-act="promote">Promote</button><button data-act="delete">✕</button>' : ''}</td></tr>`;
    }
    $('#scenario-list').innerHTML = html + '</tbody>';
  }
  async function runOptimise() {
    const msg = $('#opt-msg'); say(msg, '');
    const body = {
      assignment: S.plan, locked: S.units.ids.filter((_, i) => S.locked[i]), territories: +$('#opt-m').value,
      disruption_weight: +$('#opt-dw').value, time_limit: +$('#opt-tl').value,
      tolerance: +$('#opt-tol').value / 100,
    };
    if ($('#opt-pin').checked && Object.keys(S.pinned).length) body.centers = { ...S.pinned };
    const cap = +$('#opt-cap').value; if (cap < 100) body.max_moved = cap / 100;
    $('#opt-run').disabled = true; $('#progress').classList.remove('hidden');
    try {
      let job = await api('optimise', body);
      while (job.state === 'running') {
        $('#progress .bar span').style.width = `${job.progress * 100}%`;
        $('#progress-text').textContent = `solving: ${job.elapsed.toFixed(1)} s of at most ${job.time_limit} s`;
        await new Promise(r => setTimeout(r, 300));
        job = await api('jobs/' + job.id);
      }
      $('#progress .bar span').style.width = '100%';
      if (job.state === 'failed') throw new Error(job.error);
      const sc = await api('scenarios/' + job.scenario);
      $('#progress-text').textContent = `done in ${job.elapsed.toFixed(1)} s`;
      openPlan(sc); await refreshScenarios();
      const lockedOk = sc.report.locked_respected;
      say(msg, `New scenario "${sc.name}": ${sc.report.status}, ${sc.stats.moved_units} units differ from the published plan${lockedOk === false ? ', LOCKS NOT RESPECTED' : ''}.`, lockedOk === false ? 'error' : 'ok');
    } catch (err) { say(msg, err.message, 'error'); } finally { $('#opt-run').disabled = false; }
  }

  let cmpMaps = [];
  async function compare() {
    const a = document.querySelector('input[name=cmpA]:checked')?.value, b = document.querySelector('input[name=cmpB]:checked')?.value;
    if (!a || !b) { say($('#scenario-msg'), 'pick scenario A and B', 'warn'); return; }
    const [cmp, sa, sb] = await Promise.all([api(`compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`), api('scenarios/' + a), api('scenarios/' + b)]);
    $('#compare-view').classList.remove('hidden');
    $('#cmp-a-name').textContent = 'A: ' + sa.name; $('#cmp-b-name').textContent = 'B: ' + sb.name;
    cmpMaps.forEach(m => m.remove()); cmpMaps = [];
    for (const [el, sc] of [['cmp-a', sa], ['cmp-b', sb]]) {
      const m = L.map(el, { crs: S.meta.lonlat ? L.CRS.EPSG3857 : L.CRS.Simple, attributionControl: false, zoomSnap: 0.25, minZoom: -20 });
      const l = new UnitLayer(S.geom);
      const names = [...new Set(sc.assignment)].sort(), pos = new Map(names.map((t, k) => [t, k]));
      const saved = S.plan; S.plan = sc.assignment; colourTerritories();
      sc.assignment.forEach((t, i) => { l.colour[i] = S.colours[t]; l.group[i] = pos.get(t); if (sa.assignment[i] !== sb.assignment[i]) l.flags[i] = 4; });
      S.plan = saved; colourTerritories();
      m.fitBounds(l.bounds()); l.addTo(m); cmpMaps.push(m);
    }
    cmpMaps[0].sync = cmpMaps[1];
    const keys = Object.keys(cmp.rows[0]).filter(k => k !== 'scenario');
    $('#compare-table').innerHTML = `<thead><tr><th></th><th>A</th><th>B</th></tr></thead><tbody>` +
      keys.map(k => `<tr><td>${esc(k === 'compactness' ? `compactness (${cmp.compactness_unit} to center, weighted)` : k === 'moved_units' ? 'moved units (vs published)' : k)}</td><td>${esc(cmp.rows[0][k])}</td><td>${esc(cmp.rows[1][k])}</td></tr>`).join('') +
      `<tr><td>units in a different territory (A vs B)</td><td colspan="2">${cmp.units_differing}</td></tr></tbody>`;
  }

  // -- history and locations tabs: panels.js ------------------------------------------
  let panels = null;  // made in start(), once the map exists
  const refreshHistory = () => panels.refreshHistory();
  const diff = () => panels.diff();
  const setupLocations = step => panels.setupLocations(step);

  // -- export -----------------------------------------------------------------------------
  async function download(format) {
    const r = await api('export', { format, assignment: S.plan });
    const blob = await r.blob(), a = document.createElement('a');
    a.href = URL.createObjectURL(blob); a.download = `plan.${format}`; document.body.appendChild(a); a.click(); a.remove();
  }

  // -- wiring -----------------------------------------------------------------------------
  function wire() {
    document.querySelectorAll('#tools [data-tool]').forEach(b => b.onclick = () => {
      S.tool = b.dataset.tool; document.querySelectorAll('#tools [data-tool]').forEach(x => x.classList.toggle('on', x === b));
      map.getContainer().style.cursor = S.tool === 'click' ? '' : 'crosshair';
    });
    $('#clear').onclick = () => { S.selected.clear(); paint(); };
    $('#move').onclick = () => {
      let t = $('#moveto').value;
      if (t === '__new') { t = prompt('Name of the new territory'); if (!t) return; }
      moveSelected(t);
    };
    $('#lock').onclick = () => lockSelected(1); $('#unlock').onclick = () => lockSelected(0);
    $('#pin').onclick = pinSelected;
    $('#undo').onclick = undo; $('#redo').onclick = redo;
    $('#save').onclick = async () => {
      const name = prompt('Scenario name', `edited ${S.planName}`); if (name == null) return;
      const sc = await api('scenarios', { name, assignment: S.plan, centers: S.centers });
      S.planName = sc.name; await refreshScenarios(); toolbarState();
      say($('#scenario-msg'), `saved "${sc.name}"`);
    };
    $('#export-csv').onclick = () => download('csv'); $('#export-geojson').onclick = () => download('geojson');
    $('#opt-run').onclick = runOptimise;
    $('#opt-m').oninput = toolbarState;
    $('#opt-dw').oninput = e => { $('#opt-dw-v').textContent = e.target.value; };
    $('#opt-cap').oninput = e => { $('#opt-cap-v').textContent = +e.target.value >= 100 ? 'none' : `${e.target.value} %`; };
    document.querySelectorAll('.tabs button').forEach(b => b.onclick = () => {
      document.querySelectorAll('.tabs button').forEach(x => x.classList.toggle('on', x === b));
      document.querySelectorAll('.tab').forEach(t => t.classList.toggle('hidden', t.id !== 'tab-' + b.dataset.tab));
      if (b.dataset.tab === 'history') refreshHistory().catch(err => say($('#history-msg'), err.message, 'error'));
    });
    $('#scenario-list').onclick = async e => {
      const act = e.target.dataset.act; if (!act) return;
      const sid = e.target.closest('tr').dataset.s, msg = $('#scenario-msg');
      try {
        if (act === 'open') { openPlan(await api('scenarios/' + sid)); say(msg, ''); }
        if (act === 'delete') { await api('scenarios/' + sid, null, 'DELETE'); await refreshScenarios(); }
        if (act === 'promote') {
          const r = await api(`scenarios/${sid}/promote`, {});
          S.base = r.current.assignment.slice(); S.meta.current_run = r.run_id; openPlan(r.current);
          await refreshScenarios(); await refreshHistory();
          say(msg, `published as run ${r.run_id} (trigger manual): see terraplan history`);
        }
      } catch (err) { say(msg, err.message, 'error'); }
    };
    $('#compare').onclick = () => compare().catch(err => say($('#scenario-msg'), err.message, 'error'));
    $('#compare-close').onclick = () => { $('#compare-view').classList.add('hidden'); cmpMaps.forEach(m => m.remove()); cmpMaps = []; };
    $('#diff').onclick = () => diff().catch(err => say($('#history-msg'), err.message, 'error'));
    $('#history-list').onclick = async e => {
      if (e.target.dataset.act !== 'rollback') return;
      const run = e.target.closest('tr').dataset.run, msg = $('#history-msg');
      if (!window.confirm(`Make run ${run} current again?`)) return;
      try {
        const r = await api('rollback', { run_id: run });
        S.base = r.current.assignment.slice(); S.meta.current_run = run; openPlan(r.current);
        await refreshScenarios(); await refreshHistory();
        say(msg, `rolled back: ${r.restored.join(', ')} restored to run ${run}`);
      } catch (err) { say(msg, err.message, 'error'); }
    };
    document.addEventListener('keydown', e => {
      if (e.target.tagName === 'INPUT' || e.target.tagName === 'SELECT') return;
      if ((e.ctrlKey || e.metaKey) && e.key === 'z') { e.preventDefault(); undo(); }
      else if ((e.ctrlKey || e.metaKey) && (e.key === 'y' || e.key === 'Z')) { e.preventDefault(); redo(); }
      else if (e.key === 'Escape') { S.selected.clear(); paint(); }
      else if (e.key === 'm') $('#move').click();
      else if (e.key === 'l') lockSelected(1);
      else if (e.key === 'c') pinSelected();
    });
  }

  // test and automation hooks (read-only helpers; edits go through the same buttons)
  planner.unitPoint = id => { const i = S.units.ids.indexOf(String(id)); const p = layer.interiorPoint(i); const r = map.getContainer().getBoundingClientRect(); return [p[0] + r.left, p[1] + r.top]; };
  planner.indexOf = id => S.units.ids.indexOf(String(id));
  planner.balance = () => balance();
  planner.locationShapes = () => locLayer.getLayers().map(l => (l instanceof L.Circle
    ? { type: 'circle', radius: l.getRadius(), lat: l.getLatLng().lat, lng: l.getLatLng().lng }
    : { type: 'facility', lat: l.getLatLng().lat, lng: l.getLatLng().lng }));
  planner.colourOfUnit = id => layer.colour[S.units.ids.indexOf(String(id))];

  async function start() {
    try {
      const [meta, units, geometry, current] = await Promise.all([api('meta'), api('units'),
        api('geometry').then(r => r.arrayBuffer()), api('scenarios/current')]);
      mark('fetched');
      S.meta = meta; S.units = units; S.geom = decodeGeometry(geometry);
      S.idIndex = new Map(units.ids.map((u, i) => [u, i])); S.n = units.ids.length; S.meta.current_run = current.published_run;
      S.locked = new Uint8Array(S.n); S.base = current.assignment.slice();
      $('#title').textContent = meta.title; $('#source').textContent = `${meta.source} · ${S.n.toLocaleString('en-US')} units`;
      document.title = `${meta.title} · terraplan`;
      $('#opt-tl').value = Math.min(30, meta.params.time_limit || 20);
      const tol = typeof meta.params.tolerance === 'number' ? meta.params.tolerance : Object.values(meta.tolerance)[0];
      $('#opt-tol').value = Math.round(100 * (tol ?? 0.05));
      if (!meta.can_publish) document.querySelectorAll('[data-tab=history]').forEach(b => (b.disabled = true));
      setupMap(); wire(); mark('layer');
      panels = window.plannerPanels({ S, api, $, esc, fmt, say, PALETTE, nameOf, colourTerritories, paint, map: () => map, locLayer: () => locLayer });
      openPlan(current); mark('planned');
      // first paint: the first animation frame after the canvas holds every unit in view
      await layer.drawn(); await new Promise(requestAnimationFrame);
      planner.drawnUnits = layer.lastDrawn; planner.firstPaint = performance.now();
      await refreshScenarios(); await setupLocations();
      planner.ready = true;
    } catch (err) {
      planner.errors.push(err.message);
      document.body.insertAdjacentHTML('afterbegin', `<div class="error">${esc(err.message)}</div>`);
    }
  }
  start();
})();
