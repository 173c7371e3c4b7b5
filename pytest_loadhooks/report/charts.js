/* pytest-loadhooks charts: one module for every chart of a run, shared by the HTML report and the web UI.
 *
 * Needs uPlot (vendor/uplot/uPlot.iife.min.js) loaded first; defines window.LoadhooksCharts:
 *
 *   LoadhooksCharts.users(element, timeline)           active users over time
 *   LoadhooksCharts.throughput(element, timeline)      requests/s and failures/s over time
 *   LoadhooksCharts.responseTimes(element, timeline)   median and 95th percentile over time
 *   LoadhooksCharts.distribution(element, bins)        a response-time histogram
 *   LoadhooksCharts.overlay(element, chart)            series overlaid on one x axis (a run and its baseline)
 *   LoadhooksCharts.byKind[kind](element, data)        the same, by the element's data-chart name
 *
 * Each returns {plot, drawn}: the uPlot instance (a live page calls LoadhooksCharts.update(chart, timeline)
 * with new samples) and a Promise resolved once the chart has drawn (the element then gets
 * data-rendered="true"). A timeline is {time: [s], users: [], rps: [], fails: [], p50: [], p95: []}, with
 * an optional time_zone (an IANA name, e.g. "UTC") to show the times in; bins are
 * {labels: [], ranges: [], counts: [], shares: [], title}. Text only ever reaches the page through
 * uPlot's legend (textContent) or the canvas, so names need no escaping here.
 */
(function (root) {
  "use strict";

  var COLORS = {
    users: "#7c3aed", rps: "#2563eb", fails: "#dc2626", p50: "#0d9488", p95: "#ea580c",
    total: "#4f46e5", bars: "#6366f1", baseline: "#a21caf"
  };
  var INK = "#64748b";
  var GRID = "#eef2f7";
  var TICKS = "#cbd5e1";
  var FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  var HEIGHT = 230;
  var SMALL_HEIGHT = 180;
  // Whole seconds and up: history is sampled once a second, so finer ticks would only repeat labels.
  var TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

  function number(value, digits) {
    return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  function valueOrDash(format) {
    return function (u, value) { return value == null ? "–" : format(value); };
  }

  function clock(timeZone) {
    var toDate = timeZone ? function (s) { return uPlot.tzDate(new Date(s * 1e3), timeZone); }
      : function (s) { return new Date(s * 1e3); };
    var format = uPlot.fmtDate("{HH}:{mm}:{ss}");
    return function (seconds) { return format(toDate(seconds)); };
  }

  function axis(extra) {
    return Object.assign({
      stroke: INK, font: FONT, labelFont: FONT, grid: { stroke: GRID, width: 1 }, ticks: { stroke: TICKS, width: 1 },
      // Wide enough for the longest label, so big numbers are never cut off.
      size: function (u, values) {
        var longest = (values || []).reduce(function (n, text) { return Math.max(n, String(text).length); }, 0);
        return Math.max(40, 16 + longest * 7);
      }
    }, extra || {});
  }

  function fromZero(u, min, max) {
    return [0, max > 0 ? max * 1.08 : 1];
  }

  function line(label, color, format, extra) {
    return Object.assign({ label: label, stroke: color, width: 2, value: valueOrDash(format), spanGaps: true },
      extra || {});
  }

  function tint(color, alpha) {
    var n = parseInt(color.slice(1), 16);
    return "rgba(" + (n >> 16) + ", " + ((n >> 8) & 255) + ", " + (n & 255) + ", " + alpha + ")";
  }

  function widthOf(element) {
    return Math.max(element.clientWidth || 0, 200);
  }

  // Create the uPlot chart in `element`, follow the element's width, and report when it has drawn.
  function draw(element, options, data) {
    var resolveDrawn;
    var drawn = new Promise(function (resolve) { resolveDrawn = resolve; });
    element.textContent = "";
    options = Object.assign({ width: widthOf(element) }, options);
    options.hooks = { draw: [function () {
      element.setAttribute("data-rendered", "true");
      resolveDrawn();
    }] };
    var plot = new uPlot(options, data, element);
    if (typeof ResizeObserver !== "undefined") {
      var lastWidth = options.width;
      new ResizeObserver(function () {
        var width = widthOf(element);
        if (width !== lastWidth) {
          lastWidth = width;
          plot.setSize({ width: width, height: options.height });
        }
      }).observe(element);
    }
    return { plot: plot, drawn: drawn };
  }

  function timeChart(element, timeline, height, series, columns, yAxis) {
    var label = clock(timeline.time_zone);
    var oneSample = timeline.time.length === 1;  // a lone point has no line to draw: show it as a dot
    series.forEach(function (s) { s.points = { show: oneSample, size: 6, fill: s.stroke }; });
    return draw(element, {
      height: height,
      legend: { live: true },
      cursor: { points: { size: 7 } },
      scales: { x: { time: true }, y: { range: fromZero } },
      axes: [
        axis({ incrs: TIME_STEPS, space: 70, size: 32, values: function (u, splits) { return splits.map(label); } }),
        axis(yAxis)
      ],
      series: [{ label: "Time", value: valueOrDash(label) }].concat(series)
    }, [timeline.time].concat(columns));
  }

  function users(element, timeline) {
    var whole = function (v) { return number(v, 0); };
    return timeChart(element, timeline, SMALL_HEIGHT, [
      line("Users", COLORS.users, whole, { fill: tint(COLORS.users, 0.12), paths: uPlot.paths.stepped({ align: 1 }) })
    ], [timeline.users], { label: "users", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000,
      20000, 50000, 100000], values: function (u, splits) { return splits.map(whole); } });
  }

  function throughput(element, timeline) {
    return timeChart(element, timeline, HEIGHT, [
      line("Requests/s", COLORS.rps, function (v) { return number(v, 2) + " req/s"; }, { fill: tint(COLORS.rps, 0.08) }),
      line("Failures/s", COLORS.fails, function (v) { return number(v, 2) + " fail/s"; })
    ], [timeline.rps, timeline.fails], { label: "per second" });
  }

  function responseTimes(element, timeline) {
    var ms = function (v) { return number(v, 1) + " ms"; };
    return timeChart(element, timeline, HEIGHT, [
      line("Median", COLORS.p50, ms),
      line("95th percentile", COLORS.p95, ms)
    ], [timeline.p50, timeline.p95], { label: "ms" });
  }

  function distribution(element, bins) {
    var count = bins.counts.length;
    var color = element.id === "dist-total" ? COLORS.total : COLORS.bars;
    var step = Math.max(1, Math.ceil(count / 8));  // at most about 8 labels under the bars
    var index = function (value) { return Math.round(value); };
    return draw(element, {
      height: SMALL_HEIGHT,
      legend: { live: true },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: false, range: [-0.5, count - 0.5] }, y: { range: fromZero } },
      axes: [
        axis({ label: "response time (ms)", labelSize: 18, size: 30,
          splits: function () {
            var ticks = [];
            for (var i = 0; i < count; i += step) { ticks.push(i); }
            return ticks;
          },
          values: function (u, splits) { return splits.map(function (i) { return bins.labels[index(i)] || ""; }); } }),
        axis({ label: "requests", values: function (u, splits) {
          return splits.map(function (v) { return Number.isInteger(v) ? number(v, 0) : ""; });
        } })
      ],
      series: [
        { label: "Range", value: function (u, i) { return i == null ? "–" : bins.ranges[index(i)]; } },
        { label: "Requests", stroke: color, fill: tint(color, 0.85), width: 0,
          paths: uPlot.paths.bars({ size: [0.88, 64] }), points: { show: false },
          value: function (u, v, seriesIndex, i) {
            return v == null || i == null ? "–" : number(v, 0) + " (" + number(bins.shares[i], 1) + " %)";
          } }
      ]
    }, [bins.counts.map(function (_, i) { return i; }), bins.counts]);
  }

  // Several series over one numeric x axis, e.g. a run and its baseline (seconds from their start, or
  // percentiles): chart = {x: [], x_label, unit, series: [{label, color (a COLORS name), values: [], dashed}]}.
  function overlay(element, chart) {
    var unit = chart.unit ? " " + chart.unit : "";
    var format = function (v) { return number(v, v >= 100 ? 0 : 1) + unit; };
    return draw(element, {
      height: HEIGHT,
      legend: { live: true },
      cursor: { points: { size: 7 } },
      scales: { x: { time: false }, y: { range: fromZero } },
      axes: [axis({ label: chart.x_label, labelSize: 18, size: 30 }), axis({ label: chart.unit })],
      series: [{ label: chart.x_label, value: valueOrDash(function (v) { return number(v, 1); }) }].concat(
        chart.series.map(function (s) {
          return line(s.label, COLORS[s.color] || COLORS.total, format, s.dashed ? { dash: [6, 4] } : {});
        }))
    }, [chart.x].concat(chart.series.map(function (s) { return s.values; })));
  }

  // New samples for a chart over time (the web UI's live view); distributions are redrawn whole.
  function update(chart, timeline) {
    var plot = chart.plot;
    var names = { "Users": "users", "Requests/s": "rps", "Failures/s": "fails", "Median": "p50",
      "95th percentile": "p95" };
    var columns = plot.series.slice(1).map(function (s) { return timeline[names[s.label]]; });
    plot.setData([timeline.time].concat(columns));
  }

  root.LoadhooksCharts = {
    COLORS: COLORS,
    users: users,
    throughput: throughput,
    responseTimes: responseTimes,
    distribution: distribution,
    overlay: overlay,
    update: update,
    byKind: { "users": users, "rps": throughput, "response-times": responseTimes, "distribution": distribution, "overlay": overlay }
  };
}(window));
