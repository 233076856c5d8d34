"use strict";
// The vb dashboard: reads the API of this same server with the page's token; draws tables and
// an inline SVG chart. Every value from the ledger is put in the page as text, never as HTML.
(function () {
  const token = new URLSearchParams(location.search).get("token") || "";
  let selected = null;

  async function api(path, options) {
    const init = Object.assign({ headers: {} }, options || {});
    init.headers["Authorization"] = "Bearer " + token;
    if (init.body) init.headers["Content-Type"] = "application/json";
    const response = await fetch(path, init);
    const data = await response.json();
    if (!response.ok) throw new Error(data.message || ("HTTP " + response.status));
    return data;
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function row(cells) {
    const tr = document.createElement("tr");
    for (const cell of cells) {
      if (cell instanceof Node) { const td = el("td"); td.appendChild(cell); tr.appendChild(td); }
      else if (Array.isArray(cell)) tr.appendChild(el("td", cell[0], cell[1]));
      else tr.appendChild(el("td", cell));
    }
    return tr;
  }

  function fill(table, rows) {
    const body = document.querySelector(table + " tbody");
    body.replaceChildren(...rows);
  }

  function pct(fraction) {
    return fraction === null || fraction === undefined ? "" : (Number(fraction) * 100).toFixed(2) + "%";
  }

  function when(ts) { return ts ? ts.replace("T", " ").replace("Z", "").slice(0, 19) : ""; }

  function allocationBar(p) {
    const wrap = el("span");
    const bar = el("span", null, "bar");
    const g = p.guardrails;
    const band = el("span", null, "band");
    band.style.left = pct(g.min_stock_alloc);
    band.style.width = ((Number(g.max_stock_alloc) - Number(g.min_stock_alloc)) * 100) + "%";
    bar.appendChild(band);
    if (p.stock_alloc !== undefined && p.stock_alloc !== null) {
      const a = Number(p.stock_alloc);
      const out = a < Number(g.min_stock_alloc) || a > Number(g.max_stock_alloc);
      const mark = el("span", null, out ? "fill out" : "fill");
      mark.style.width = pct(Math.min(1, Math.max(0, a)));
      bar.appendChild(mark);
    }
    wrap.appendChild(bar);
    const text = p.stock_alloc === undefined ? "no price" :
      pct(p.stock_alloc) + " (" + pct(g.min_stock_alloc) + "–" + pct(g.max_stock_alloc) + ")";
    wrap.appendChild(el("span", text, "alloc-text"));
    return wrap;
  }

  async function loadPositions() {
    const rows = await api("/v1/dashboard");
    document.getElementById("no-positions").hidden = rows.length > 0;
    fill("#positions", rows.map(function (r) {
      const p = r.position;
      const tr = row([p.portfolio + "/" + p.symbol, [p.qty, "n"], [p.cash, "n"], [r.price || "—", "n"],
        when(r.price_at), [p.total_value || "", "n"], allocationBar(p), [pct(r.to_sell_trigger), "n"],
        [pct(r.to_buy_trigger), "n"], [p.realized_pnl, "n"]]);
      tr.dataset.id = p.id;
      if (selected && selected.id === p.id) tr.className = "selected";
      tr.addEventListener("click", function () { select(p, r.price); });
      return tr;
    }));
    if (!selected && rows.length) select(rows[0].position, rows[0].price);
  }

  function chart(points) {
    const holder = document.getElementById("chart");
    const ns = "http://www.w3.org/2000/svg";
    const w = 720, h = 220, pad = 44;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", w); svg.setAttribute("height", h);
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    if (points.length === 0) {
      const t = document.createElementNS(ns, "text");
      t.setAttribute("x", pad); t.setAttribute("y", h / 2); t.textContent = "No fills yet: nothing to chart.";
      svg.appendChild(t); holder.replaceChildren(svg); return;
    }
    const xs = points.map(function (p) { return Date.parse(p.at); });
    const ys = points.map(function (p) { return Number(p.value); });
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    const sx = function (x) { return pad + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * (w - 2 * pad); };
    const sy = function (y) { return h - pad + -(y1 > y0 ? (y - y0) / (y1 - y0) : 0.5) * (h - 2 * pad); };
    const axis = document.createElementNS(ns, "path");
    axis.setAttribute("d", "M" + pad + " " + (h - pad) + "H" + (w - pad) + "M" + pad + " " + pad + "V" + (h - pad));
    axis.setAttribute("class", "axis"); svg.appendChild(axis);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map(function (_, i) { return sx(xs[i]) + "," + sy(ys[i]); }).join(" "));
    line.setAttribute("class", "line"); svg.appendChild(line);
    if (points.length <= 200) points.forEach(function (p, i) {
      const dot = document.createElementNS(ns, "circle");
      dot.setAttribute("cx", sx(xs[i])); dot.setAttribute("cy", sy(ys[i])); dot.setAttribute("r", 3);
      dot.setAttribute("class", p.side);
      const tip = document.createElementNS(ns, "title");
      tip.textContent = when(p.at) + " " + p.side + " at " + p.price + ": value " + p.value;
      dot.appendChild(tip); svg.appendChild(dot);
    });
    [[y1, pad], [y0, h - pad]].forEach(function (pair) {
      const t = document.createElementNS(ns, "text");
      t.setAttribute("x", 2); t.setAttribute("y", pair[1] + 4); t.textContent = pair[0].toFixed(0);
      svg.appendChild(t);
    });
    [[points[0].at, pad], [points[points.length - 1].at, w - pad - 110]].forEach(function (pair) {
      const t = document.createElementNS(ns, "text");
      t.setAttribute("x", pair[1]); t.setAttribute("y", h - pad + 16); t.textContent = when(pair[0]).slice(0, 16);
      svg.appendChild(t);
    });
    const title = document.createElementNS(ns, "title");
    title.textContent = "value after each fill: " + points[points.length - 1].value;
    svg.appendChild(title);
    holder.replaceChildren(svg);
  }

  async function select(position, price) {
    selected = position;
    document.getElementById("detail").hidden = false;
    document.getElementById("detail-title").textContent = position.portfolio + "/" + position.symbol + " · value after each fill";
    document.querySelectorAll("#positions tbody tr").forEach(function (tr) {
      tr.className = tr.dataset.id === position.id ? "selected" : "";
    });
    if (price) document.getElementById("eval-price").value = price;
    const id = encodeURIComponent(position.id);
    const [values, trades] = await Promise.all([api("/v1/positions/" + id + "/values"), api("/v1/positions/" + id + "/trades?limit=20")]);
    chart(values.points);
    fill("#position-trades", trades.map(function (t) {
      return row([when(t.executed_at), [t.side, t.side], [t.qty, "n"], [t.price, "n"], [t.commission, "n"], t.status]);
    }));
  }

  const WORKING = ["action", "side", "qty", "price", "notional", "commission", "reason", "change", "trigger_up",
    "trigger_down", "raw_qty", "capped_qty", "trimmed_qty", "stock_alloc_before", "stock_alloc_after", "anchor", "total_value"];

  async function evaluate(event) {
    event.preventDefault();
    const error = document.getElementById("eval-error");
    error.hidden = true;
    if (!selected) return;
    try {
      const price = document.getElementById("eval-price").value.trim();
      const result = await api("/v1/positions/" + encodeURIComponent(selected.id) + "/evaluate",
        { method: "POST", body: JSON.stringify({ price: price }) });
      fill("#working", WORKING.filter(function (k) { return k in result; }).map(function (k) {
        return row([k, result[k] === null ? "—" : result[k]]);
      }));
    } catch (e) {
      error.textContent = e.message; error.hidden = false;
      fill("#working", []);
    }
  }

  async function loadRecent() {
    const [trades, events] = await Promise.all([api("/v1/trades?limit=20"), api("/v1/events?limit=20")]);
    fill("#trades", trades.map(function (t) {
      return row([when(t.executed_at), t.symbol, [t.side, t.side], [t.qty, "n"], [t.price, "n"], t.id]);
    }));
    fill("#events", events.map(function (e) { return row([when(e.ts), e.type, e.message]); }));
  }

  async function start() {
    const status = document.getElementById("status");
    document.getElementById("docs").href = "/docs?token=" + encodeURIComponent(token);
    document.getElementById("evaluate").addEventListener("submit", evaluate);
    try {
      await Promise.all([loadPositions(), loadRecent()]);
      status.textContent = "updated " + new Date().toLocaleTimeString();
    } catch (e) {
      status.textContent = e.message;
      status.className = "error";
    }
  }

  start();
})();
