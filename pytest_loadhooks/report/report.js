/* pytest-loadhooks report: draws the charts (plotly.js, inlined above) and makes the endpoint table
   sortable and filterable. Text is only ever set through textContent; chart labels arrive HTML-escaped. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("report-charts").textContent);
  var COLORS = { users: "#7c3aed", rps: "#2563eb", fails: "#dc2626", p50: "#0d9488", p95: "#ea580c", bars: "#6366f1" };
  var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  var CONFIG = {
    displaylogo: false, responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]
  };

  function layout(extra) {
    var base = {
      font: { family: FONT, size: 12, color: "#334155" },
      margin: { l: 54, r: 16, t: 10, b: 40 },
      paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff",
      hovermode: "x unified",
      showlegend: true,
      legend: { orientation: "h", x: 0, y: 1.12, font: { size: 12 } },
      xaxis: { gridcolor: "#eef2f7", linecolor: "#cbd5e1", zeroline: false, automargin: true },
      yaxis: { gridcolor: "#eef2f7", linecolor: "#cbd5e1", zeroline: false, rangemode: "tozero", automargin: true }
    };
    for (var key in extra) {
      if (Object.prototype.hasOwnProperty.call(extra, key)) {
        base[key] = (typeof extra[key] === "object" && !Array.isArray(extra[key]) && base[key])
          ? Object.assign({}, base[key], extra[key]) : extra[key];
      }
    }
    return base;
  }

  function line(name, x, y, color, extra) {
    return Object.assign({
      type: "scatter", mode: x.length > 1 ? "lines" : "lines+markers", name: name, x: x, y: y,
      line: { color: color, width: 2, shape: "linear" }, marker: { color: color, size: 6 }
    }, extra || {});
  }

  var pending = [];

  function plot(id, traces, extraLayout) {
    var element = document.getElementById(id);
    if (!element) { return; }
    if (typeof Plotly === "undefined") {
      element.textContent = "Charts need JavaScript and the inlined plotly.js.";
      return;
    }
    pending.push(Plotly.newPlot(element, traces, layout(extraLayout || {}), CONFIG).then(function () {
      element.setAttribute("data-rendered", "true");
    }));
  }

  var t = data.timeline;
  var timeAxis = { type: "date", hoverformat: "%H:%M:%S" };
  plot("chart-users", [line("Users", t.time, t.users, COLORS.users, {
    fill: "tozeroy", fillcolor: "rgba(124, 58, 237, 0.12)", line: { color: COLORS.users, width: 2, shape: "hv" },
    hovertemplate: "%{y} users<extra></extra>"
  })], { xaxis: timeAxis, showlegend: false, yaxis: {
    title: { text: "users" }, rangemode: "tozero", tickformat: ",d",
    dtick: Math.max.apply(null, t.users.concat([0])) <= 8 ? 1 : undefined  // whole users only
  } });

  plot("chart-rps", [
    line("Requests/s", t.time, t.rps, COLORS.rps, { fill: "tozeroy", fillcolor: "rgba(37, 99, 235, 0.08)",
      hovertemplate: "%{y:.2f} req/s<extra>Requests/s</extra>" }),
    line("Failures/s", t.time, t.fails, COLORS.fails, { hovertemplate: "%{y:.2f} fail/s<extra>Failures/s</extra>" })
  ], { xaxis: timeAxis, yaxis: { title: { text: "per second" }, rangemode: "tozero" } });

  plot("chart-response-times", [
    line("Median", t.time, t.p50, COLORS.p50, { hovertemplate: "%{y:.1f} ms<extra>Median</extra>" }),
    line("95th percentile", t.time, t.p95, COLORS.p95, { hovertemplate: "%{y:.1f} ms<extra>p95</extra>" })
  ], { xaxis: timeAxis, yaxis: { title: { text: "ms" }, rangemode: "tozero" } });

  data.distributions.forEach(function (d) {
    plot(d.id, [{
      type: "bar", x: d.labels, y: d.counts, name: d.title,
      customdata: d.ranges.map(function (range, i) { return [range, d.shares[i]]; }),
      marker: { color: d.id === "dist-total" ? "#4f46e5" : COLORS.bars, line: { width: 0 } },
      hovertemplate: "%{customdata[0]}<br>%{y:,} requests (%{customdata[1]:.1f} %)<extra></extra>"
    }], {
      showlegend: false, hovermode: "closest", bargap: 0.12,
      margin: { l: 48, r: 10, t: 6, b: 44 },
      xaxis: { type: "category", tickfont: { size: 10 }, nticks: 8, automargin: true,
        title: { text: "response time (ms)", font: { size: 11 } } },
      yaxis: { title: { text: "requests" }, rangemode: "tozero" }
    });
  });

  Promise.all(pending).then(function () {
    document.body.setAttribute("data-charts", "done");
  }, function (error) {
    document.body.setAttribute("data-charts", "error");
    if (window.console) { console.error("chart failed", error); }
  });

  // -- endpoint table: sort and filter --
  var table = document.getElementById("endpoints-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  var headers = table.tHead.rows[0].cells;
  var rows = Array.prototype.slice.call(body.rows);
  var counter = document.getElementById("endpoint-count");
  var total = rows.length;

  function cellValue(row, index, numeric) {
    var text = row.cells[index].textContent;
    if (!numeric) { return text.toLowerCase(); }
    var value = parseFloat(text.replace(/,/g, ""));
    return isNaN(value) ? -Infinity : value;
  }

  Array.prototype.forEach.call(headers, function (header, index) {
    header.addEventListener("click", function () {
      var numeric = header.getAttribute("data-type") === "num";
      // Numbers sort biggest first, text A to Z; a second click reverses.
      var first = numeric ? "descending" : "ascending";
      var current = header.getAttribute("aria-sort");
      var order = current === first ? (first === "ascending" ? "descending" : "ascending") : first;
      var direction = order === "ascending" ? 1 : -1;
      Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
      header.setAttribute("aria-sort", order);
      var keyed = rows.map(function (row, position) { return [cellValue(row, index, numeric), position, row]; });
      keyed.sort(function (a, b) {
        if (a[0] < b[0]) { return -direction; }
        if (a[0] > b[0]) { return direction; }
        return a[1] - b[1];
      });
      rows = keyed.map(function (item) { return item[2]; });
      // Reorder while the body is out of the document: moving thousands of rendered rows in place is slow.
      var next = body.nextSibling;
      table.removeChild(body);
      rows.forEach(function (row) { body.appendChild(row); });
      table.insertBefore(body, next);
    });
  });

  var filter = document.getElementById("endpoint-filter");
  var timer = null;
  function applyFilter() {
    var needle = filter.value.trim().toLowerCase();
    var shown = 0;
    var next = body.nextSibling;
    table.removeChild(body);  // as when sorting: change thousands of rows out of the document, then put them back
    rows.forEach(function (row) {
      var match = !needle || (row.cells[0].textContent + " " + row.cells[1].textContent).toLowerCase().indexOf(needle) !== -1;
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    table.insertBefore(body, next);
    var all = total.toLocaleString("en-US");
    counter.textContent = needle ? shown.toLocaleString("en-US") + " of " + all + " endpoints"
      : all + (total === 1 ? " endpoint" : " endpoints");
  }
  filter.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(applyFilter, total > 2000 ? 150 : 0);
  });
}());
