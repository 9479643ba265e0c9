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
</style>
</head>
<body>
<h1>Meridian</h1>
<div id="meta">loading…</div>
<div id="error"></div>
<div id="alerts"></div>
<div id="zones"></div>
<script>
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = token ? { Authorization: "Bearer " + token } : {};
function cell(text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }
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
    for (const t of ["region", "state", "latency", "success", "answers", "share", "trend (q/s)", "reason"]) {
      const th = document.createElement("th"); th.textContent = t; head.appendChild(th);
    }
    const body = table.createTBody();
    for (const r of zone.regions) {
      const row = body.insertRow();
      row.id = "region-" + zone.origin + "-" + r.name;
      row.appendChild(cell(r.name));
      const state = r.override ? r.state + " (" + r.override.action + ")" : r.state;
      const stateCell = cell(state, r.state); stateCell.dataset.state = r.state; row.appendChild(stateCell);
      row.appendChild(cell(r.latency_ms + " ms", "num"));
      row.appendChild(cell((r.success_rate * 100).toFixed(1) + " %", "num"));
      row.appendChild(cell(String(r.answers), "num"));
      const share = total ? r.answers / total : 0;
      const shareCell = cell("", "num");
      const bar = document.createElement("span"); bar.className = "bar"; bar.style.width = (share * 8) + "em";
      shareCell.append(bar, " " + (share * 100).toFixed(0) + " %"); row.appendChild(shareCell);
      row.appendChild(cell(r.query_rate.moving_average.toFixed(2) + " → " + r.query_rate.forecast.toFixed(2), "num"));
      row.appendChild(cell(r.reason || ""));
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
