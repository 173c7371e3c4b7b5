/* pytest-loadhooks web UI: refreshes the dashboard from the JSON endpoints every 1.5 s and sends the controls.
   Text from the run (names, errors, tracebacks) only ever reaches the page through textContent. */
(function () {
  "use strict";

  var REFRESH_MS = 1500;
  var JUDGING_REFRESH_MS = 300;  // the run has ended and its verdict is coming: the session may close soon
  var STATUS_LABELS = { passed: "Passed", failed: "Failed", stopped: "Stopped early", errored: "Errored",
    interrupted: "Interrupted" };  // the HTML report's words
  var nextRefresh = REFRESH_MS;
  var charts = window.LoadhooksCharts;
  var drawn = {};

  function $(id) { return document.getElementById(id); }

  function fixed(value, digits) {
    if (value == null || isNaN(value)) { return "–"; }
    return Number(value).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function fill(tableId, rows, build) {
    var body = $(tableId).tBodies[0];
    var fresh = document.createElement("tbody");
    rows.forEach(function (item) { var tr = document.createElement("tr"); build(tr, item); fresh.appendChild(tr); });
    body.parentNode.replaceChild(fresh, body);
  }

  function showMessage(text, good) {
    var element = $("message");
    element.textContent = text;
    element.className = good ? "good" : "bad";
  }

  function getJSON(path) {
    return fetch(path, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (r) {
      if (r.status === 401) { window.location.href = "login"; throw new Error("login required"); }
      return r.json();
    });
  }

  function post(path, body) {
    return fetch(path, { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
      return r.json().catch(function () { return { success: r.ok, message: r.statusText }; });
    });
  }

  function renderStats(data) {
    document.body.setAttribute("data-state", data.state);
    $("state").textContent = data.state;
    $("kpi-users").textContent = fixed(data.user_count, 0);
    $("kpi-rps").textContent = fixed(data.current_rps, 1);
    $("kpi-fail").textContent = fixed((data.fail_ratio || 0) * 100, 1) + " %";
    var p = data.current_response_time_percentiles || {};
    $("kpi-latency").textContent = fixed(p["response_time_percentile_0.5"], 0) + " / " +
      fixed(p["response_time_percentile_0.95"], 0) + " ms";
    fill("endpoints", data.stats, function (tr, s) {
      if (s.name === "Aggregated") { tr.className = "total"; }
      cell(tr, s.method || ""); cell(tr, s.name, "name");
      cell(tr, fixed(s.num_requests, 0), "num"); cell(tr, fixed(s.num_failures, 0), "num");
      cell(tr, fixed(s.median_response_time, 0), "num"); cell(tr, fixed(s["response_time_percentile_0.95"], 0), "num");
      cell(tr, fixed(s["response_time_percentile_0.99"], 0), "num"); cell(tr, fixed(s.avg_response_time, 1), "num");
      cell(tr, fixed(s.max_response_time, 0), "num"); cell(tr, fixed(s.avg_content_length, 0), "num");
      cell(tr, fixed(s.current_rps, 1), "num"); cell(tr, fixed(s.current_fail_per_sec, 1), "num");
    });
    fill("failures", data.errors, function (tr, e) {
      cell(tr, fixed(e.occurrences, 0), "num"); cell(tr, e.method); cell(tr, e.name, "name"); cell(tr, e.error);
    });
    if (data.workers) {
      $("workers-card").hidden = false;
      fill("workers", data.workers, function (tr, w) {
        cell(tr, w.id, "name"); cell(tr, w.state); cell(tr, fixed(w.user_count, 0), "num");
        cell(tr, fixed(w.cpu_usage, 0) + " %", "num");
      });
    }
    renderExtended(data.extended_stats);
  }

  // Locust's extended tabs: /stats/requests' extended_stats is [{key, data: [row, ...]}], and each row
  // fills the columns its tab's table names (data-key on the header cells), as text.
  function renderExtended(blocks) {
    (blocks || []).forEach(function (block) {
      var table = document.querySelector('table.extended-table[data-key="' + CSS.escape(String(block.key)) + '"]');
      if (!table) { return; }
      var headers = table.tHead.rows[0].cells;
      var keys = Array.prototype.map.call(headers, function (th) { return th.getAttribute("data-key"); });
      var rows = Array.isArray(block.data) ? block.data : [];
      var fresh = document.createElement("tbody");
      rows.forEach(function (row) {
        var tr = document.createElement("tr");
        keys.forEach(function (key, column) {
          var value = row == null ? null : row[key];
          if (typeof value === "number") { headers[column].className = "num"; }  // aligned over its numbers
          cell(tr, value == null ? "" : typeof value === "number" ? fixed(value, Number.isInteger(value) ? 0 : 2)
            : String(value), typeof value === "number" ? "num" : "");
        });
        fresh.appendChild(tr);
      });
      table.replaceChild(fresh, table.tBodies[0]);
    });
  }

  // The verdict the terminal gives, once the session has judged the run: its status, why it was
  // stopped, the run's own failed checks, its warnings (thresholds have their own card).
  function renderVerdict(run) {
    var verdict = run.verdict;
    nextRefresh = run.ended && !verdict ? JUDGING_REFRESH_MS : REFRESH_MS;
    var box = $("verdict");
    if (!verdict) { box.hidden = true; return; }
    box.hidden = false;
    box.setAttribute("data-status", verdict.status);
    $("verdict-status").textContent = STATUS_LABELS[verdict.status] || verdict.status;
    $("verdict-status").className = "pill status-" + verdict.status;
    var list = $("verdict-lines");
    list.textContent = "";
    function line(text, className) {
      var li = document.createElement("li"); li.className = className; li.textContent = text; list.appendChild(li);
    }
    if (verdict.stopped) { line(verdict.stopped, "fail"); }
    verdict.run_failures.forEach(function (text) { line(text, "fail"); });
    verdict.warnings.forEach(function (text) { line(text, "warn"); });
  }

  function renderStatus(status) {
    renderVerdict(status.run);
    var left = status.run.time_left;
    $("kpi-time-left").textContent = left == null ? "–" : fixed(left, 0) + " s";
    var list = $("thresholds");
    list.textContent = "";
    if (!status.thresholds.length) {
      var none = document.createElement("li"); none.className = "muted"; none.textContent = "none set"; list.appendChild(none);
    }
    status.thresholds.forEach(function (t) {
      var li = document.createElement("li");
      // Judged live (t.state: waiting, passing, failing), or the verdict once the run is over.
      li.className = t.state ? { waiting: "wait", passing: "pass", failing: "fail" }[t.state] : (t.passed ? "pass" : "fail");
      li.textContent = t.state ? t.expression + " \u2014 " + t.message : (t.passed ? t.expression : t.message);
      if (t.state) { li.setAttribute("data-state", t.state); }
      list.appendChild(li);
    });
    var timeline = status.timeline;
    if (!timeline || !charts || typeof uPlot === "undefined") { return; }
    [["chart-rps", "throughput"], ["chart-times", "responseTimes"], ["chart-users", "users"]].forEach(function (pair) {
      if (drawn[pair[0]]) { charts.update(drawn[pair[0]], timeline); }
      else { drawn[pair[0]] = charts[pair[1]]($(pair[0]), timeline); }
    });
  }

  function renderExceptions(data) {
    fill("exceptions", data.exceptions, function (tr, e) {
      cell(tr, fixed(e.count, 0), "num"); cell(tr, e.msg);
      var pre = document.createElement("pre"); pre.textContent = e.traceback; cell(tr, "").appendChild(pre);
    });
  }

  function refresh() {
    Promise.all([getJSON("stats/requests").then(renderStats), getJSON("loadhooks/status").then(renderStatus),
      getJSON("exceptions").then(renderExceptions)])
      .then(function () { document.body.setAttribute("data-refreshed", String(Date.now())); })
      .catch(function (error) { if (window.console) { console.warn("refresh failed", error); } })
      .then(function () { window.setTimeout(refresh, nextRefresh); });
  }

  $("swarm-form").addEventListener("submit", function (event) {
    event.preventDefault();
    post("swarm", new FormData(event.target)).then(function (answer) { showMessage(answer.message, answer.success); });
  });
  $("stop").addEventListener("click", function () {
    post("stop").then(function (answer) { showMessage(answer.message, answer.success); });
  });
  $("reset").addEventListener("click", function () {
    post("stats/reset").then(function () { showMessage("Statistics reset", true); });
  });
  if ($("finish")) {
    $("finish").addEventListener("click", function () {
      post("finish").then(function (answer) { showMessage(answer.message, answer.success); });
    });
  }
  refresh();
}());
