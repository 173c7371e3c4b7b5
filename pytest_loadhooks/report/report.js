/* pytest-loadhooks report: draws the charts (charts.js, on the vendored uPlot, both inlined above) from the
   chart data block, and makes the endpoint table sortable and filterable. Text is only ever set through
   textContent. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("report-charts").textContent);
  var charts = window.LoadhooksCharts;
  var pending = [];

  Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), function (element) {
    var kind = element.getAttribute("data-chart");
    if (!charts || typeof uPlot === "undefined") {
      element.textContent = "Charts need JavaScript and the inlined chart library.";
      return;
    }
    var byId = function (d) { return d.id === element.id; };
    var input = kind === "distribution" ? data.distributions.filter(byId)[0]
      : kind === "overlay" ? (data.overlays || []).filter(byId)[0] : data.timeline;
    if (!input) { return; }
    try {
      pending.push(charts.byKind[kind](element, input).drawn);
    } catch (error) {  // one broken chart must not take the tables' sorting and filtering with it
      pending.push(Promise.reject(error));
    }
  });

  Promise.all(pending).then(function () {
    document.body.setAttribute("data-charts", charts ? "done" : "error");
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
