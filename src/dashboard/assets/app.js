// bifrost dashboard: polls the JSON API every 2 s and draws the request list, charts (inline
// SVG) and one request's detail. No dependencies, no network beyond this origin.
'use strict';

const POLL_MS = 2000;
const PAGE = 50;
const $ = (id) => document.getElementById(id);
const state = { rows: [], selected: null, more: false, seen: new Set(), first: true, timer: null };

// ---------- helpers ----------

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}
const fmtInt = (n) => (n ?? 0).toLocaleString('en-US');
function fmtMs(ms) {
  if (ms === null || ms === undefined) return '—';
  return ms >= 1000 ? (ms / 1000).toFixed(2) + 's' : ms >= 10 ? Math.round(ms) + 'ms' : ms.toFixed(1) + 'ms';
}
function fmtUsd(v) {
  if (v === null || v === undefined) return 'n/a';
  return v === 0 ? '$0' : v < 0.01 ? '$' + v.toFixed(4) : '$' + v.toFixed(2);
}
function fmtTime(ms, withDate) {
  const d = new Date(ms);
  const t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return withDate ? d.toLocaleDateString([], { month: '2-digit', day: '2-digit' }) + ' ' + t : t;
}
const modelLabel = (r) => r.upstream_model && r.provider ? r.provider + '/' + r.upstream_model : (r.model || '(no model)');

async function api(path) {
  const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (r.status === 401) throw new Error('signed out: open a new dashboard link (bifrost ui)');
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
}

function filters() {
  const p = new URLSearchParams();
  const v = (id) => $(id).value.trim();
  if (v('f-session')) p.set('session', v('f-session'));
  if (v('f-provider')) p.set('provider', v('f-provider'));
  if (v('f-model')) p.set('model', v('f-model'));
  if (v('f-status')) p.set('status', v('f-status'));
  if (v('f-q')) p.set('q', v('f-q'));
  if (v('f-since')) p.set('since', String(Date.now() - Number(v('f-since'))));
  return p;
}

function setOptions(sel, values, label) {
  const cur = sel.value;
  const want = [''].concat(values);
  const have = Array.from(sel.options).map((o) => o.value);
  if (want.join('\n') === have.join('\n')) return;
  sel.replaceChildren(...want.map((v, i) => h('option', { value: v }, i === 0 ? label : (typeof label === 'function' ? v : v))));
  sel.value = want.includes(cur) ? cur : '';
}

function showError(e) {
  const el = $('error');
  if (e) { el.textContent = String(e.message || e); el.hidden = false; } else el.hidden = true;
}

// ---------- list ----------

function rowEl(r) {
  const tr = h('tr', { 'data-id': r.id, class: [state.selected === r.id ? 'selected' : '', !state.first && !state.seen.has(r.id) ? 'new' : ''].join(' ').trim() || null },
    h('td', { title: r.time }, fmtTime(r.started_at_ms, true)),
    h('td', {}, r.provider || '—'),
    h('td', { title: r.model || '' }, modelLabel(r)),
    h('td', {}, h('span', { class: 'badge ' + r.status }, r.status === 'ok' ? String(r.http_status) : 'error ' + r.http_status)),
    h('td', { class: 'num' }, fmtInt(r.input_tokens)),
    h('td', { class: 'num' }, fmtInt(r.output_tokens)),
    h('td', { class: 'num' }, fmtUsd(r.cost_usd)),
    h('td', { class: 'num' }, fmtMs(r.latency_ms)),
    h('td', { class: 'num' }, fmtMs(r.ttft_ms)),
    h('td', { class: 'err', title: r.error || '' }, r.error || ''));
  tr.addEventListener('click', () => openDetail(r.id));
  return tr;
}

function renderRows(page) {
  const key = (rs) => rs.map((r) => r.id + r.status).join(',');
  if (key(page.rows) !== key(state.renderedRows || []) || state.forceRender) {
    $('rows').replaceChildren(...page.rows.map(rowEl));
    state.renderedRows = page.rows;
    state.forceRender = false;
  }
  for (const r of page.rows) state.seen.add(r.id);
  state.first = false;
  $('empty').hidden = page.rows.length > 0;
  $('count').textContent = page.total ? `${page.rows.length} of ${fmtInt(page.total)} requests` : '';
  $('more').hidden = page.rows.length >= page.total;
}

async function loadList() {
  const p = filters();
  p.set('limit', String(Math.min(1000, Math.max(PAGE, state.rows.length))));
  const page = await api('/api/logs?' + p);
  state.rows = page.rows;
  state.total = page.total;
  setOptions($('f-model'), page.models, 'all models');
  setOptions($('f-provider'), page.providers, 'all providers');
  renderRows(page);
}

async function loadMore() {
  const p = filters();
  const last = state.rows[state.rows.length - 1];
  if (!last) return;
  p.set('before', last.id);
  p.set('limit', String(PAGE));
  const page = await api('/api/logs?' + p);
  state.rows = state.rows.concat(page.rows);
  renderRows({ rows: state.rows, total: state.total });
}

// ---------- charts ----------

const W = 400, H = 130, PADL = 46, PADB = 16, PADT = 6;

function noData(el) { el.innerHTML = `<svg viewBox="0 0 ${W} ${H}"><text class="nodata" x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`; }

function axis(max, fmt) {
  return `<line x1="${PADL}" y1="${H - PADB}" x2="${W}" y2="${H - PADB}" stroke="#d5d9e0"/>` +
    `<text x="${PADL - 4}" y="${PADT + 8}" text-anchor="end">${esc(fmt(max))}</text>` +
    `<text x="${PADL - 4}" y="${H - PADB}" text-anchor="end">0</text>`;
}

function timeLabels(series, bucket) {
  if (!series.length) return '';
  const a = series[0].t, b = series[series.length - 1].t + bucket;
  const long = b - a > 86400000;
  return `<text x="${PADL}" y="${H - 3}">${esc(fmtTime(a, long))}</text><text x="${W}" y="${H - 3}" text-anchor="end">${esc(fmtTime(b, long))}</text>`;
}

function drawTokens(s) {
  const el = $('c-tokens');
  if (!s.series.length) return noData(el);
  const max = Math.max(1, ...s.series.map((b) => b.input_tokens + b.output_tokens));
  const a = s.series[0].t, span = Math.max(s.bucket_ms, s.series[s.series.length - 1].t + s.bucket_ms - a);
  const bw = Math.max(2, (W - PADL) * s.bucket_ms / span - 1);
  const y = (v) => (H - PADB - PADT) * v / max;
  let bars = '';
  for (const b of s.series) {
    const x = PADL + (W - PADL) * (b.t - a) / span;
    const hi = y(b.input_tokens), ho = y(b.output_tokens);
    bars += `<rect x="${x.toFixed(1)}" y="${(H - PADB - hi).toFixed(1)}" width="${bw.toFixed(1)}" height="${hi.toFixed(1)}" fill="#3b6fd8"><title>${esc(fmtTime(b.t, true))}: ${fmtInt(b.input_tokens)} input</title></rect>`;
    bars += `<rect x="${x.toFixed(1)}" y="${(H - PADB - hi - ho).toFixed(1)}" width="${bw.toFixed(1)}" height="${ho.toFixed(1)}" fill="#e08a2c"><title>${esc(fmtTime(b.t, true))}: ${fmtInt(b.output_tokens)} output</title></rect>`;
  }
  el.innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="tokens over time">${axis(max, fmtInt)}${bars}${timeLabels(s.series, s.bucket_ms)}</svg>`;
}

function drawCost(s) {
  const el = $('c-cost');
  if (!s.series.length) return noData(el);
  let acc = 0;
  const pts = s.series.map((b) => ({ t: b.t + s.bucket_ms, v: (acc += b.cost_usd) }));
  const a = s.series[0].t, span = Math.max(s.bucket_ms, pts[pts.length - 1].t - a);
  const max = Math.max(acc, 1e-6);
  const xy = (p) => [PADL + (W - PADL) * (p.t - a) / span, H - PADB - (H - PADB - PADT) * p.v / max];
  const line = [[PADL, H - PADB]].concat(pts.map(xy)).map(([x, y]) => x.toFixed(1) + ',' + y.toFixed(1)).join(' ');
  const dots = pts.map((p) => { const [x, y] = xy(p); return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="2.2" fill="#2e8b57"><title>${esc(fmtTime(p.t, true))}: ${fmtUsd(p.v)} so far</title></circle>`; }).join('');
  el.innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="cumulative cost">${axis(max, fmtUsd)}` +
    `<polygon points="${PADL},${H - PADB} ${line} ${xy(pts[pts.length - 1])[0].toFixed(1)},${H - PADB}" fill="#2e8b57" fill-opacity="0.12"/>` +
    `<polyline points="${line}" fill="none" stroke="#2e8b57" stroke-width="1.6"/>${dots}${timeLabels(s.series, s.bucket_ms)}</svg>`;
}

function drawLatency(s) {
  const el = $('c-latency');
  const hist = s.latency_histogram || [];
  if (!hist.some((b) => b.count)) return noData(el);
  const max = Math.max(1, ...hist.map((b) => b.count));
  const n = hist.length, bw = (W - PADL) / n;
  let bars = '', labels = '';
  hist.forEach((b, i) => {
    const x = PADL + i * bw, hh = (H - PADB - PADT) * b.count / max;
    const lab = b.le_ms === null ? '>' + fmtMs(hist[i - 1].le_ms) : '≤' + fmtMs(b.le_ms);
    bars += `<rect x="${(x + 1).toFixed(1)}" y="${(H - PADB - hh).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${hh.toFixed(1)}" fill="#7a5cc7"><title>${esc(lab)}: ${b.count}</title></rect>`;
    if (i % 2 === 0 || n < 8) labels += `<text x="${(x + bw / 2).toFixed(1)}" y="${H - 3}" text-anchor="middle">${esc(lab)}</text>`;
  });
  el.innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="latency histogram">${axis(max, fmtInt)}${bars}${labels}</svg>`;
}

function drawModels(s) {
  const el = $('c-models');
  const ms = (s.models || []).slice(0, 6);
  if (!ms.length) return noData(el);
  const max = Math.max(1, ...ms.map((m) => m.requests));
  const rowH = Math.min(20, (H - 4) / ms.length);
  const colors = ['#3b6fd8', '#e08a2c', '#2e8b57', '#7a5cc7', '#c8372d', '#6b7483'];
  let out = '';
  ms.forEach((m, i) => {
    const y = 2 + i * rowH, bw = (W - 150) * m.requests / max;
    out += `<text x="0" y="${(y + rowH * 0.7).toFixed(1)}">${esc(m.model.length > 24 ? m.model.slice(0, 23) + '…' : m.model)}</text>` +
      `<rect x="140" y="${(y + 2).toFixed(1)}" width="${Math.max(1, bw).toFixed(1)}" height="${(rowH - 4).toFixed(1)}" fill="${colors[i]}"><title>${esc(m.model)}: ${m.requests} requests, ${m.errors} errors, ${fmtUsd(m.cost_usd)}</title></rect>` +
      `<text x="${(144 + bw).toFixed(1)}" y="${(y + rowH * 0.7).toFixed(1)}">${m.requests}</text>`;
  });
  el.innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="model distribution">${out}</svg>`;
}

function renderTotals(t) {
  $('totals').replaceChildren(
    h('span', {}, h('b', {}, fmtInt(t.requests)), ' requests'),
    h('span', {}, h('b', {}, fmtInt(t.errors)), ' errors'),
    h('span', {}, h('b', {}, fmtInt(t.input_tokens)), ' in / ', h('b', {}, fmtInt(t.output_tokens)), ' out tokens'),
    h('span', {}, h('b', {}, fmtUsd(t.cost_usd))));
}

async function loadStats() {
  const s = await api('/api/stats?' + filters());
  renderTotals(s.totals);
  drawTokens(s); drawCost(s); drawLatency(s); drawModels(s);
}

async function loadSessions() {
  const ss = await api('/api/sessions?limit=50');
  const sel = $('f-session');
  const cur = sel.value;
  const opts = [h('option', { value: '' }, 'all sessions')].concat(ss.map((s) =>
    h('option', { value: s.id }, `${fmtTime(s.started_at_ms, true)} ${s.kind} · ${s.requests} req · ${s.id.slice(0, 8)}`)));
  const sig = ss.map((s) => s.id + s.requests).join(',');
  if (sig !== state.sessionsSig) { sel.replaceChildren(...opts); sel.value = cur; state.sessionsSig = sig; }
}

// ---------- detail ----------

function partsText(c) {
  if (c === null || c === undefined) return '';
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) {
    return c.map((p) => {
      if (typeof p === 'string') return p;
      if (p.text !== undefined) return p.text;
      if (p.type === 'tool_result') return partsText(p.content);
      if (p.type === 'tool_use') return `${p.name}(${JSON.stringify(p.input)})`;
      if (p.type) return `[${p.type}]`;
      return JSON.stringify(p);
    }).join('\n');
  }
  return JSON.stringify(c);
}

function promptMessages(body) {
  let j;
  try { j = JSON.parse(body); } catch (e) { return null; }
  if (!j || typeof j !== 'object') return null;
  const out = [];
  if (j.instructions) out.push({ role: 'instructions', text: j.instructions });
  if (j.system) out.push({ role: 'system', text: partsText(j.system) });
  const items = typeof j.input === 'string' ? [{ role: 'user', content: j.input }] : (j.input || j.messages || (typeof j.prompt === 'string' ? [{ role: 'user', content: j.prompt }] : []));
  for (const it of Array.isArray(items) ? items : []) {
    if (it.type === 'function_call' || it.type === 'custom_tool_call') out.push({ role: 'tool call', cls: 'tool', text: `${it.name}(${it.arguments ?? it.input ?? ''})` });
    else if (it.type === 'function_call_output' || it.type === 'custom_tool_call_output') out.push({ role: 'tool output', cls: 'tool', text: partsText(it.output) });
    else if (it.type === 'reasoning') out.push({ role: 'reasoning', text: (it.summary || []).map((s) => s.text).join('\n') || '[encrypted]' });
    else out.push({ role: it.role || it.type || 'item', cls: it.role, text: partsText(it.content) + (it.tool_calls ? '\n' + it.tool_calls.map((t) => `${t.function?.name}(${t.function?.arguments})`).join('\n') : '') });
  }
  return out;
}

function docText(j) {
  if (!j || typeof j !== 'object') return '';
  if (j.error) return '[error] ' + (j.error.message || JSON.stringify(j.error));
  if (Array.isArray(j.output)) return j.output.filter((o) => o.type === 'message').flatMap((o) => o.content || []).map((p) => p.text || '').join('');
  if (Array.isArray(j.choices)) return j.choices.map((c) => (c.message && c.message.content) || c.text || '').join('');
  if (j.content) return partsText(j.content.filter ? j.content.filter((p) => p.type === 'text') : j.content);
  return '';
}

function responseText(body) {
  if (!body) return '';
  try { return docText(JSON.parse(body)); } catch (e) { /* a stream */ }
  let deltas = '', items = '', failed = '';
  for (const line of body.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const d = line.slice(5).trim();
    if (!d || d === '[DONE]') continue;
    let e;
    try { e = JSON.parse(d); } catch (err) { continue; }
    if (e.type === 'response.output_text.delta') deltas += e.delta || '';
    else if (e.type === 'response.output_item.done' && e.item && e.item.type === 'message') items += partsText(e.item.content);
    else if (e.type === 'response.failed') failed = docText(e.response);
    else if (e.type === 'content_block_delta' && e.delta && e.delta.text) deltas += e.delta.text;
    else if (Array.isArray(e.choices)) for (const c of e.choices) deltas += (c.delta && c.delta.content) || '';
    else if (e.type === 'error' || e.error) failed = '[error] ' + ((e.error && e.error.message) || e.message || d);
  }
  return (deltas || items) + (failed ? (deltas || items ? '\n' : '') + failed : '');
}

function pretty(text) {
  if (!text) return '';
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
}

function timings(r) {
  const total = r.latency_ms || 0;
  const up = r.upstream_ms || 0;
  const ov = r.overhead_ms ?? Math.max(0, total - up);
  const x = (ms) => (total ? 400 * ms / total : 0).toFixed(1);
  const tx = r.ttft_ms === null || r.ttft_ms === undefined ? null : Number(x(r.ttft_ms));
  let svg = `<svg viewBox="0 0 400 40"><rect x="0" y="12" width="${x(ov)}" height="12" fill="#6b7483"><title>gateway ${esc(fmtMs(ov))}</title></rect>` +
    `<rect x="${x(ov)}" y="12" width="${x(up)}" height="12" fill="#3b6fd8"><title>upstream ${esc(fmtMs(up))}</title></rect>`;
  if (tx !== null) svg += `<line x1="${tx}" x2="${tx}" y1="9" y2="27" stroke="#e08a2c" stroke-width="2"/><text x="${tx}" y="8" text-anchor="${tx > 360 ? 'end' : tx < 40 ? 'start' : 'middle'}">ttft ${esc(fmtMs(r.ttft_ms))}</text>`;
  svg += `<text x="0" y="37">0</text><text x="400" y="37" text-anchor="end">${esc(fmtMs(total))}</text></svg>`;
  const box = h('div', { class: 'timings' });
  box.innerHTML = svg;
  return [
    h('dl', { class: 'meta', id: 'detail-timings' },
      h('dt', {}, 'total'), h('dd', {}, fmtMs(r.latency_ms)),
      h('dt', {}, 'time to first token'), h('dd', {}, fmtMs(r.ttft_ms)),
      h('dt', {}, 'upstream'), h('dd', {}, fmtMs(r.upstream_ms)),
      h('dt', {}, 'gateway overhead'), h('dd', {}, fmtMs(r.overhead_ms))),
    box,
  ];
}

async function openDetail(id) {
  state.selected = id;
  for (const tr of $('rows').children) tr.classList.toggle('selected', tr.dataset.id === id);
  const d = await api('/api/logs/' + encodeURIComponent(id));
  if (state.selected !== id) return;
  $('detail-title').textContent = id;
  const msgs = d.request_body ? promptMessages(d.request_body) : null;
  const prompt = h('div', { id: 'detail-prompt' },
    !d.request_body ? h('p', { class: 'muted' }, 'not captured ([logs] capture_bodies = false)')
      : msgs && msgs.length ? msgs.map((m) => h('div', { class: 'msg ' + (m.cls || '') }, h('div', { class: 'role' }, m.role), h('pre', {}, m.text)))
        : h('pre', { class: 'raw' }, pretty(d.request_body)));
  const text = responseText(d.response_body);
  const tools = d.tool_calls.length ? h('table', { id: 'detail-tools' }, h('tr', {}, h('th', {}, 'from'), h('th', {}, 'tool'), h('th', {}, 'call id'), h('th', {}, 'arguments')),
    d.tool_calls.map((t) => h('tr', {}, h('td', {}, t.source === 'response' ? 'this response' : 'earlier turn'), h('td', {}, t.name), h('td', {}, t.call_id || ''), h('td', {}, h('pre', {}, t.arguments)))))
    : h('p', { class: 'muted', id: 'detail-tools' }, 'none');
  const meta = h('dl', { class: 'meta' },
    h('dt', {}, 'time'), h('dd', {}, d.time),
    h('dt', {}, 'route'), h('dd', {}, d.route),
    h('dt', {}, 'model'), h('dd', {}, (d.model || '—') + (d.upstream_model && d.upstream_model !== d.model ? ' → ' + d.provider + '/' + d.upstream_model : '')),
    h('dt', {}, 'status'), h('dd', {}, h('span', { class: 'badge ' + d.status }, d.status), ' HTTP ' + d.http_status + (d.stream ? ' · stream' : '')),
    d.error ? [h('dt', {}, 'error'), h('dd', { class: 'err' }, d.error)] : null,
    h('dt', {}, 'tokens'), h('dd', {}, `${fmtInt(d.input_tokens)} input (${fmtInt(d.cached_input_tokens)} cached) · ${fmtInt(d.output_tokens)} output (${fmtInt(d.reasoning_tokens)} reasoning)`),
    h('dt', {}, 'cost'), h('dd', {}, fmtUsd(d.cost_usd)),
    d.key_alias ? [h('dt', {}, 'key'), h('dd', {}, d.key_alias)] : null,
    d.notes ? [h('dt', {}, 'notes'), h('dd', {}, d.notes)] : null,
    h('dt', {}, 'session'), h('dd', {}, d.session_id || '—'));
  const headers = h('dl', { class: 'meta' }, Object.entries(d.request_headers || {}).map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
  $('detail-body').replaceChildren(
    meta,
    h('h3', {}, 'timings'), ...timings(d),
    h('h3', {}, 'prompt'), prompt,
    h('h3', {}, 'response'), h('pre', { id: 'detail-response', class: 'raw' }, text || (!d.response_body ? 'not captured' : d.tool_calls.some((t) => t.source === 'response') ? '(no text: the model answered with the tool calls below)' : '(no text; see the raw response)')),
    h('h3', {}, 'tool calls'), tools,
    h('h3', {}, 'request headers (redacted)'), headers,
    h('details', {}, h('summary', {}, 'raw request body'), h('pre', { class: 'raw' }, pretty(d.request_body))),
    h('details', {}, h('summary', {}, 'raw response'), h('pre', { class: 'raw' }, pretty(d.response_body))));
  $('detail').hidden = false;
}

// ---------- wiring ----------

async function refresh() {
  try {
    await Promise.all([loadList(), loadStats()]);
    $('updated').textContent = 'updated ' + fmtTime(Date.now());
    showError(null);
  } catch (e) { showError(e); }
}

function restart() {
  state.rows = []; state.forceRender = true;
  refresh();
}

function schedule() {
  clearInterval(state.timer);
  state.timer = setInterval(() => { if ($('live').checked && !document.hidden) refresh(); }, POLL_MS);
}

document.addEventListener('DOMContentLoaded', () => {
  for (const id of ['f-session', 'f-provider', 'f-model', 'f-status', 'f-since']) $(id).addEventListener('change', restart);
  let t;
  $('f-q').addEventListener('input', () => { clearTimeout(t); t = setTimeout(restart, 250); });
  $('f-clear').addEventListener('click', () => {
    for (const id of ['f-session', 'f-provider', 'f-model', 'f-status', 'f-since', 'f-q']) $(id).value = '';
    restart();
  });
  $('more').addEventListener('click', () => loadMore().catch(showError));
  $('detail-close').addEventListener('click', () => {
    $('detail').hidden = true; state.selected = null;
    for (const tr of $('rows').children) tr.classList.remove('selected');
  });
  loadSessions().catch(showError);
  setInterval(() => { if ($('live').checked && !document.hidden) loadSessions().catch(() => {}); }, 10000);
  refresh();
  schedule();
});
