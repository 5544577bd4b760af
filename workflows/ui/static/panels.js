/* The planner's History and Locations tabs (app.js makes them with plannerPanels(P),
   P being the page's state and helpers). Everything goes through the JSON API. */
(function () {
  'use strict';
  window.plannerPanels = function (P) {
    const { S, api, $, esc, fmt, say, PALETTE } = P;

    // -- history ----------------------------------------------------------------------------
    async function refreshHistory() {
      const h = await api('history'); S.hist = h.runs;
      if (!h.runs.length) { $('#history-list').innerHTML = `<tr><td class="muted">${esc(h.note || 'no runs recorded')}</td></tr>`; return; }
      const runs = h.runs.filter(r => r.status === 'succeeded' && (r.step !== 'rollback'));
      let html = '<thead><tr><th>run</th><th>A</th><th>B</th><th>trigger</th><th>status</th><th>moved</th><th></th></tr></thead><tbody>';
      runs.forEach((r, k) => {
        const cur = S.meta.current_run === r.run_id;
        html += `<tr data-run="${esc(r.run_id)}"><td title="${esc(r.run_id)}">${esc(r.started_at.slice(0, 19))}${cur ? ' <span class="tag">current</span>' : ''}</td>
        <td><input type="radio" name="runA" value="${esc(r.run_id)}" ${k === Math.max(0, runs.length - 2) ? 'checked' : ''}></td>
        <td><input type="radio" name="runB" value="${esc(r.run_id)}" ${k === runs.length - 1 ? 'checked' : ''}></td>
        <td>${esc(r.trigger || '')}</td><td>${esc(r.result || r.status)}</td><td>${r.moved_units ?? ''}</td>
        <td><button data-act="rollback">Rollback</button></td></tr>`;
      });
      const rollbacks = h.runs.filter(r => r.step === 'rollback').length;
      $('#history-list').innerHTML = html + `</tbody><tfoot><tr><td colspan="7" class="muted">${h.runs.length} runs recorded, ${rollbacks} rollback(s)</td></tr></tfoot>`;
    }
    async function diff() {
      const a = document.querySelector('input[name=runA]:checked')?.value, b = document.querySelector('input[name=runB]:checked')?.value;
      if (!a || !b) return;
      const d = await api(`diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
      const idx = new Map(S.units.ids.map((u, i) => [u, i]));
      S.diff = { plan: d.b_assignment, moved: new Set(d.changes.filter(c => c.change === 'moved').map(c => idx.get(String(c.id)))) };
      const saved = S.plan; S.plan = d.b_assignment; P.colourTerritories(); S.plan = saved;
      const s = d.summary;
      $('#diffbar').innerHTML = `<b>Diff</b> ${esc(a)} → ${esc(b)}: ${s.moved || 0} moved (red outline), ${s.added || 0} added, ${s.removed || 0} removed.<br>` +
        s.flows.slice(0, 8).map(f => `${esc(f.from)} → ${esc(f.to)}: ${f.units}`).join(' · ') + ' <button id="diff-close">Back to plan</button>';
      $('#diffbar').classList.remove('hidden');
      $('#diff-close').onclick = () => { S.diff = null; $('#diffbar').classList.add('hidden'); P.colourTerritories(); P.paint(); };
      P.paint();
    }

    // -- locations --------------------------------------------------------------------------
    async function setupLocations(step) {
      if (!S.meta.has_locations) return;
      S.locations = await api('locations' + (step ? `?step=${encodeURIComponent(step)}` : ''));
      const L0 = S.locations, r = L0.report, served = L0.assignment.filter(x => x != null).length;
      const unit = L0.distance === 'haversine' || S.meta.lonlat ? ' km' : '';
      const steps = L0.steps.map(s => `<option value="${esc(s.step)}" ${s.step === L0.step ? 'selected' : ''}>${esc(s.step)} (${esc(s.strategy || '')})</option>`).join('');
      $('#locations-body').innerHTML = `<div class="row"><label>Study <select id="loc-step">${steps}</select></label>
        <label><input type="checkbox" id="loc-show" ${S.showLocations ? 'checked' : ''}> show facilities and catchments</label></div>
        <dl class="kv" id="loc-summary"><dt>strategy</dt><dd>${esc(L0.strategy || '')}</dd>
        <dt>open facilities</dt><dd id="loc-open">${L0.facilities.length}</dd>
        ${L0.radius ? `<dt>coverage radius</dt><dd id="loc-radius">${fmt(L0.radius)}${unit}</dd>` : ''}
        <dt>status</dt><dd>${esc(r.status || '')}${r.gap != null ? `, gap ${(100 * r.gap).toFixed(2)} %` : ''}</dd>
        <dt>units served</dt><dd id="loc-served">${served} of ${L0.assignment.length}${r.coverage_pct != null ? ` · ${r.coverage_pct.toFixed(1)} % of demand covered` : ''}</dd>
        ${r.objective != null ? `<dt>objective</dt><dd>${fmt(r.objective)}${r.objective_meaning ? ` (${esc(r.objective_meaning)})` : ''}</dd>` : ''}</dl>
        <table class="grid" id="loc-facilities"><thead><tr><th>facility</th><th>name</th><th>load</th><th>units</th></tr></thead><tbody>${L0.facilities.map((f, k) => {
          const i = S.units.ids.indexOf(f.id);
          return `<tr data-f="${esc(f.id)}"><td><span class="swatch" style="background:${PALETTE[k % PALETTE.length]}"></span>${esc(f.id)}</td><td>${i >= 0 ? esc(P.nameOf(i)) : ''}</td><td>${fmt(f.load)}</td><td>${L0.assignment.filter(x => x === f.id).length}</td></tr>`;
        }).join('')}</tbody></table>`;
      $('#loc-show').onchange = e => { S.showLocations = e.target.checked; drawLocations(); P.paint(); };
      $('#loc-step').onchange = e => setupLocations(e.target.value).then(() => { drawLocations(); P.paint(); })
        .catch(err => say($('#locations-body'), err.message, 'error'));
    }
    function drawLocations() {
      P.locLayer().clearLayers();
      if (!S.showLocations || !S.locations) return;
      const ll = f => S.meta.lonlat ? L.latLng(f.y, f.x) : P.map().unproject([f.x, -f.y], 0);
      const R = S.locations.radius;
      S.locations.facilities.forEach((f, k) => {
        // Leaflet circles take metres on lon/lat maps and map units on planar ones
        if (R) L.circle(ll(f), { radius: S.meta.lonlat ? R * 1000 : R, color: PALETTE[k % PALETTE.length], weight: 2, fill: false, dashArray: '6 4', interactive: false, className: 'coverage' }).addTo(P.locLayer());
        L.marker(ll(f), { keyboard: false, title: `facility ${f.id}`, icon: L.divIcon({ className: '', iconSize: [16, 16], iconAnchor: [8, 8], html: `<div class="fac-icon" data-f="${esc(f.id)}" style="border-color:${PALETTE[k % PALETTE.length]}"></div>` }) }).addTo(P.locLayer());
      });
    }

    return { refreshHistory, diff, setupLocations, drawLocations };
  };
})();
