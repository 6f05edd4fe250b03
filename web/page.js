// The service's page: try /score, /compare and /rank, and plot the over-optimization watch
// (GET /v1/stats). Every request goes to this origin; the API key stays in sessionStorage.
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const KEY = 'reward-server-key';
const POLL_MS = 2000;
const TREND_POINTS = 120;

let trend = [];
let polling = null;

function fmt(v, digits = 4) {
  return v === null || v === undefined ? '–' : Number(v).toFixed(digits);
}

function showError(message) {
  const el = $('error');
  el.textContent = message;
  el.hidden = !message;
}

async function api(path, body) {
  const headers = { accept: 'application/json' };
  const key = sessionStorage.getItem(KEY);
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = new Error(data.error?.message ?? `${res.status} ${res.statusText}`);
    e.status = res.status;
    throw e;
  }
  return data;
}

/** Runs an action, showing its error (a 401 asks for the key). */
async function guarded(action) {
  try {
    showError('');
    await action();
  } catch (e) {
    showError(e.status === 401 || e.status === 403 ? `${e.message}: enter an API key above` : e.message);
    if (e.status === 401 || e.status === 403) $('key').focus();
  }
}

function prompt() {
  const text = $('prompt').value;
  if ($('prompt-kind').value === 'text') return { prompt: text };
  const messages = JSON.parse(text);
  return { messages };
}

function el(tag, attrs = {}, text) {
  const e = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function table(rows, head) {
  const t = el('table');
  if (head) {
    const tr = el('tr');
    tr.append(...head.map((h) => el('th', {}, h)));
    t.append(tr);
  }
  for (const r of rows) {
    const tr = el('tr');
    tr.append(...r.map((c) => el('td', {}, c)));
    t.append(tr);
  }
  return t;
}

const model = () => $('model').value || undefined;

async function runScore() {
  const p = prompt();
  // A chat item is the conversation with the response as its last assistant turn.
  const item = p.messages ? { messages: [...p.messages, { role: 'assistant', content: $('response').value }] } : { prompt: p.prompt, response: $('response').value };
  const r = await api('/score', { model: model(), items: [item] });
  const out = $('score-out');
  out.replaceChildren(el('div', { class: 'reward', id: 'score-reward' }, fmt(r.rewards[0])), el('div', {}, `model ${r.model}, ${r.usage.tokens} tokens${r.truncated[0] ? ', truncated' : ''}`));
  await refresh();
}

async function runCompare() {
  const p0 = prompt();
  const r = await api('/compare', { model: model(), pairs: [{ prompt: p0.messages ?? p0.prompt, a: $('resp-a').value, b: $('resp-b').value }] });
  const p = r.pairs[0];
  $('compare-out').replaceChildren(
    table([
      ['reward a', fmt(p.reward_a)],
      ['reward b', fmt(p.reward_b)],
      ['P(a ≻ b)', fmt(p.p_a_over_b, 3)],
    ]),
  );
  $('compare-out').querySelectorAll('td')[5].id = 'p-a-over-b'; // the P(a ≻ b) cell, for tests
  await refresh();
}

async function runRank() {
  const responses = $('responses').value.split('\n').map((s) => s.trim()).filter(Boolean);
  const r = await api('/rank', { model: model(), ...prompt(), responses });
  $('rank-out').replaceChildren(table(r.order.map((i, place) => [String(place + 1), responses[i], fmt(r.rewards[i]), fmt(r.probabilities[i], 3)]), ['#', 'response', 'reward', 'P(first)']));
  await refresh();
}

function axes(svg, x0, x1, y0, y1, xl, yl) {
  svg.append(el('svg:line', { class: 'axis', x1: 30, y1: 180, x2: 355, y2: 180 }), el('svg:line', { class: 'axis', x1: 30, y1: 8, x2: 30, y2: 180 }));
  svg.append(el('svg:text', { x: 30, y: 195 }, fmt(x0, 2)), el('svg:text', { x: 355, y: 195, 'text-anchor': 'end' }, fmt(x1, 2)));
  svg.append(el('svg:text', { x: 27, y: 180, 'text-anchor': 'end' }, fmt(y0, 2)), el('svg:text', { x: 27, y: 14, 'text-anchor': 'end' }, fmt(y1, 2)));
  if (xl) svg.append(el('svg:text', { x: 190, y: 195, 'text-anchor': 'middle' }, xl));
  if (yl) svg.append(el('svg:text', { x: 34, y: 14 }, yl));
}

const scale = (v, a, b, p, q) => (b === a ? (p + q) / 2 : p + ((v - a) / (b - a)) * (q - p));

function drawHistogram(s) {
  const svg = $('plot-hist');
  svg.replaceChildren();
  const vals = s.recent.rewards;
  if (!vals.length) return;
  const lo = Math.min(...vals, s.training ? s.training.mean - 3.5 * s.training.std : Infinity);
  const hi = Math.max(...vals, s.training ? s.training.mean + 3.5 * s.training.std : -Infinity);
  const bins = 24;
  const counts = new Array(bins).fill(0);
  for (const v of vals) counts[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo || 1)) * bins))]++;
  const top = Math.max(...counts);
  axes(svg, lo, hi, 0, top, 'reward', 'items');
  const w = 325 / bins;
  counts.forEach((c, i) => {
    const mid = lo + ((i + 0.5) * (hi - lo)) / bins;
    const out = s.training && Math.abs(mid - s.training.mean) > 3 * s.training.std;
    const h = (c / top) * 170;
    svg.append(el('svg:rect', { class: out ? 'bar out' : 'bar', x: 30 + i * w + 0.5, y: 180 - h, width: Math.max(1, w - 1), height: h }));
  });
  if (s.training) {
    for (const k of [-3, 3]) {
      const x = scale(s.training.mean + k * s.training.std, lo, hi, 30, 355);
      svg.append(el('svg:line', { class: 'mark', x1: x, y1: 8, x2: x, y2: 180 }));
    }
    const x = scale(s.training.mean, lo, hi, 30, 355);
    svg.append(el('svg:line', { class: 'mean', x1: x, y1: 8, x2: x, y2: 180 }));
  }
}

function drawScatter(s) {
  const svg = $('plot-scatter');
  svg.replaceChildren();
  const { rewards, lengths } = s.recent;
  if (!rewards.length) return;
  const [l0, l1] = [Math.min(...lengths), Math.max(...lengths)];
  const [r0, r1] = [Math.min(...rewards), Math.max(...rewards)];
  axes(svg, l0, l1, r0, r1, `tokens — Pearson ${fmt(s.length.pearson, 2)}, Spearman ${fmt(s.length.spearman, 2)}`, 'reward');
  rewards.forEach((r, i) => svg.append(el('svg:circle', { class: 'dot', r: 2.2, cx: scale(lengths[i], l0, l1, 34, 351), cy: scale(r, r0, r1, 176, 12) })));
}

function drawTrend() {
  const svg = $('plot-trend');
  svg.replaceChildren();
  if (!trend.length) return;
  const series = [
    ['line-drift', 'drift (std)', trend.map((t) => t.drift)],
    ['line-pearson', 'Pearson', trend.map((t) => t.pearson)],
    ['line-dis', 'disagreement', trend.map((t) => t.disagreement)],
  ].filter(([, , v]) => v.some((x) => x !== null));
  const all = series.flatMap(([, , v]) => v.filter((x) => x !== null));
  const y0 = Math.min(-1, ...all);
  const y1 = Math.max(1, ...all);
  axes(svg, 0, trend.length, y0, y1, 'polls', '');
  series.forEach(([cls, name, v], j) => {
    const pts = v.map((y, i) => (y === null ? null : `${scale(i, 0, Math.max(1, trend.length - 1), 32, 353).toFixed(1)},${scale(y, y0, y1, 178, 10).toFixed(1)}`)).filter(Boolean);
    if (pts.length === 1) pts.push(pts[0]);
    svg.append(el('svg:polyline', { class: cls, points: pts.join(' ') }), el('svg:text', { x: 40 + j * 90, y: 24, class: cls }, name));
  });
}

function showFigures(s) {
  const rows = [
    ['items in window', `${s.count} of ${s.window} (${s.total} seen)`],
    ['mean ± std', `${fmt(s.mean)} ± ${fmt(s.std)}`],
    ['p05 / p50 / p95', s.quantiles ? `${fmt(s.quantiles.p05)} / ${fmt(s.quantiles.p50)} / ${fmt(s.quantiles.p95)}` : '–'],
    ['training mean ± std', s.training ? `${fmt(s.training.mean)} ± ${fmt(s.training.std)}` : 'none (reward.json has no normalization)'],
    ['drift (training std)', fmt(s.drift_std, 3)],
    ['share beyond ±3 std', fmt(s.beyond_3std, 4)],
    ['length: Pearson / Spearman', `${fmt(s.length.pearson, 3)} / ${fmt(s.length.spearman, 3)}`],
  ];
  if (s.disagreement) rows.push(['disagreement mean / p95', `${fmt(s.disagreement.mean)} / ${fmt(s.disagreement.p95)}`]);
  $('figures').replaceChildren(table(rows));
}

async function refresh() {
  const s = await api(`/v1/stats${model() ? `?model=${encodeURIComponent(model())}` : ''}`);
  trend.push({ drift: s.drift_std, pearson: s.length.pearson, disagreement: s.disagreement?.mean ?? null });
  trend = trend.slice(-TREND_POINTS);
  $('watch-state').textContent = `${s.kind} ${s.model}, updated ${new Date().toLocaleTimeString()}`;
  showFigures(s);
  drawHistogram(s);
  drawScatter(s);
  drawTrend();
  document.body.dataset.plotted = String(s.count);
}

async function loadModels() {
  const m = await api('/v1/models');
  const names = [...m.data.map((d) => [d.id, 'model']), ...m.ensembles.map((e) => [e.id, 'ensemble'])];
  $('model').replaceChildren(...names.map(([id, kind]) => el('option', { value: id, ...(id === m.default ? { selected: '' } : {}) }, kind === 'ensemble' ? `${id} (ensemble)` : id)));
  trend = [];
  await refresh();
  clearInterval(polling);
  polling = setInterval(() => guarded(refresh), POLL_MS);
}

function start() {
  document.querySelectorAll('.tabs button').forEach((b) =>
    b.addEventListener('click', () => {
      document.querySelectorAll('.tabs button').forEach((x) => x.classList.toggle('active', x === b));
      document.querySelectorAll('[data-panel]').forEach((p) => (p.hidden = p.dataset.panel !== b.dataset.tab));
    }),
  );
  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const k = $('key').value.trim();
    if (k) sessionStorage.setItem(KEY, k);
    else sessionStorage.removeItem(KEY);
    $('key').value = '';
    $('key-state').textContent = k ? 'key set for this tab' : 'no key';
    guarded(loadModels);
  });
  $('key-state').textContent = sessionStorage.getItem(KEY) ? 'key set for this tab' : '';
  $('model').addEventListener('change', () => {
    trend = [];
    guarded(refresh);
  });
  $('prompt-kind').addEventListener('change', () => {
    if ($('prompt-kind').value === 'messages' && !$('prompt').value.trim().startsWith('[')) $('prompt').value = JSON.stringify([{ role: 'user', content: $('prompt').value }]);
  });
  $('run-score').addEventListener('click', () => guarded(runScore));
  $('run-compare').addEventListener('click', () => guarded(runCompare));
  $('run-rank').addEventListener('click', () => guarded(runRank));
  if (document.querySelector('meta[name="api-key"]').content === 'required' && !sessionStorage.getItem(KEY)) {
    showError('This server asks for an API key: enter it above (it stays in this tab only).');
    $('key').focus();
    return;
  }
  guarded(loadModels);
}

start();
