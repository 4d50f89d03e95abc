// iCrm dashboard: plain JavaScript over the app's own API (/api/*), one page per hash route, charts with Chart.js.
'use strict';

// ---------------------------------------------------------------------------------------------------------------------
// Access: the one place that knows how the API authenticates callers. A role key (Security__Keys__{name}__Secret) is
// sent as x-api-key. In Azure with App Service authentication, a signed-in Entra ID session needs no key: the platform
// passes the person to the app, and the app's 401 says so, which is when the sign-in link is offered.
const ACCESS = { header: 'x-api-key', storageKey: 'icrm.apiKey', signInHint: 'sign in with Microsoft Entra ID' };
const API = new URL('../', document.baseURI).pathname.replace(/\/$/, ''); // "/api", from /api/dashboard/

// Okabe–Ito: distinguishable with the common forms of colour blindness.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#56B4E9', '#CC79A7', '#F0E442', '#000000'];

// CSV export reads the current filter page by page, up to this many rows (a browser-side export; bigger lists belong
// in a batch job, not a tab).
const CSV_MAX_ROWS = 10000;

class ApiError extends Error {
  constructor(status, problem) {
    super(problem && (problem.detail || problem.title) ? `${problem.title || 'Error'}: ${problem.detail || ''}` : `HTTP ${status}`);
    this.status = status;
  }
}

function apiKey() { return sessionStorage.getItem(ACCESS.storageKey); }

let keyWaiters = [];
function askForKey(problem) {
  const form = document.getElementById('key-form');
  document.getElementById('entra-sign-in').hidden = !String(problem?.detail ?? '').includes(ACCESS.signInHint);
  form.hidden = false;
  document.getElementById('api-key').focus();
  return new Promise(resolve => keyWaiters.push(resolve));
}
document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('key-form').addEventListener('submit', e => {
    e.preventDefault();
    sessionStorage.setItem(ACCESS.storageKey, document.getElementById('api-key').value);
    e.target.hidden = true;
    const waiters = keyWaiters; keyWaiters = [];
    waiters.forEach(w => w());
  });
});

/** GET an API path ("/customers?..."); null for the statuses in `absent` (e.g. 503 "not trained yet"). */
async function api(path, { absent = [] } = {}) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const headers = { accept: 'application/json' };
    const key = apiKey();
    if (key) headers[ACCESS.header] = key;
    const response = await fetch(API + path, { headers });
    if (response.status === 401) {
      sessionStorage.removeItem(ACCESS.storageKey);
      const problem = response.headers.get('content-type')?.includes('json') ? await response.json() : null;
      await askForKey(problem);
      continue;
    }
    if (absent.includes(response.status)) return null;
    const body = response.headers.get('content-type')?.includes('json') ? await response.json() : null;
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }
  throw new ApiError(401, { title: 'Missing or wrong API key' });
}

// ---------------------------------------------------------------------------------------------------------------------
// Small helpers
const esc = v => String(v ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const fmt = (v, digits = 0) => v == null || Number.isNaN(v) ? '–' : Number(v).toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = v => v == null || Number.isNaN(v) ? '–' : `${(v * 100).toFixed(1)} %`;
const date = v => v ? String(v).slice(0, 10) : '–';
const when = v => v ? String(v).replace('T', ' ').slice(0, 16) + ' UTC' : '–';
const main = () => document.getElementById('main');
const kpi = (label, value, id) => `<div class="kpi"${id ? ` data-kpi="${esc(id)}"` : ''}><div class="value">${value}</div><div class="label">${esc(label)}</div></div>`;
const chartBox = (id, label, height) => `<div class="chart"${height ? ` style="height:${height}px"` : ''}><canvas id="${id}" role="img" aria-label="${esc(label)}"></canvas></div>`;
const band = b => `<span class="band-${esc(b)}">${esc(b)}</span>`;

const charts = [];
function chart(id, config) {
  const canvas = document.getElementById(id);
  if (!canvas) return null;
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
  (config.data.datasets || []).forEach((d, i) => {
    const colour = d.color || PALETTE[i % PALETTE.length];
    d.backgroundColor ??= Array.isArray(d.colors) ? d.colors : (config.type === 'line' || config.type === 'scatter' ? colour + '33' : colour);
    d.borderColor ??= colour;
    delete d.color; delete d.colors;
  });
  const instance = new Chart(canvas, config);
  charts.push(instance);
  return instance;
}
const axis = (title, extra = {}) => Object.assign({ title: { display: true, text: title } }, extra);
// Category axes of horizontal bars name every bar (segment, factor, reason): never skip a label.
const everyLabel = { ticks: { autoSkip: false } };

// ---------------------------------------------------------------------------------------------------------------------
// Routing: #/page/arg?query
const pages = { overview, segments, customers, customer, models, ingestion };

async function route() {
  charts.splice(0).forEach(c => c.destroy());
  const hash = location.hash.replace(/^#\/?/, '') || 'overview';
  const [path, query = ''] = hash.split('?');
  const [name, ...rest] = path.split('/');
  const page = pages[name] || overview;
  const nav = name === 'customer' ? 'customers' : name;
  document.querySelectorAll('header nav a').forEach(a => a.dataset.page === nav ? a.setAttribute('aria-current', 'page') : a.removeAttribute('aria-current'));
  document.body.dataset.page = name;
  document.body.dataset.ready = 'false';
  main().innerHTML = '<p class="loading">Loading…</p>';
  try {
    await page(rest.map(decodeURIComponent), new URLSearchParams(query));
  } catch (e) {
    main().innerHTML = `<div class="error-box" role="alert"><strong>Could not load this page.</strong> ${esc(e.message)}</div>`;
  }
  // Counts finished page loads, so a test (or a person's script) can wait for the page a hash change asked for.
  document.body.dataset.loads = String(Number(document.body.dataset.loads || 0) + 1);
  document.body.dataset.ready = 'true';
}
window.addEventListener('hashchange', () => { route().then(() => main().focus({ preventScroll: true })); });
window.addEventListener('DOMContentLoaded', route);

// ---------------------------------------------------------------------------------------------------------------------
// Overview
async function overview() {
  const [o, seg] = await Promise.all([api('/overview?days=30'), api('/segments', { absent: [503] })]);
  const profiles = seg?.rfmSummaries ? seg.rfmSummaries.reduce((s, r) => s + r.customers, 0) : null;
  const d = o.drops;
  main().innerHTML = `
    <h2>Overview</h2>
    <div class="kpis">
      ${kpi('customers at the last training run', profiles == null ? 'not trained' : fmt(profiles), 'customers')}
      ${kpi('profiles created by drops (30 days)', fmt(d.profilesCreated), 'created')}
      ${kpi('records merged into profiles (30 days)', fmt(d.profilesMerged), 'merged')}
      ${kpi('drops (30 days)', fmt(d.drops), 'drops')}
      ${kpi('rows accepted', fmt(d.rowsAccepted), 'accepted')}
      ${kpi('rows rejected', fmt(d.rowsRejected), 'rejected')}
      ${kpi('duplicates skipped', fmt(d.duplicatesSkipped), 'duplicates')}
    </div>
    <section aria-labelledby="alerts-h"><h3 id="alerts-h">Alerts</h3>
      ${o.alerts.length === 0 ? '<p class="muted">Nothing needs attention.</p>' : o.alerts.map(a => `<div class="alert ${esc(a.severity)}">
        ${esc(a.message)} ${a.subject === 'drop' ? `<a href="#/ingestion/${encodeURIComponent(a.ref)}">drop report</a>` : `<a href="#/models?kind=${encodeURIComponent(a.ref)}">model</a>`}</div>`).join('')}
    </section>
    <div class="grid2">
      <section class="panel"><h3>Rows per day (last 30 days)</h3>${chartBox('drops-by-day', 'Rows accepted, rejected and duplicate per day')}</section>
      <section class="panel"><h3>Models</h3>
        <table><thead><tr><th>Kind</th><th>Champion</th><th>Trained</th><th class="num">Metric</th></tr></thead><tbody>
        ${o.models.map(m => `<tr><td><a href="#/models?kind=${encodeURIComponent(m.kind)}">${esc(m.kind)}</a></td>
          <td class="mono">${m.championVersion ? esc(m.championVersion) : '<span class="muted">none yet</span>'}</td>
          <td>${when(m.promotedAt)}</td><td class="num">${m.metric ? `${esc(m.metric)} ${fmt(m.value, 3)}` : '–'}</td></tr>`).join('')}
        </tbody></table>
        ${seg ? `<h3>Segment sizes</h3>${chartBox('segment-sizes', 'Customers per RFM segment')}` : '<p class="muted">Train the models (POST /api/train) to see segments.</p>'}
      </section>
    </div>`;
  chart('drops-by-day', {
    type: 'bar',
    data: {
      labels: o.dropsByDay.map(x => x.day),
      datasets: [
        { label: 'accepted', data: o.dropsByDay.map(x => x.rowsAccepted), color: PALETTE[2] },
        { label: 'rejected', data: o.dropsByDay.map(x => x.rowsRejected), color: PALETTE[3] },
        { label: 'duplicates', data: o.dropsByDay.map(x => x.duplicatesSkipped), color: PALETTE[4] },
      ],
    },
    options: { scales: { x: { stacked: true }, y: axis('rows', { stacked: true }) } },
  });
  if (seg) {
    chart('segment-sizes', {
      type: 'bar',
      data: { labels: seg.rfmSummaries.map(s => s.segment), datasets: [{ label: 'customers', data: seg.rfmSummaries.map(s => s.customers) }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: axis('customers'), y: everyLabel } },
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Segments
async function segments() {
  const seg = await api('/segments', { absent: [503] });
  if (!seg) {
    main().innerHTML = '<h2>Segments</h2><p>No segments model has been trained yet: run training (POST /api/train) first.</p>';
    return;
  }
  const clusters = seg.clusterSummaries || [];
  // The training run stores cluster descriptions by cluster number; the summary's name starts with that number.
  const stored = seg.details?.clusterDescriptions;
  const describe = r => {
    const k = parseInt(r.segment, 10);
    const d = Array.isArray(stored) ? stored[k] : stored?.[r.segment] ?? stored?.[k];
    const text = typeof d === 'string' ? d : d?.description;
    return text && !r.segment.includes(text) ? text : '';
  };
  // An RFM segment's description comes with the API (seg.descriptions); a cluster is described in its name
  // ("3: frequent web visitors, ...") or in the stored descriptions.
  const clusterText = r => describe(r) || (r.segment.includes(':') ? r.segment.slice(r.segment.indexOf(':') + 1).trim() : '');
  const descriptionOf = (r, kind) => kind === 'Cluster' ? clusterText(r) : (seg.descriptions?.[r.segment] || '');
  const table = (rows, kind, id) => `<table id="${id}"><thead><tr><th>${kind}</th><th class="num">Customers</th><th class="num">Total value</th>
      <th class="num">Average value</th><th class="num">Churn rate</th><th>What it means</th></tr></thead><tbody>
      ${rows.map(r => `<tr><td><a href="#/customers?segment=${encodeURIComponent(r.segment)}">${esc(kind === 'Cluster' ? r.segment.split(':')[0] : r.segment)}</a></td>
        <td class="num">${fmt(r.customers)}</td><td class="num">${fmt(r.totalValue, 2)}</td><td class="num">${fmt(r.averageValue, 2)}</td>
        <td class="num">${pct(r.churnRate)}</td><td class="description">${esc(descriptionOf(r, kind)) || '<span class="muted">–</span>'}</td></tr>`).join('')}
      </tbody></table>`;
  main().innerHTML = `
    <h2>Segments</h2>
    <p class="muted">As stored by the training run of ${when(seg.promotedAt)} (segments model <span class="mono">${esc(seg.version)}</span>). Click a segment or a grid cell for its customers.</p>
    ${rfmGrid(seg.rfmGrid)}
    <div class="grid2">
      <section class="panel"><h3>RFM segments: size and churn rate</h3>${chartBox('rfm-chart', 'RFM segment sizes and churn rates')}</section>
      <section class="panel"><h3>RFM segments: average value</h3>${chartBox('rfm-value', 'Average 12-month value per RFM segment')}</section>
    </div>
    <h3>RFM segments</h3>${table(seg.rfmSummaries || [], 'Segment', 'rfm-segments')}
    <h3>Behavioural clusters</h3>
    ${clusters.length ? `<section class="panel">${chartBox('cluster-chart', 'Behavioural cluster sizes')}</section>${table(clusters, 'Cluster', 'clusters')}` : '<p class="muted">Too few customers with behaviour data for clusters.</p>'}`;
  const rfm = seg.rfmSummaries || [];
  chart('rfm-chart', {
    type: 'bar',
    data: {
      labels: rfm.map(s => s.segment),
      datasets: [
        { label: 'customers', data: rfm.map(s => s.customers), yAxisID: 'y' },
        { label: 'churn rate %', data: rfm.map(s => s.churnRate == null ? null : +(s.churnRate * 100).toFixed(1)), yAxisID: 'y1', color: PALETTE[3] },
      ],
    },
    options: { scales: { y: axis('customers'), y1: axis('churn rate %', { position: 'right', min: 0, max: 100, grid: { drawOnChartArea: false } }) } },
  });
  chart('rfm-value', {
    type: 'bar',
    data: { labels: rfm.map(s => s.segment), datasets: [{ label: 'average value', data: rfm.map(s => s.averageValue), color: PALETTE[2] }] },
    options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: axis('average 12-month value'), y: everyLabel } },
  });
  if (clusters.length) {
    chart('cluster-chart', {
      type: 'bar',
      data: { labels: clusters.map(s => s.segment), datasets: [{ label: 'customers', data: clusters.map(s => s.customers), color: PALETTE[5] }] },
      options: { plugins: { legend: { display: false } }, scales: { y: axis('customers') } },
    });
  }
}

/**
 * The RFM grid: recency score (rows, 5 = bought most recently, on top) × frequency score (columns, 5 = most orders), each
 * cell's colour darker with more customers (one hue, Okabe–Ito blue, so it reads the same with colour blindness and in
 * grey), its link the customers of that cell. The same numbers are in the table under it.
 */
function rfmGrid(grid) {
  if (!grid || !grid.cells?.length) {
    return '<section class="panel" id="rfm-grid-panel"><h3>RFM grid</h3><p class="muted">No write-back has completed yet: the grid appears after a training run has scored every customer.</p></section>';
  }
  const byCell = new Map(grid.cells.map(c => [`${c.recency}-${c.frequency}`, c]));
  const max = Math.max(...grid.cells.map(c => c.customers));
  const scores = [1, 2, 3, 4, 5];
  const describeCell = c => `Recency ${c.recency}, frequency ${c.frequency}: ${fmt(c.customers)} customers, average value ${fmt(c.averageValue, 2)}, churn rate ${pct(c.churnRate)}; segments ${c.segments.join(', ')}`;
  const cell = (r, f) => {
    const c = byCell.get(`${r}-${f}`);
    if (!c) return `<td class="rfm-cell empty" data-recency="${r}" data-frequency="${f}"><span class="muted" aria-label="Recency ${r}, frequency ${f}: no customers">0</span></td>`;
    // Sequential scale: 12 % to 100 % of the hue; white text once the cell is dark enough for it.
    const share = c.customers / max;
    const alpha = 0.12 + 0.88 * Math.sqrt(share);
    const ink = alpha > 0.55 ? '#ffffff' : '#1b1f24';
    return `<td class="rfm-cell" data-recency="${r}" data-frequency="${f}" data-customers="${c.customers}" style="background: rgba(0, 114, 178, ${alpha.toFixed(3)}); color: ${ink}">
      <a href="#/customers?recency=${r}&frequency=${f}" style="color: ${ink}" title="${esc(describeCell(c))}" aria-label="${esc(describeCell(c))}">
        <span class="count">${fmt(c.customers)}</span><span class="sub">${fmt(c.averageValue, 0)} · ${pct(c.churnRate)}</span></a></td>`;
  };
  const rows = grid.cells.slice().sort((a, b) => b.recency - a.recency || a.frequency - b.frequency);
  return `<section class="panel" id="rfm-grid-panel" aria-labelledby="rfm-grid-h">
    <h3 id="rfm-grid-h">RFM grid: recency × frequency</h3>
    <p class="muted">${fmt(grid.customers)} customers with a purchase, as scored by the write-back of run <span class="mono">${esc(grid.runId)}</span>
      (${when(grid.completedAt)}). Each cell: customers, average predicted 12-month value · mean churn probability. Darker = more customers. Click a cell for its customers.</p>
    <div class="rfm-layout">
      <table class="rfm-grid" id="rfm-grid" aria-describedby="rfm-grid-h">
        <caption class="muted">Rows: recency score (5 = bought most recently). Columns: frequency score (5 = most orders).</caption>
        <thead><tr><th scope="col">R \\ F</th>${scores.map(f => `<th scope="col" class="num">F ${f}</th>`).join('')}</tr></thead>
        <tbody>${scores.slice().reverse().map(r => `<tr><th scope="row">R ${r}</th>${scores.map(f => cell(r, f)).join('')}</tr>`).join('')}</tbody>
      </table>
      <div class="rfm-legend" aria-hidden="true"><span>fewer</span><span class="ramp"></span><span>more customers (max ${fmt(max)})</span></div>
    </div>
    <details><summary>The grid's numbers as a table</summary>
      <table id="rfm-grid-table"><thead><tr><th>Cell</th><th class="num">Customers</th><th class="num">Average value (CLV)</th><th class="num">Churn rate</th><th>Segments in it</th></tr></thead><tbody>
      ${rows.map(c => `<tr><td><a href="#/customers?recency=${c.recency}&frequency=${c.frequency}">R ${c.recency} · F ${c.frequency}</a></td><td class="num">${fmt(c.customers)}</td>
        <td class="num">${fmt(c.averageValue, 2)}</td><td class="num">${pct(c.churnRate)}</td><td>${c.segments.map(esc).join(', ')}</td></tr>`).join('')}
      </tbody></table></details>
  </section>`;
}

// ---------------------------------------------------------------------------------------------------------------------
// Customers
const FILTERS = ['segment', 'recency', 'frequency', 'minChurn', 'maxChurn', 'minClv', 'consent', 'source', 'sort', 'pageSize'];

function customerQuery(params, token) {
  const q = new URLSearchParams();
  for (const f of FILTERS) if (params.get(f)) q.set(f, params.get(f));
  if (token) q.set('continuationToken', token);
  return q.toString();
}

const prediction = (c, kind) => c.predictions?.[kind];
const fullName = c => [c.contact?.firstName, c.contact?.lastName].filter(Boolean).join(' ');

async function customers(_, params) {
  const token = params.get('continuationToken');
  const page = await api(`/customers?${customerQuery(params, token)}`);
  const option = (name, value, label) => `<option value="${esc(value)}"${(params.get(name) || '') === value ? ' selected' : ''}>${esc(label)}</option>`;
  const field = (name, label, attrs = '') => `<label>${label}<input name="${name}" value="${esc(params.get(name) || '')}" ${attrs}></label>`;
  const items = page.items || [];
  main().innerHTML = `
    <h2>Customers</h2>
    <form class="filters" id="customer-filters">
      ${field('segment', 'Segment or cluster', 'maxlength="64" list="segment-names"')}
      <label>RFM recency<select name="recency">${option('recency', '', 'any')}${['5', '4', '3', '2', '1'].map(n => option('recency', n, n)).join('')}</select></label>
      <label>RFM frequency<select name="frequency">${option('frequency', '', 'any')}${['5', '4', '3', '2', '1'].map(n => option('frequency', n, n)).join('')}</select></label>
      ${field('minChurn', 'Churn risk at least', 'type="number" min="0" max="1" step="0.05"')}
      ${field('maxChurn', 'Churn risk at most', 'type="number" min="0" max="1" step="0.05"')}
      ${field('minClv', 'Value (CLV) at least', 'type="number" min="0" step="10"')}
      <label>Consent<select name="consent">${option('consent', '', 'any')}${option('consent', 'email', 'email')}${option('consent', 'sms', 'SMS')}${option('consent', 'phone', 'phone')}</select></label>
      ${field('source', 'Source', 'maxlength="64" placeholder="e.g. web"')}
      <label>Sort<select name="sort">${option('sort', '', 'store order')}${option('sort', 'churn', 'highest churn risk')}${option('sort', 'clv', 'highest value')}</select></label>
      <label>Page size<select name="pageSize">${option('pageSize', '', '50')}${['25', '100', '200'].map(n => option('pageSize', n, n)).join('')}</select></label>
      <button type="submit">Apply</button>
      <button type="button" class="secondary" id="csv-export">Export CSV</button>
    </form>
    <datalist id="segment-names"></datalist>
    <p id="export-status" class="muted" role="status"></p>
    <div class="pager">
      <span class="muted" id="list-count">${items.length} customers on this page${page.excludedWithoutConsent ? `, ${fmt(page.excludedWithoutConsent)} left out without consent` : ''}</span>
      ${token ? '<a href="#" id="first-page">First page</a>' : ''}
      ${page.continuationToken ? `<a id="next-page" href="#/customers?${esc(customerQuery(params, page.continuationToken))}">Next page</a>` : '<span class="muted">last page</span>'}
    </div>
    <section class="panel"><h3>Churn risk and value on this page</h3>${chartBox('customers-scatter', 'Churn risk against 12-month value for the customers on this page', 220)}</section>
    <section class="panel">
        <table id="customer-table"><thead><tr><th>Customer</th><th>Segment</th><th class="num">Churn risk</th><th class="num">CLV (12 m)</th><th class="num">Orders</th><th>Last order</th><th>Sources</th><th class="num" title="RFM recency and frequency scores">R · F</th></tr></thead>
        <tbody>${items.map(c => `<tr data-id="${esc(c.id)}"><td><a href="#/customer/${encodeURIComponent(c.id)}">${esc(fullName(c) || c.id)}</a></td>
          <td>${esc(prediction(c, 'segments')?.label || '')}</td>
          <td class="num">${prediction(c, 'churn') ? pct(prediction(c, 'churn').value) : '–'}</td>
          <td class="num">${prediction(c, 'clv') ? fmt(prediction(c, 'clv').value, 2) : '–'}</td>
          <td class="num">${fmt(c.history?.orders)}</td><td>${date(c.history?.lastOrder)}</td>
          <td>${esc(Object.keys(c.identities || {}).join(', '))}</td>
          <td class="num rf">${prediction(c, 'segments')?.recency ? `${prediction(c, 'segments').recency} · ${prediction(c, 'segments').frequency}` : '–'}</td></tr>`).join('')}</tbody></table>
        ${items.length === 0 ? '<p class="muted">No customers match this filter on this page.</p>' : ''}
    </section>`;
  document.getElementById('customer-filters').addEventListener('submit', e => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(e.target)) if (v) q.set(k, v);
    location.hash = `#/customers?${q}`;
  });
  document.getElementById('first-page')?.addEventListener('click', e => { e.preventDefault(); params.delete('continuationToken'); location.hash = `#/customers?${customerQuery(params)}`; });
  document.getElementById('csv-export').addEventListener('click', () => exportCsv(params));
  api('/segments', { absent: [503] }).then(seg => {
    const names = [...(seg?.rfmSummaries || []), ...(seg?.clusterSummaries || [])].map(s => s.segment);
    document.getElementById('segment-names').innerHTML = names.map(n => `<option value="${esc(n)}">`).join('');
  }).catch(() => { /* suggestions only */ });
  const points = items.filter(c => prediction(c, 'churn') && prediction(c, 'clv')).map(c => ({ x: prediction(c, 'churn').value, y: prediction(c, 'clv').value }));
  chart('customers-scatter', {
    type: 'scatter',
    data: { datasets: [{ label: 'customers', data: points, pointRadius: 4 }] },
    options: { plugins: { legend: { display: false } }, scales: { x: axis('churn probability', { min: 0, max: 1 }), y: axis('12-month value') } },
  });
}

const CSV_COLUMNS = [
  ['id', c => c.id],
  ['sources', c => Object.keys(c.identities || {}).join(' ')],
  ['segment', c => prediction(c, 'segments')?.label],
  ['churn_probability', c => prediction(c, 'churn')?.value],
  ['churn_band', c => prediction(c, 'churn')?.label],
  ['clv_12m', c => prediction(c, 'clv')?.value],
  ['orders', c => c.history?.orders],
  ['spend', c => c.history?.spend],
  ['last_order', c => date(c.history?.lastOrder)],
  ['consent_email', c => c.consent?.email],
  ['consent_sms', c => c.consent?.sms],
  ['consent_phone', c => c.consent?.phone],
  ['rfm_recency', c => prediction(c, 'segments')?.recency],
  ['rfm_frequency', c => prediction(c, 'segments')?.frequency],
];
const csvCell = v => {
  const s = v == null ? '' : String(v);
  // Quote separators and quotes; prefix formula starters so a spreadsheet never runs a cell.
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** Streams every page of the current filter (500 at a time, up to CSV_MAX_ROWS) into a CSV file download. */
async function exportCsv(params) {
  const status = document.getElementById('export-status');
  const button = document.getElementById('csv-export');
  button.disabled = true;
  const lines = [CSV_COLUMNS.map(c => c[0]).join(',')];
  let token = null, rows = 0, capped = false;
  try {
    const filter = new URLSearchParams(params);
    filter.set('pageSize', '500');
    do {
      const page = await api(`/customers?${customerQuery(filter, token)}`);
      for (const c of page.items) {
        if (rows === CSV_MAX_ROWS) { capped = true; break; }
        lines.push(CSV_COLUMNS.map(([, get]) => csvCell(get(c))).join(','));
        rows++;
      }
      token = page.continuationToken;
      status.textContent = `Exporting… ${rows} rows`;
    } while (token && !capped);
    const blob = new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv' });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `icrm-customers-${new Date().toISOString().slice(0, 10)}.csv`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    status.textContent = capped ? `Exported the first ${CSV_MAX_ROWS} rows (the export's maximum); narrow the filter for the rest.` : `Exported ${rows} rows.`;
  } catch (e) {
    status.textContent = `Export failed: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Customer 360
const AUDIT_ROWS = 20;
async function customer([id]) {
  const enc = encodeURIComponent(id);
  const [c, scores, recs, audit] = await Promise.all([
    api(`/customers/${enc}`),
    api(`/customers/${enc}/scores`, { absent: [503] }),
    api(`/customers/${enc}/recommendations?top=10`, { absent: [503] }),
    // The audit trail is the privacy role's: a key without it gets 403, shown as such rather than as an error.
    api(`/customers/${enc}/audit?pageSize=${AUDIT_ROWS}`, { absent: [403] }),
  ]);
  const contact = Object.entries(c.contact || {}).filter(([, v]) => v != null && v !== '');
  const churn = scores?.churn;
  const clv = scores?.lifetimeValue;
  const timeline = c.timeline || [];
  main().innerHTML = `
    <h2>Customer <span class="mono" id="customer-id">${esc(c.id)}</span> ${fullName(c) ? `· ${esc(fullName(c))}` : ''}</h2>
    <div class="kpis">
      ${kpi('churn probability', churn ? `${pct(churn.probability)} ${band(churn.band)}` : 'not scored', 'churn')}
      ${kpi('12-month value', clv ? `${fmt(clv.value12Months, 2)} ${esc(clv.currency || '')}` : '–', 'clv')}
      ${kpi('P(still active)', clv ? pct(clv.probabilityAlive) : '–', 'alive')}
      ${kpi('RFM segment', esc(scores?.segment?.rfmSegment || '–'), 'segment')}
      ${kpi('orders · spend', `${fmt(c.history?.orders)} · ${fmt(c.history?.spend, 2)}`, 'orders')}
      ${kpi('sentiment', scores?.sentiment?.recent == null ? '–' : `${fmt(scores.sentiment.recent, 2)} (${esc(scores.sentiment.direction)})`, 'sentiment')}
    </div>
    <div class="grid2">
      <section class="panel"><h3>Why this churn risk</h3>
        ${churn?.topFactors?.length ? chartBox('churn-factors', 'Contributions of the top factors to the churn risk') : '<p class="muted">No churn model yet.</p>'}</section>
      <section class="panel"><h3>Timeline</h3>${timeline.length
        ? chartBox('customer-timeline', `Orders, events and feedback by date: the latest ${timeline.length}; feedback coloured by sentiment`)
        : '<p class="muted">No orders, events or feedback yet.</p>'}</section>
    </div>
    <div class="grid2">
      <section class="panel"><h3>Identities by source</h3>
        <dl class="facts">${Object.entries(c.identities || {}).map(([s, ids]) => `<dt>${esc(s)}</dt><dd class="mono">${ids.map(esc).join(', ')}</dd>`).join('')}</dl>
        ${c.mergeExplanations?.length ? `<h3>Why these records are one customer</h3><ul>${c.mergeExplanations.map(m =>
          `<li>${when(m.at)}: <span class="mono">${esc(m.otherId)}</span> by ${esc(m.rule)}${m.score != null ? ` (score ${fmt(m.score, 2)})` : ''}: ${m.evidence.map(esc).join('; ')}</li>`).join('')}</ul>` : ''}
        ${c.mergedFrom?.length ? `<p class="muted">Merged from ${c.mergedFrom.map(esc).join(', ')}</p>` : ''}
        <h3>Contact</h3><dl class="facts">${contact.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('') || '<dd class="muted">none</dd>'}</dl>
        <h3>Consent</h3><dl class="facts">${['email', 'sms', 'phone', 'profiling'].map(k => `<dt>${k}</dt><dd>${c.consent?.[k] == null ? 'unknown' : c.consent[k] ? 'yes' : 'no'}</dd>`).join('')}</dl>
        ${Object.keys(c.attributes || {}).length ? `<h3>Attributes</h3><dl class="facts">${Object.entries(c.attributes).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>` : ''}
      </section>
      <section class="panel"><h3>Recommendations</h3>
        ${recs?.items?.length ? `<table><thead><tr><th>Product</th><th class="num">Score</th><th>Reason</th></tr></thead><tbody>
          ${recs.items.map(r => `<tr><td class="mono">${esc(r.productId)}</td><td class="num">${fmt(r.score, 3)}</td><td>${esc(r.reason)}</td></tr>`).join('')}</tbody></table>` : '<p class="muted">No recommendations model yet.</p>'}
      </section>
    </div>
    <section class="panel" aria-labelledby="timeline-h"><h3 id="timeline-h">Timeline: the latest ${fmt(timeline.length)} orders, events and feedback</h3>
      <table id="timeline-table"><thead><tr><th>Date</th><th>Kind</th><th>What</th><th>Channel</th><th class="num">Amount</th><th>Sentiment</th></tr></thead><tbody>
        ${timeline.map(t => `<tr class="timeline-${esc(t.kind)}" data-kind="${esc(t.kind)}"><td>${date(t.at)}</td><td>${esc(t.kind)}</td>
          <td>${t.kind === 'order' ? `order <span class="mono">${esc(t.title)}</span>` : esc(t.title)}${t.rating != null ? ` · rating ${fmt(t.rating)}` : ''}${t.detail ? ` · ${esc(t.detail)}` : ''}</td>
          <td>${esc(t.channel || '')}</td><td class="num">${t.amount != null ? fmt(t.amount, 2) : ''}</td>
          <td class="sentiment">${t.kind !== 'feedback' ? '' : t.sentimentLabel ? `<span class="sentiment-${esc(t.sentimentLabel.toLowerCase())}">${esc(t.sentimentLabel)}</span> ${fmt(t.sentiment, 2)}` : '<span class="muted">not scored</span>'}</td></tr>`).join('')}
        ${timeline.length === 0 ? '<tr><td colspan="6" class="muted">Nothing yet.</td></tr>' : ''}
      </tbody></table>
      <p class="muted">All time: ${fmt(c.history?.orders)} orders${Object.entries(c.history?.eventsByType || {}).map(([t, n]) => `, ${fmt(n)} × ${esc(t)}`).join('')}, ${fmt(c.history?.feedback)} feedback items${c.history?.averageRating != null ? ` (average rating ${fmt(c.history.averageRating, 1)})` : ''}${scores?.sentiment ? `, sentiment ${esc(scores.sentiment.direction)}` : ''}.</p>
    </section>
    <section class="panel" aria-labelledby="audit-h"><h3 id="audit-h">Audit trail: the latest ${AUDIT_ROWS} entries</h3>
      ${audit == null ? '<p class="muted" id="audit-refused">The audit trail needs the privacy role.</p>' : `
      <table id="audit-table"><thead><tr><th>When</th><th>Action</th><th>Who</th><th>Role</th><th>Purpose</th><th>Related</th></tr></thead><tbody>
        ${audit.items.map(a => `<tr data-action="${esc(a.action)}"><td>${when(a.at)}</td><td>${esc(a.action)}</td><td class="mono">${esc(a.actor)}</td>
          <td>${esc(a.role || '')}</td><td>${esc(a.purpose || '')}</td><td class="mono">${esc(a.relatedId || '')}${a.reason ? ` · ${esc(a.reason)}` : ''}</td></tr>`).join('')}
        ${audit.items.length === 0 ? '<tr><td colspan="6" class="muted">No entries yet (reads are stored in batches, a moment later).</td></tr>' : ''}
      </tbody></table>`}
    </section>`;
  if (churn?.topFactors?.length) {
    const factors = churn.topFactors;
    chart('churn-factors', {
      type: 'bar',
      data: {
        labels: factors.map(f => f.label || f.feature),
        datasets: [{ label: 'contribution', data: factors.map(f => f.contribution), colors: factors.map(f => f.contribution >= 0 ? PALETTE[3] : PALETTE[0]) }],
      },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: axis('pushes churn risk up (+) or down (−)'), y: everyLabel } },
    });
  }
  if (timeline.length) timelineChart(timeline);
}

// One row per kind (orders, events, feedback) along the date axis; feedback points take the colour of their sentiment
// (Okabe–Ito: bluish green positive, orange neutral, vermillion negative, grey not scored). The table under it holds the same items.
const TIMELINE_KINDS = ['order', 'event', 'feedback'];
const SENTIMENT_COLOURS = { Positive: PALETTE[2], Neutral: PALETTE[1], Negative: PALETTE[3] };
function timelineChart(timeline) {
  const label = t => `${date(t.at)} ${t.kind}: ${t.title}${t.amount != null ? ` ${fmt(t.amount, 2)}` : ''}${t.sentimentLabel ? ` (${t.sentimentLabel} ${fmt(t.sentiment, 2)})` : ''}`;
  chart('customer-timeline', {
    type: 'scatter',
    data: {
      datasets: TIMELINE_KINDS.map((kind, i) => {
        const items = timeline.filter(t => t.kind === kind);
        return {
          label: kind === 'feedback' ? 'feedback (colour = sentiment)' : `${kind}s`,
          data: items.map(t => ({ x: Date.parse(t.at), y: i, item: t })),
          color: [PALETTE[0], PALETTE[4], PALETTE[7]][i],
          pointBackgroundColor: kind === 'feedback' ? items.map(t => SENTIMENT_COLOURS[t.sentimentLabel] || '#8c959f') : undefined,
          pointStyle: ['circle', 'triangle', 'rectRot'][i],
          pointRadius: 6,
        };
      }),
    },
    options: {
      plugins: { tooltip: { callbacks: { label: ctx => label(ctx.raw.item) } } },
      scales: {
        x: axis('date', { ticks: { callback: v => new Date(v).toISOString().slice(0, 10) } }),
        y: { min: -0.5, max: 2.5, ticks: { stepSize: 1, callback: v => ['orders', 'events', 'feedback'][v] ?? '' }, grid: { display: false } },
      },
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Models
async function models(_, params) {
  const list = await api('/models');
  const kinds = list.items.map(i => i.kind);
  const kind = kinds.includes(params.get('kind')) ? params.get('kind') : (list.items.find(i => i.champion)?.kind || kinds[0]);
  const m = await api(`/models/${encodeURIComponent(kind)}`);
  const card = m.card;
  const chartsOfCard = Object.entries(card?.charts || {}).filter(([, c]) => c.points?.length);
  const importance = Object.entries(card?.globalImportance || {}).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, 15);
  const labels = Object.fromEntries((card?.featureSchema || []).map(f => [f.name, f.label]));
  main().innerHTML = `
    <h2>Models</h2>
    <nav aria-label="Model kinds" class="pager">${list.items.map(i => `<a href="#/models?kind=${encodeURIComponent(i.kind)}"${i.kind === kind ? ' aria-current="page"' : ''}>${esc(i.kind)}${i.champion ? '' : ' (none)'}</a>`).join(' · ')}</nav>
    ${!m.champion ? `<p>No ${esc(kind)} model has been trained yet.</p>` : `
    <div class="kpis">
      ${kpi('champion', `<span class="mono">${esc(m.champion.version)}</span>`)}
      ${kpi(`promotion metric (${m.champion.metric})`, fmt(m.champion.value, 4))}
      ${kpi('promoted', when(m.champion.promotedAt))}
      ${kpi('versions trained', fmt(m.versions.length))}
    </div>
    ${card ? `<p>${esc(card.description)} <span class="muted">${esc(card.algorithm)} · ${esc(card.evaluationProtocol)}</span></p>` : ''}
    <div class="grid2">
      ${chartsOfCard.map(([name, c], i) => `<section class="panel"><h3>${esc(c.title)}</h3>${chartBox(`card-${i}`, `${c.title}: ${c.yLabel} against ${c.xLabel}`)}<p class="muted">${fmt(c.rows)} rows, out of sample (${esc(name)})</p></section>`).join('')}
      ${importance.length ? `<section class="panel"><h3>Global importance</h3>${chartBox('importance', 'Global feature importance', 120 + 22 * importance.length)}</section>` : ''}
    </div>
    ${card ? `<h3>Metrics</h3><table><thead><tr><th>Metric</th><th class="num">Model</th>${Object.keys(card.baselines || {}).map(b => `<th class="num">${esc(b)}</th>`).join('')}</tr></thead><tbody>
      ${Object.entries(card.metrics || {}).map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${fmt(v, 4)}</td>${Object.values(card.baselines || {}).map(b => `<td class="num">${fmt(b[k], 4)}</td>`).join('')}</tr>`).join('')}
      </tbody></table>
      <h3>Training data</h3><dl class="facts"><dt>window</dt><dd>${date(card.trainingWindowStart)} – ${date(card.cutoff)}</dd>
      ${Object.entries(card.rowCounts || {}).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${fmt(v)}</dd>`).join('')}<dt>duration</dt><dd>${fmt(card.durationSeconds, 1)} s</dd></dl>` : ''}
    <h3>History</h3><ul>${m.versions.slice().reverse().map(v => `<li class="mono">${esc(v)}${v === m.champion.version ? ' ← champion' : ''}${v === m.champion.previousVersion ? ' (previous champion)' : ''}</li>`).join('')}</ul>`}`;
  chartsOfCard.forEach(([name, c], i) => {
    const isBar = name.includes('lift') || name.includes('gains') || name.includes('coverage') || name.includes('confusion');
    const diagonal = name === 'roc' || name === 'calibration';
    const datasets = [{ label: c.yLabel, data: c.points.map(p => ({ x: p.x, y: p.y })), showLine: !isBar, pointRadius: isBar ? 4 : 1.5 }];
    if (diagonal) {
      const xs = c.points.map(p => p.x);
      const lo = Math.min(0, ...xs), hi = Math.max(1, ...xs);
      datasets.push({ label: 'chance / perfect calibration', data: [{ x: lo, y: lo }, { x: hi, y: hi }], showLine: true, pointRadius: 0, borderDash: [6, 4], color: PALETTE[7] });
    }
    chart(`card-${i}`, { type: 'scatter', data: { datasets }, options: { scales: { x: axis(c.xLabel), y: axis(c.yLabel) } } });
  });
  if (importance.length) {
    chart('importance', {
      type: 'bar',
      data: { labels: importance.map(([k]) => labels[k] || k), datasets: [{ label: 'importance', data: importance.map(([, v]) => v), color: PALETTE[0] }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: axis('importance'), y: everyLabel } },
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Ingestion
async function ingestion([dropId]) {
  const [o, list] = await Promise.all([api('/overview?days=30'), api('/ingestions?pageSize=100')]);
  const reasons = Object.entries(o.rejectedByReason || {});
  main().innerHTML = `
    <h2>Ingestion</h2>
    <div class="kpis">
      ${kpi('drops (30 days)', fmt(o.drops.drops))}${kpi('completed', fmt(o.drops.completed))}${kpi('failed', fmt(o.drops.failed))}
      ${kpi('rows read', fmt(o.drops.rowsRead))}${kpi('rows rejected', fmt(o.drops.rowsRejected))}${kpi('rows flagged', fmt(o.drops.rowsFlagged))}
    </div>
    <div class="grid2">
      <section class="panel"><h3>Drops over time</h3>${chartBox('drops-over-time', 'Drops and rows per day')}</section>
      <section class="panel"><h3>Rejection reasons (30 days)</h3>${reasons.length ? chartBox('rejection-reasons', 'Rejected rows by reason') : '<p class="muted">No rows were rejected.</p>'}</section>
    </div>
    <div id="drop-detail"></div>
    <h3>Latest drops</h3>
    <table id="drop-table"><thead><tr><th>Started</th><th>File</th><th>Status</th><th class="num">Read</th><th class="num">Accepted</th><th class="num">Rejected</th><th class="num">Duplicates</th><th class="num">Seconds</th></tr></thead><tbody>
    ${list.items.map(r => `<tr><td>${when(r.startedAt)}</td><td><a href="#/ingestion/${encodeURIComponent(r.id)}">${esc(r.blobPath)}</a></td><td>${esc(r.status)}</td>
      <td class="num">${fmt(r.rowsRead)}</td><td class="num">${fmt(r.rowsAccepted)}</td><td class="num">${fmt(r.rowsRejected)}</td><td class="num">${fmt(r.duplicatesSkipped)}</td><td class="num">${fmt(r.durationSeconds, 1)}</td></tr>`).join('')}
    </tbody></table>`;
  chart('drops-over-time', {
    type: 'bar',
    data: {
      labels: o.dropsByDay.map(x => x.day),
      datasets: [
        { label: 'rows accepted', data: o.dropsByDay.map(x => x.rowsAccepted), color: PALETTE[2], yAxisID: 'y' },
        { label: 'rows rejected', data: o.dropsByDay.map(x => x.rowsRejected), color: PALETTE[3], yAxisID: 'y' },
        { type: 'line', label: 'drops', data: o.dropsByDay.map(x => x.drops), color: PALETTE[0], yAxisID: 'y1' },
      ],
    },
    options: { scales: { y: axis('rows'), y1: axis('drops', { position: 'right', grid: { drawOnChartArea: false } }) } },
  });
  if (reasons.length) {
    chart('rejection-reasons', {
      type: 'bar',
      data: { labels: reasons.map(([k]) => k), datasets: [{ label: 'rows', data: reasons.map(([, v]) => v), color: PALETTE[3] }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: axis('rejected rows'), y: everyLabel } },
    });
  }
  if (dropId) await dropDetail(dropId);
}

async function dropDetail(id) {
  const enc = encodeURIComponent(id);
  const [r, sample] = await Promise.all([api(`/ingestions/${enc}`), api(`/ingestions/${enc}/rejected?top=20`)]);
  const facts = ['status', 'source', 'entity', 'attempts', 'rowsRead', 'rowsAccepted', 'rowsRejected', 'rowsFlagged', 'duplicatesSkipped',
    'customersCreated', 'customersUpdated', 'customersMerged', 'chunks', 'startedAt', 'completedAt', 'durationSeconds', 'rejectedPath', 'reportPath', 'error'];
  const box = document.getElementById('drop-detail');
  box.innerHTML = `<section class="panel" aria-labelledby="drop-h"><h3 id="drop-h">Drop report: ${esc(r.blobPath)}</h3>
    <div class="grid2"><dl class="facts">${facts.filter(f => r[f] != null && r[f] !== '').map(f => `<dt>${f}</dt><dd>${esc(typeof r[f] === 'number' ? fmt(r[f], f === 'durationSeconds' ? 2 : 0) : r[f])}</dd>`).join('')}</dl>
    <div><h3>Rejected by reason</h3><dl class="facts">${Object.entries(r.rejectedByReason || {}).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${fmt(v)}</dd>`).join('') || '<dd class="muted">none</dd>'}</dl></div></div>
    <h3>Sample of rejected rows (personal data masked)</h3>
    ${sample.items.length ? `<table id="rejected-sample"><thead><tr><th class="num">Line</th><th>Field</th><th>Reason</th><th>Message</th><th>Row</th></tr></thead><tbody>
      ${sample.items.map(s => `<tr><td class="num">${fmt(s.line)}</td><td>${esc(s.field || '')}</td><td>${esc(s.reason)}</td><td>${esc(s.message)}</td><td class="mono">${esc(s.raw)}</td></tr>`).join('')}
      </tbody></table>` : '<p class="muted">No rejected rows.</p>'}</section>`;
  box.scrollIntoView({ block: 'start' });
}
