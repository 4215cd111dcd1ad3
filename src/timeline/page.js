// Draws a run's timeline from the JSON in #run-data as SVG: node lanes,
// fault bands, the offset plot, client lanes and violations. Everything is
// computed from the embedded data; nothing is fetched.
(function () {
  "use strict";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var run = JSON.parse(document.getElementById("run-data").textContent);
  var chart = document.getElementById("chart");
  var tip = document.getElementById("tip");
  var LABEL_W = 120, AXIS_H = 22, LANE_H = 26, GAP = 4, PLOT_H = 170, OPS_H = 22;
  var PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#ff7f0e"];
  var end = Math.max(run.end_ms, 1);
  var view = [0, end];
  // A link may name a window of the run in seconds: page.html#12.5-14.
  var linked = /^#(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(window.location.hash);
  if (linked) {
    var from = Math.max(0, Number(linked[1]) * 1000), to = Math.min(end, Number(linked[2]) * 1000);
    if (to > from) { view = [from, to]; }
  }

  // The log lines with their times, for hover.
  var logTimes = run.log.map(function (line) {
    var m = /^(\d+)\.(\d{3})s /.exec(line);
    return m ? Number(m[1]) * 1000 + Number(m[2]) : 0;
  });

  // Segments of each node's lane: role and link over time, paused spans.
  var segments = run.nodes.map(function () { return []; });
  run.states.forEach(function (s) {
    var lane = segments[s.n];
    if (lane.length) { lane[lane.length - 1].u = s.t; }
    lane.push({ t: s.t, u: end, s: s });
  });
  var paused = run.nodes.map(function () { return []; });
  run.events.forEach(function (e) {
    if (e.k === "pause") { paused[e.n].push({ t: e.t, u: end }); }
    if (e.k === "resume" && paused[e.n].length) { paused[e.n][paused[e.n].length - 1].u = e.t; }
  });
  // Each node's offset points, in time order.
  var perNode = run.nodes.map(function () { return []; });
  run.offsets.forEach(function (p) { perNode[p.n].push(p); });
  function offsetAt(n, t) {
    var points = perNode[n], lo = 0, hi = points.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (points[mid].t <= t) { lo = mid + 1; } else { hi = mid; } }
    return lo ? points[lo - 1].o : null;
  }
  // What the offset plot says at time t: every node's offset, and how far
  // each is behind the highest.
  function offsetsText(t) {
    var values = run.nodes.map(function (name, n) { return offsetAt(n, t); });
    var top = Math.max.apply(null, values.map(function (v) { return v === null ? 0 : v; }));
    return "offsets at " + stamp(t) + ":\n" + run.nodes.map(function (name, n) {
      var v = values[n];
      if (v === null) { return name + " -"; }
      return name + " " + v + (v < top ? " (" + (top - v) + " bytes behind)" : "");
    }).join("\n");
  }
  var readNodes = [];
  run.reads.forEach(function (r) { if (readNodes.indexOf(r.n) < 0) { readNodes.push(r.n); } });
  readNodes.sort(function (a, b) { return a - b; });

  // Fault bars in the fault lane, stacked so that overlapping ones do not hide each other.
  var faultRows = [];
  var faultRowOf = run.faults.map(function (f) {
    for (var row = 0; ; row++) {
      if (!faultRows[row] || faultRows[row] <= f.t) { faultRows[row] = Math.max(f.u, f.t + 1); return row; }
    }
  });
  var FAULT_ROW_H = 14;
  var faultLaneH = Math.max(1, faultRows.length) * FAULT_ROW_H + 4;

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG_NS, name);
    for (var key in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, key) && attrs[key] !== null) { node.setAttribute(key, attrs[key]); } }
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function stamp(ms) { return (ms / 1000).toFixed(3) + "s"; }
  function stateText(s) {
    if (s.r === "down") { return "down (crashed)"; }
    if (s.r === "master") { return "master (id " + s.id + ")"; }
    return "replica of " + s.m + ": " + s.l + " (id " + s.id + ")";
  }
  function stateClass(s) {
    if (s.r === "down") { return "seg-down"; }
    if (s.r === "master") { return "seg-master"; }
    return "seg-" + s.l;
  }

  function draw() {
    var width = Math.max(chart.clientWidth || 1200, 600);
    var plotW = width - LABEL_W - 10;
    var span = view[1] - view[0];
    function x(t) { return LABEL_W + (t - view[0]) / span * plotW; }
    function visible(t, u) { return u >= view[0] && t <= view[1]; }
    var y = AXIS_H;
    var layout = {};
    layout.faults = y; y += faultLaneH + GAP;
    layout.nodes = y; y += run.nodes.length * (LANE_H + GAP);
    layout.plot = y; y += PLOT_H + GAP;
    layout.writes = y; y += OPS_H + GAP;
    layout.reads = y; y += readNodes.length * (OPS_H + GAP);
    var height = y + 4;
    var svg = el("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height, id: "timeline" });
    var defs = el("defs", {}, svg);
    var hatch = el("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, defs);
    el("rect", { width: 6, height: 6, fill: "#ddd" }, hatch);
    el("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#777", "stroke-width": 2 }, hatch);
    var clip = el("clipPath", { id: "plot-clip" }, defs);
    el("rect", { x: LABEL_W, y: 0, width: plotW, height: height }, clip);

    // Time axis.
    var axis = el("g", { "class": "axis" }, svg);
    var stepMs = Math.pow(10, Math.floor(Math.log10(Math.max(span, 1) / 8)));
    if (span / stepMs > 16) { stepMs *= 5; } else if (span / stepMs > 8) { stepMs *= 2; }
    for (var tick = Math.ceil(view[0] / stepMs) * stepMs; tick <= view[1]; tick += stepMs) {
      el("line", { x1: x(tick), x2: x(tick), y1: AXIS_H - 4, y2: height }, axis);
      el("text", { x: x(tick) + 2, y: AXIS_H - 8 }, axis).textContent = stamp(tick);
    }

    var body = el("g", { "clip-path": "url(#plot-clip)" }, svg);
    var labels = el("g", {}, svg);
    function label(text, top, h, extra) {
      el("text", { x: 4, y: top + h / 2 + 4, "class": "lane-label" + (extra ? " " + extra : "") }, labels).textContent = text;
    }

    // Fault lane.
    el("rect", { x: LABEL_W, y: layout.faults, width: plotW, height: faultLaneH, "class": "lane-bg", "data-lane": "faults" }, body);
    label("faults", layout.faults, faultLaneH);
    run.faults.forEach(function (f, i) {
      var top = layout.faults + 2 + faultRowOf[i] * FAULT_ROW_H;
      var x0 = x(f.t), w = Math.max(x(f.u) - x0, 2);
      var what = f.kind + ": " + f.label + " (" + stamp(f.t) + (f.u > f.t ? " to " + stamp(f.u) : "") + ") on " +
        f.nodes.map(function (n) { return run.nodes[n]; }).join(", ");
      el("rect", { x: x0, y: top, width: w, height: FAULT_ROW_H - 2, "class": "fault-bar fault-" + f.kind,
        "data-fault": i, "data-t": f.t, "data-d": what }, body);
      if (w > 60) { el("text", { x: x0 + 3, y: top + FAULT_ROW_H - 4, "class": "fault-text" }, body).textContent = f.label; }
    });

    // Node lanes.
    run.nodes.forEach(function (name, n) {
      var top = layout.nodes + n * (LANE_H + GAP);
      var stuck = run.stuck.indexOf(n) >= 0;
      el("rect", { x: LABEL_W, y: top, width: plotW, height: LANE_H, "class": "lane-bg" + (stuck ? " stuck" : ""),
        "data-lane": "node:" + name, "data-stuck": stuck ? "true" : null }, body);
      label(name + (stuck ? " (stuck)" : ""), top, LANE_H, stuck ? "stuck" : "");
      segments[n].forEach(function (seg) {
        if (!visible(seg.t, seg.u)) { return; }
        var x0 = Math.max(x(seg.t), LABEL_W - 1), x1 = Math.min(x(seg.u), width);
        el("rect", { x: x0, y: top + 3, width: Math.max(x1 - x0, 0.5), height: LANE_H - 6, "class": stateClass(seg.s),
          "data-t": seg.t, "data-d": name + " from " + stamp(seg.t) + ": " + stateText(seg.s) }, body);
        if (x1 - x0 > 70) {
          var text = seg.s.r === "replica" ? "of " + seg.s.m + ": " + seg.s.l : seg.s.r;
          el("text", { x: x0 + 3, y: top + LANE_H / 2 + 4, "class": "seg-text" }, body).textContent = text;
        }
      });
      paused[n].forEach(function (p) {
        if (!visible(p.t, p.u)) { return; }
        el("rect", { x: x(p.t), y: top + 3, width: Math.max(x(p.u) - x(p.t), 1), height: LANE_H - 6, "class": "seg-paused",
          "data-t": p.t, "data-d": name + " paused " + stamp(p.t) + " to " + stamp(p.u) }, body);
      });
      // Fault bands over the lanes they strike.
      run.faults.forEach(function (f, i) {
        if (f.nodes.indexOf(n) < 0 || !visible(f.t, f.u)) { return; }
        el("rect", { x: x(f.t), y: top, width: Math.max(x(f.u) - x(f.t), 2), height: LANE_H, "class": "band fault-" + f.kind,
          "data-band": i, "data-t": f.t, "data-d": f.kind + ": " + f.label }, body);
      });
    });
    run.events.forEach(function (e) {
      if (!visible(e.t, e.t)) { return; }
      var cx = x(e.t), cy = layout.nodes + e.n * (LANE_H + GAP) + LANE_H / 2;
      el("path", { d: "M" + cx + " " + (cy - 6) + "l5 6l-5 6l-5 -6z", "class": "ev ev-" + e.k, "data-event": e.k,
        "data-t": e.t, "data-d": run.nodes[e.n] + " " + stamp(e.t) + ": " + e.d }, body);
    });

    // Offsets.
    el("rect", { x: LABEL_W, y: layout.plot, width: plotW, height: PLOT_H, "class": "lane-bg", "data-lane": "offsets",
      "data-plot": "offsets" }, body);
    el("text", { x: 4, y: layout.plot + 14, "class": "lane-label" }, labels).textContent = "offsets";
    run.nodes.forEach(function (name, n) {
      el("text", { x: 10, y: layout.plot + 30 + n * 13, style: "fill:" + PALETTE[n % PALETTE.length], "class": "lane-label",
        "data-lane": "offset-key:" + name }, labels).textContent = "\u2014 " + name;
    });
    // The plot spans the offsets seen in the window, so zooming in shows lag.
    var maxOffset = 0, minOffset = Infinity;
    perNode.forEach(function (points) {
      points.forEach(function (p, i) {
        var next = points[i + 1];
        if (visible(p.t, next ? next.t : end)) { maxOffset = Math.max(maxOffset, p.o); minOffset = Math.min(minOffset, p.o); }
      });
    });
    if (!isFinite(minOffset) || view[0] === 0) { minOffset = 0; }
    var offsetSpan = Math.max(maxOffset - minOffset, 1);
    function yOf(o) { return layout.plot + PLOT_H - 4 - Math.max(o - minOffset, 0) / offsetSpan * (PLOT_H - 10); }
    el("text", { x: LABEL_W + 4, y: layout.plot + 12, "class": "axis" }, body).textContent = String(maxOffset);
    el("text", { x: LABEL_W + 4, y: layout.plot + PLOT_H - 6, "class": "axis" }, body).textContent = String(minOffset);
    perNode.forEach(function (points, n) {
      var d = [];
      var last = null;
      points.forEach(function (p, i) {
        var next = points[i + 1];
        if (!visible(p.t, next ? next.t : end)) { last = p; return; }
        if (!d.length && last) { d.push("M" + x(last.t).toFixed(1) + " " + yOf(last.o).toFixed(1)); }
        d.push((d.length ? "H" + x(p.t).toFixed(1) + "V" : "M" + x(p.t).toFixed(1) + " ") + yOf(p.o).toFixed(1));
        last = p;
      });
      if (!d.length && last) { d.push("M" + x(last.t).toFixed(1) + " " + yOf(last.o).toFixed(1)); }
      if (d.length) { d.push("H" + x(end).toFixed(1)); }
      el("path", { d: d.join(""), "class": "offset-line", stroke: PALETTE[n % PALETTE.length],
        "data-lane": "offset:" + run.nodes[n], "data-plot": "offsets" }, body);
    });

    // Client operations.
    el("rect", { x: LABEL_W, y: layout.writes, width: plotW, height: OPS_H, "class": "lane-bg", "data-lane": "writes" }, body);
    label("writes", layout.writes, OPS_H);
    // Lost writes and wrong reads last, so that no ordinary one hides them.
    function marked(list) {
      return list.filter(function (op) { return !op.x; }).concat(list.filter(function (op) { return op.x; }));
    }
    marked(run.writes).forEach(function (w) {
      var u = w.u === null ? w.t : w.u;
      if (!visible(w.t, u)) { return; }
      var cls = w.x ? "w-lost" : (w.a ? "w-acked" : "w-unacked");
      var top = layout.writes + (w.x ? 1 : 5), bottom = layout.writes + OPS_H - (w.x ? 1 : 5);
      var what = w.d + " sent " + stamp(w.t) + (w.u === null ? ", no reply" : ", " + (w.a ? "acknowledged " : "error ") + stamp(w.u)) +
        (w.x ? ": LOST (acknowledged, then missing at the end)" : "");
      var attrs = { d: "M" + x(w.t).toFixed(1) + " " + top + "V" + bottom + (u > w.t ? "M" + x(w.t).toFixed(1) + " " + ((top + bottom) / 2) + "H" + x(u).toFixed(1) : ""),
        "class": cls, "data-t": w.t, "data-d": what };
      if (w.x) { attrs["data-lost"] = "true"; }
      el("path", attrs, body);
    });
    readNodes.forEach(function (n, row) {
      var top = layout.reads + row * (OPS_H + GAP);
      el("rect", { x: LABEL_W, y: top, width: plotW, height: OPS_H, "class": "lane-bg", "data-lane": "reads:" + run.nodes[n] }, body);
      label("reads on " + run.nodes[n], top, OPS_H);
    });
    marked(run.reads).forEach(function (r) {
      if (!visible(r.t, r.t)) { return; }
      var top = layout.reads + readNodes.indexOf(r.n) * (OPS_H + GAP);
      var attrs = { d: "M" + x(r.t).toFixed(1) + " " + (top + (r.x ? 1 : 5)) + "V" + (top + OPS_H - (r.x ? 1 : 5)),
        "class": r.x ? "r-wrong" : "r-ok", "data-t": r.t,
        "data-d": run.nodes[r.n] + " served " + r.d + " at " + stamp(r.t) + (r.x ? ": WRONG READ" : "") };
      if (r.x) { attrs["data-wrong-read"] = "true"; }
      el("path", attrs, body);
    });

    // Violations: a line across every lane, and a mark on the node's lane.
    run.flags.forEach(function (f, i) {
      var what = (f.k === "expectation" ? "EXPECTATION FAILED at " : "VIOLATION at ") + stamp(f.t) + (f.n === null ? "" : " on " + run.nodes[f.n]) + ": " + f.d;
      el("line", { x1: x(f.t), x2: x(f.t), y1: AXIS_H, y2: height, "class": "violation", "data-violation": i,
        "data-t": f.t, "data-d": what }, body);
      if (f.n !== null) {
        var cy = layout.nodes + f.n * (LANE_H + GAP) + LANE_H / 2;
        el("circle", { cx: x(f.t), cy: cy, r: 7, "class": "violation-mark", "data-t": f.t, "data-d": what }, body);
      }
    });

    chart.replaceChildren(svg);
    document.getElementById("window").textContent = stamp(view[0]) + " to " + stamp(view[1]) + " of " + stamp(end);
  }

  // Hover: the element's description and the log lines around its time.
  function around(t) {
    var lo = 0, hi = logTimes.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (logTimes[mid] < t) { lo = mid + 1; } else { hi = mid; } }
    var from = Math.max(0, lo - 5), to = Math.min(run.log.length, lo + 7);
    var pre = document.createElement("pre");
    for (var i = from; i < to; i++) {
      var line = document.createElement("div");
      if (logTimes[i] === t || i === lo) { line.className = "here"; }
      line.textContent = run.log[i];
      pre.appendChild(line);
    }
    return pre;
  }
  var dragging = null;
  chart.addEventListener("mousemove", function (ev) {
    if (dragging) {
      var plotW = chart.clientWidth - LABEL_W - 10;
      var shift = (ev.clientX - dragging.x) / plotW * (dragging.view[1] - dragging.view[0]);
      var span = dragging.view[1] - dragging.view[0];
      var start = Math.min(Math.max(dragging.view[0] - shift, 0), Math.max(end - span, 0));
      view = [start, start + span];
      schedule();
      return;
    }
    var target = ev.target.closest ? ev.target.closest("[data-d], [data-plot]") : null;
    if (!target) { tip.hidden = true; return; }
    var what = document.createElement("div");
    what.className = "what";
    var t;
    if (target.hasAttribute("data-plot")) {
      t = Math.round(timeAt(ev.clientX));
      what.textContent = offsetsText(t);
    } else {
      t = Number(target.getAttribute("data-t"));
      what.textContent = target.getAttribute("data-d");
    }
    tip.replaceChildren(what, around(t));
    tip.hidden = false;
    var left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var top = ev.clientY + 14;
    if (top + tip.offsetHeight > window.innerHeight) { top = Math.max(4, ev.clientY - tip.offsetHeight - 10); }
    tip.style.left = Math.max(4, left) + "px";
    tip.style.top = top + "px";
  });
  chart.addEventListener("mouseleave", function () { tip.hidden = true; dragging = null; });
  chart.addEventListener("mousedown", function (ev) { dragging = { x: ev.clientX, view: view.slice() }; tip.hidden = true; });
  window.addEventListener("mouseup", function () { dragging = null; });
  function timeAt(clientX) {
    var rect = chart.getBoundingClientRect();
    var plotW = chart.clientWidth - LABEL_W - 10;
    var f = Math.min(Math.max((clientX - rect.left - LABEL_W) / plotW, 0), 1);
    return view[0] + f * (view[1] - view[0]);
  }
  function zoom(factor, at) {
    var span = Math.min(Math.max((view[1] - view[0]) * factor, 5), end);
    var f = (at - view[0]) / (view[1] - view[0]);
    var start = Math.min(Math.max(at - f * span, 0), end - span);
    view = [start, start + span];
    schedule();
  }
  chart.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    zoom(ev.deltaY > 0 ? 1.25 : 0.8, timeAt(ev.clientX));
  }, { passive: false });
  chart.addEventListener("dblclick", function () { view = [0, end]; schedule(); });
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(0.5, (view[0] + view[1]) / 2); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(2, (view[0] + view[1]) / 2); });
  document.getElementById("reset").addEventListener("click", function () { view = [0, end]; schedule(); });
  // Redraws at most every 16 ms however fast the wheel or the drag goes
  // (a timer rather than an animation frame, which a hidden page never
  // gets: a page drawn in the background stays current).
  var pending = false;
  function schedule() {
    if (pending) { return; }
    pending = true;
    window.setTimeout(function () { pending = false; draw(); }, 16);
  }
  window.addEventListener("resize", schedule);

  // Legend and the whole log.
  var legend = document.getElementById("legend");
  [["seg-master", "master"], ["seg-connected", "replica, link connected"], ["seg-connecting", "link down: connect or connecting"],
    ["seg-handshake", "handshake"], ["seg-sync", "full sync (RDB)"], ["seg-down", "crashed"],
    ["fault-partition", "partition"], ["fault-cut", "cut"], ["fault-throttle", "throttle"], ["fault-stall", "stall"],
    ["fault-network", "network change"], ["fault-clock", "clock jump or drift"]].forEach(function (item) {
    var span = document.createElement("span");
    var swatch = document.createElement("i");
    var probe = el("rect", { "class": item[0] });
    var svg = el("svg", { width: 0, height: 0 });
    svg.appendChild(probe);
    document.body.appendChild(svg);
    swatch.style.background = window.getComputedStyle(probe).fill;
    document.body.removeChild(svg);
    span.appendChild(swatch);
    span.appendChild(document.createTextNode(item[1]));
    legend.appendChild(span);
  });
  var markers = document.createElement("p");
  markers.textContent = "Diamonds on a lane: crash (red), restart (green), pause/resume (grey), full sync start (purple), " +
    "full sync done (green), partial resync (teal), promotion (gold), re-pointing (orange). " +
    "Red dashed line and circle: a violation or a failed expectation. Writes: green acknowledged, grey not, red lost. Reads: red wrong.";
  legend.appendChild(markers);
  var details = document.createElement("details");
  details.className = "log";
  var summary = document.createElement("summary");
  summary.textContent = "log (" + run.log.length + " lines)";
  var pre = document.createElement("pre");
  pre.textContent = run.log.join("\n");
  details.appendChild(summary);
  details.appendChild(pre);
  legend.appendChild(details);

  draw();
}());
