#include "admin/dashboard.hpp"

namespace meridian::admin {

namespace {

// No external scripts, fonts or styles: the page works on an isolated management network.
// A token, if the API needs one, is taken from the URL fragment: /#token=SECRET.
constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Meridian</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d2433; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; }
  h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
  table { border-collapse: collapse; min-width: 50em; }
  th, td { text-align: left; padding: .25em .8em; border-bottom: 1px solid #dde2ea; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .healthy { color: #16803c; } .degraded { color: #b26b00; } .unhealthy { color: #c42b1c; font-weight: 600; }
  .bar { display: inline-block; height: .7em; background: #4a78c2; vertical-align: middle; }
  #meta, #error { color: #5b6475; } #error { color: #c42b1c; }
  .critical { color: #c42b1c; } .warning { color: #b26b00; }
  tr.member td { color: #5b6475; font-size: .92em; }
  svg.demand { vertical-align: middle; }
  svg.demand polyline { fill: none; stroke-width: 1.5; }
  svg.demand .actual { stroke: #4a78c2; } svg.demand .forecast { stroke: #b26b00; stroke-dasharray: 3 2; }
</style>
</head>
<body>
<h1>Meridian</h1>
<div id="meta">loading…</div>
<div id="error"></div>
<div id="alerts"></div>
<div id="fleet"></div>
<div id="zones"></div>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = token ? { Authorization: "Bearer " + token } : {};
function cell(text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }
// Answers per second of the closed buckets (solid) against what had been forecast for each
// (dashed), scaled to the larger of the two; "no data" before the first bucket closes.
function demandChart(id, demand) {
  const td = cell("", "num");
  if (!demand || !demand.history.length) { td.textContent = "no data"; return td; }
  const ns = "http://www.w3.org/2000/svg", w = 160, h = 32;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "demand"); svg.setAttribute("id", id);
  svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("viewBox", "0 0 " + w + " " + h);
  const points = demand.history;
  const top = Math.max(1e-9, ...points.map(p => Math.max(p[1], p[2] ?? 0)));
  const x = i => points.length === 1 ? w / 2 : (i * (w - 2)) / (points.length - 1) + 1;
  const y = v => h - 1 - (v / top) * (h - 2);
  for (const [cls, column] of [["actual", 1], ["forecast", 2]]) {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("class", cls);
    line.setAttribute("points", points.map((p, i) => p[column] === null ? null : x(i).toFixed(1) + "," + y(p[column]).toFixed(1))
                                      .filter(p => p !== null).join(" "));
    svg.appendChild(line);
  }
  const title = document.createElementNS(ns, "title");
  title.textContent = "actual " + demand.actual_per_second.toFixed(2) + "/s, next " + demand.forecast_per_second.toFixed(2) +
                      "/s" + (demand.mape_percent === null ? "" : ", error " + demand.mape_percent.toFixed(1) + " %");
  svg.appendChild(title);
  td.append(svg, " " + demand.actual_per_second.toFixed(1) + " → " + demand.forecast_per_second.toFixed(1));
  return td;
}
// One address of a region with member health, under its region's row.
function memberRow(body, zone, region, m) {
  const row = body.insertRow();
  row.id = "member-" + zone.origin + "-" + region.name + "-" + m.address;
  row.className = "member";
  row.appendChild(cell("└ " + m.address + (m.id ? " (" + m.id + ")" : "")));
  const state = m.source_state === "up" ? m.state : m.state + " (" + m.source_state + ")";
  const stateCell = cell(state, m.answered ? m.state : "unhealthy"); stateCell.dataset.state = m.state; row.appendChild(stateCell);
  row.appendChild(cell(m.latency_ms === null ? "none" : m.latency_ms + " ms", "num"));
  row.appendChild(cell((m.success_rate * 100).toFixed(1) + " %", "num"));
  const answered = cell(m.answered ? "answered" : "left out"); answered.colSpan = 5; answered.dataset.answered = m.answered;
  row.appendChild(answered);
  row.appendChild(cell(m.reason || ""));
}
function renderFleet(fleet) {
  const div = document.getElementById("fleet");
  div.replaceChildren();
  if (!fleet) return;
  const h = document.createElement("h2");
  const live = fleet.nodes.filter(n => n.live).length;
  h.textContent = "Fleet: " + (fleet.partitioned ? "this node is cut off from etcd (" + fleet.error + ")" : live + " nodes");
  if (fleet.partitioned) h.className = "unhealthy";
  div.appendChild(h);
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const t of ["node", "serials", "configuration", "last vote", "admin", "differs"]) {
    const th = document.createElement("th"); th.textContent = t; head.appendChild(th);
  }
  const body = table.createTBody();
  for (const n of fleet.nodes) {
    const row = body.insertRow();
    row.id = "node-" + n.node;
    row.appendChild(cell(n.node + (n.self ? " (this node)" : "")));
    row.appendChild(cell(Object.entries(n.serials).map(([z, s]) => z + " " + s).join(", ")));
    row.appendChild(cell(n.config_digest));
    row.appendChild(cell(n.last_vote === null ? "never" : new Date(n.last_vote * 1000).toLocaleTimeString()));
    row.appendChild(cell(n.admin || ""));
    const differs = [];
    if (n.serial_mismatch.length) differs.push("serial of " + n.serial_mismatch.join(", "));
    if (n.config_mismatch) differs.push("configuration");
    if (!n.live) differs.push("gone since " + new Date(n.gone_since * 1000).toLocaleTimeString() + " (lease ran out)");
    const flag = cell(differs.join("; "), differs.length ? "unhealthy" : "");
    flag.dataset.mismatch = differs.length ? "yes" : "no";
    row.appendChild(flag);
  }
  div.appendChild(table);
}
function render(status) {
  document.getElementById("meta").textContent =
    "node " + status.node + " · up " + status.uptime_seconds + " s · " + status.workers + " workers · updated " +
    new Date().toLocaleTimeString();
  const alerts = document.getElementById("alerts");
  alerts.replaceChildren();
  if (status.alerts.length) {
    const h = document.createElement("h2"); h.textContent = "Alerts"; alerts.appendChild(h);
    const ul = document.createElement("ul");
    for (const a of status.alerts) {
      const li = document.createElement("li"); li.className = a.severity; li.dataset.rule = a.rule;
      li.textContent = a.severity + ": " + a.message; ul.appendChild(li);
    }
    alerts.appendChild(ul);
  }
  renderFleet(status.fleet);
  const zones = document.getElementById("zones");
  zones.replaceChildren();
  for (const zone of status.zones) {
    const h = document.createElement("h2");
    h.textContent = zone.origin + " (serial " + zone.serial + ")";
    zones.appendChild(h);
    if (!zone.regions.length) continue;
    const total = zone.regions.reduce((sum, r) => sum + r.answers, 0);
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const t of ["region", "state", "latency", "success", "answers", "share", "trend (q/s)", "demand: actual vs forecast (answers/s)", "reason"]) {
      const th = document.createElement("th"); th.textContent = t; head.appendChild(th);
    }
    const body = table.createTBody();
    for (const r of zone.regions) {
      const row = body.insertRow();
      row.id = "region-" + zone.origin + "-" + r.name;
      row.appendChild(cell(r.name));
      const state = r.override ? r.state + " (" + r.override.action + ")" : r.state;
      const stateCell = cell(state, r.state); stateCell.dataset.state = r.state; row.appendChild(stateCell);
      row.appendChild(cell(r.latency_ms === null ? "none" : r.latency_ms + " ms", "num"));
      row.appendChild(cell((r.success_rate * 100).toFixed(1) + " %", "num"));
      row.appendChild(cell(String(r.answers), "num"));
      const share = total ? r.answers / total : 0;
      const shareCell = cell("", "num");
      const bar = document.createElement("span"); bar.className = "bar"; bar.style.width = (share * 8) + "em";
      shareCell.append(bar, " " + (share * 100).toFixed(0) + " %"); row.appendChild(shareCell);
      row.appendChild(cell(r.query_rate.moving_average.toFixed(2) + " → " + r.query_rate.forecast.toFixed(2), "num"));
      row.appendChild(demandChart("demand-" + zone.origin + "-" + r.name, r.demand));
      row.appendChild(cell(r.reason || ""));
      for (const m of r.members || []) memberRow(body, zone, r, m);
    }
    zones.appendChild(table);
  }
  document.body.dataset.rendered = "yes";
}
async function refresh() {
  try {
    const response = await fetch("/status", { headers });
    if (!response.ok) throw new Error("HTTP " + response.status);
    render(await response.json());
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "cannot read /status: " + e.message;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)html";

}  // namespace

std::string_view dashboard_html() noexcept { return kPage; }

}  // namespace meridian::admin
