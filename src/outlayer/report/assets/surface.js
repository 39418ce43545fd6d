// outlayer report: the interactive error surface (client-side only, no network).
//
// The lecture's plane (3 classes, class 1 true, z3 held at a chosen value or -inf), CE and MSE
// side by side: heat map + contour lines of the loss over (z1, z2), the p1 = 0.9 boundary, and
// the descent path of each loss from a start the reader clicks, with the optimiser and learning
// rate chosen above. Every number comes from formulas.js (planeAt, descend), which the tests
// check against outlayer.surface.descent_path. State lives in the URL fragment (s3, so, slr, su, sv).
(function () {
  "use strict";

  var F = window.outlayerFormulas;
  var page = window.outlayerPage;
  var LOSSES = ["ce", "mse"];
  var GRID = 121;         // heat-map and contour samples per axis
  var LEVELS = 12;        // contour lines per surface
  var ANIMATION_MS = 1600;
  var MARGIN = { left: 38, right: 10, top: 10, bottom: 34 };  // CSS px around the plot
  // viridis, 9 stops: dark = low loss, bright = high loss
  var COLORMAP = [[68, 1, 84], [71, 45, 123], [59, 82, 139], [44, 114, 142], [33, 145, 140], [40, 174, 128],
                  [94, 201, 98], [173, 220, 48], [253, 231, 37]];

  function color(share) {
    var x = Math.max(0, Math.min(1, share)) * (COLORMAP.length - 1);
    var i = Math.min(COLORMAP.length - 2, Math.floor(x));
    var f = x - i;
    return COLORMAP[i].map(function (c, k) { return Math.round(c + f * (COLORMAP[i + 1][k] - c)); });
  }

  var SUPERSCRIPT = { "-": "\u207b", "0": "\u2070", "1": "\u00b9", "2": "\u00b2", "3": "\u00b3", "4": "\u2074",
                      "5": "\u2075", "6": "\u2076", "7": "\u2077", "8": "\u2078", "9": "\u2079" };
  function scientific(x) {
    if (x === 0) { return "0"; }
    var parts = x.toExponential(2).split("e");
    return parts[0].replace("-", "\u2212") + "\u00d710" +
      String(Number(parts[1])).split("").map(function (c) { return SUPERSCRIPT[c]; }).join("");
  }
  function readable(x) { return (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e4)) ? scientific(x) : x.toFixed(4); }

  function show(node, value, text) {
    node.textContent = text;
    node.setAttribute("data-value", String(value));
  }

  // Marching squares: line segments where the sampled field crosses `level` (grid[r][c] at v_r, u_c).
  function contour(grid, axis, level) {
    var segments = [];
    var n = axis.length;
    function cross(a, b, fa, fb) { return a + (b - a) * (level - fa) / (fb - fa); }
    for (var r = 0; r < n - 1; r++) {
      for (var c = 0; c < n - 1; c++) {
        var f00 = grid[r][c], f01 = grid[r][c + 1], f10 = grid[r + 1][c], f11 = grid[r + 1][c + 1];
        var u0 = axis[c], u1 = axis[c + 1], v0 = axis[r], v1 = axis[r + 1];
        var pts = [];
        if ((f00 < level) !== (f01 < level)) { pts.push([cross(u0, u1, f00, f01), v0]); }
        if ((f01 < level) !== (f11 < level)) { pts.push([u1, cross(v0, v1, f01, f11)]); }
        if ((f11 < level) !== (f10 < level)) { pts.push([cross(u0, u1, f10, f11), v1]); }
        if ((f10 < level) !== (f00 < level)) { pts.push([u0, cross(v0, v1, f00, f10)]); }
        if (pts.length >= 2) { segments.push([pts[0], pts[1]]); }
        if (pts.length === 4) { segments.push([pts[2], pts[3]]); }
      }
    }
    return segments;
  }

  // Join marching-squares segments that share end points into polylines, so that a dashed line
  // is dashed along its length (each tiny segment on its own would start a new dash).
  function chain(segments) {
    function key(p) { return p[0].toFixed(6) + "," + p[1].toFixed(6); }
    var ends = {};
    segments.forEach(function (s, i) {
      [key(s[0]), key(s[1])].forEach(function (k) { (ends[k] = ends[k] || []).push(i); });
    });
    var used = segments.map(function () { return false; });
    var lines = [];
    function extend(line, atEnd) {
      for (;;) {
        var tip = atEnd ? line[line.length - 1] : line[0];
        var next = (ends[key(tip)] || []).filter(function (i) { return !used[i]; })[0];
        if (next === undefined) { return; }
        used[next] = true;
        var s = segments[next];
        var other = key(s[0]) === key(tip) ? s[1] : s[0];
        if (atEnd) { line.push(other); } else { line.unshift(other); }
      }
    }
    segments.forEach(function (s, i) {
      if (used[i]) { return; }
      used[i] = true;
      var line = [s[0], s[1]];
      extend(line, true);
      extend(line, false);
      lines.push(line);
    });
    return lines;
  }

  function init(root) {
    var initial = JSON.parse(root.getAttribute("data-initial"));
    var limits = initial.limits;
    var held = root.querySelector("#isurface-held");
    var heldValue = root.querySelector("#isurface-held-value");
    var inf = root.querySelector("#isurface-inf");
    var optimizer = root.querySelector("#isurface-optimizer");
    var lr = root.querySelector("#isurface-lr");
    var lrValue = root.querySelector("#isurface-lr-value");
    var inputU = root.querySelector("#isurface-u");
    var inputV = root.querySelector("#isurface-v");
    var canvases = {};
    LOSSES.forEach(function (loss) { canvases[loss] = root.querySelector("#isurface-" + loss); });
    var state = null;
    var fields = {};     // per loss: {axis, loss grid, p grid, min, max} for the current held-out logit
    var paths = {};      // per loss: descend() result
    var shownSteps = 0;  // how much of the paths the animation has drawn
    var animation = null;

    function defaults() {
      return { heldOut: -Infinity, optimizer: initial.optimizer, lr: initial.lr, start: initial.start.slice() };
    }

    function fromFragment() {
      var s = page.state();
      if (s.su === undefined && s.s3 === undefined && s.so === undefined && s.slr === undefined) { return null; }
      var next = defaults();
      if (s.s3 !== undefined) { next.heldOut = s.s3 === "-inf" ? -Infinity : Math.max(-10, Math.min(10, Number(s.s3) || 0)); }
      if (s.so === "sgd" || s.so === "momentum" || s.so === "adam") { next.optimizer = s.so; }
      var rate = Number(s.slr);
      if (isFinite(rate) && rate > 0) { next.lr = Math.max(0.01, Math.min(10, rate)); }
      var u = Number(s.su), v = Number(s.sv);
      if (s.su !== undefined && isFinite(u) && isFinite(v)) { next.start = [clampStart(u), clampStart(v)]; }
      return next;
    }

    function clampStart(x) { return Math.round(10 * Math.max(limits[0], Math.min(limits[1], x))) / 10; }

    function settings(loss) {
      return { loss: loss, start: state.start, heldOut: state.heldOut, optimizer: state.optimizer, lr: state.lr,
               steps: initial.steps, goal: initial.goal };
    }

    function computeFields() {
      var axis = [];
      for (var i = 0; i < GRID; i++) { axis.push(limits[0] + (limits[1] - limits[0]) * i / (GRID - 1)); }
      LOSSES.forEach(function (loss) {
        var grid = [], pgrid = [], lo = Infinity, hi = -Infinity;
        for (var r = 0; r < GRID; r++) {
          var row = [], prow = [];
          for (var c = 0; c < GRID; c++) {
            var at = F.planeAt(loss, axis[c], axis[r], state.heldOut);
            row.push(at.loss);
            prow.push(at.p);
            lo = Math.min(lo, at.loss);
            hi = Math.max(hi, at.loss);
          }
          grid.push(row);
          pgrid.push(prow);
        }
        fields[loss] = { axis: axis, grid: grid, pgrid: pgrid, lo: lo, hi: hi, image: null };
      });
    }

    function computePaths() {
      LOSSES.forEach(function (loss) { paths[loss] = F.descend(settings(loss)); });
    }

    function geometry(canvas) {
      var width = canvas.clientWidth || 320;
      var plot = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: width - MARGIN.top - MARGIN.bottom };
      return {
        width: width, plot: plot,
        x: function (u) { return plot.x + (u - limits[0]) / (limits[1] - limits[0]) * plot.w; },
        y: function (v) { return plot.y + (limits[1] - v) / (limits[1] - limits[0]) * plot.h; },
        u: function (x) { return limits[0] + (x - plot.x) / plot.w * (limits[1] - limits[0]); },
        v: function (y) { return limits[1] - (y - plot.y) / plot.h * (limits[1] - limits[0]); }
      };
    }

    function heatImage(field) {
      if (field.image) { return field.image; }
      var image = document.createElement("canvas");
      image.width = GRID;
      image.height = GRID;
      var context = image.getContext("2d");
      var pixels = context.createImageData(GRID, GRID);
      var span = field.hi - field.lo || 1;
      for (var r = 0; r < GRID; r++) {
        for (var c = 0; c < GRID; c++) {
          var rgb = color((field.grid[r][c] - field.lo) / span);
          var at = 4 * ((GRID - 1 - r) * GRID + c);  // row 0 of the grid is the lowest z2: bottom of the image
          pixels.data[at] = rgb[0];
          pixels.data[at + 1] = rgb[1];
          pixels.data[at + 2] = rgb[2];
          pixels.data[at + 3] = 255;
        }
      }
      context.putImageData(pixels, 0, 0);
      field.image = image;
      return image;
    }

    function drawSegments(ctx, g, segments) {
      ctx.beginPath();
      chain(segments).forEach(function (line) {
        line.forEach(function (p, k) { if (k === 0) { ctx.moveTo(g.x(p[0]), g.y(p[1])); } else { ctx.lineTo(g.x(p[0]), g.y(p[1])); } });
      });
      ctx.stroke();
    }

    function draw(loss) {
      var canvas = canvases[loss];
      var g = geometry(canvas);
      var ratio = window.devicePixelRatio || 1;
      canvas.width = Math.round(g.width * ratio);
      canvas.height = Math.round(g.width * ratio);
      var ctx = canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, g.width, g.width);
      var field = fields[loss];
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(heatImage(field), g.plot.x, g.plot.y, g.plot.w, g.plot.h);
      ctx.save();
      ctx.beginPath();
      ctx.rect(g.plot.x, g.plot.y, g.plot.w, g.plot.h);
      ctx.clip();
      ctx.lineWidth = 1;
      ctx.strokeStyle = "rgba(0, 0, 0, 0.32)";
      for (var i = 1; i <= LEVELS; i++) {
        drawSegments(ctx, g, contour(field.grid, field.axis, field.lo + (field.hi - field.lo) * i / (LEVELS + 1)));
      }
      var goal = contour(field.pgrid, field.axis, initial.goal);
      ctx.setLineDash([7, 5]);
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(0, 0, 0, 0.55)";
      drawSegments(ctx, g, goal);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = "#ffffff";
      drawSegments(ctx, g, goal);
      ctx.setLineDash([]);
      var path = paths[loss];
      var last = Math.min(shownSteps, path.points.length - 1);
      [[4.5, "rgba(0, 0, 0, 0.75)"], [2, "#ffffff"]].forEach(function (stroke) {
        ctx.lineWidth = stroke[0];
        ctx.strokeStyle = stroke[1];
        ctx.lineJoin = "round";
        ctx.beginPath();
        for (var k = 0; k <= last; k++) {
          var x = g.x(path.points[k][0]), y = g.y(path.points[k][1]);
          if (k === 0) { ctx.moveTo(x, y); } else { ctx.lineTo(x, y); }
        }
        ctx.stroke();
      });
      var end = path.points[last];
      ctx.fillStyle = "#ffffff";
      ctx.strokeStyle = "#000000";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(g.x(end[0]), g.y(end[1]), 3.5, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
      ctx.restore();
      var start = state.start;
      [[8, "#000000", 4], [8, "#ffffff", 2]].forEach(function (ring) {
        ctx.lineWidth = ring[2];
        ctx.strokeStyle = ring[1];
        ctx.beginPath();
        ctx.arc(g.x(start[0]), g.y(start[1]), ring[0], 0, 2 * Math.PI);
        ctx.stroke();
      });
      // axes: ticks every 5, labels at 12 CSS px
      ctx.fillStyle = "#1d232b";
      ctx.strokeStyle = "#1d232b";
      ctx.lineWidth = 1;
      ctx.font = "12px system-ui, sans-serif";
      ctx.strokeRect(g.plot.x, g.plot.y, g.plot.w, g.plot.h);
      for (var tick = Math.ceil(limits[0] / 5) * 5; tick <= limits[1]; tick += 5) {
        ctx.textAlign = "center";
        ctx.textBaseline = "top";
        ctx.beginPath();
        ctx.moveTo(g.x(tick), g.plot.y + g.plot.h);
        ctx.lineTo(g.x(tick), g.plot.y + g.plot.h + 4);
        ctx.stroke();
        ctx.fillText(String(tick).replace("-", "\u2212"), g.x(tick), g.plot.y + g.plot.h + 5);
        ctx.textAlign = "right";
        ctx.textBaseline = "middle";
        ctx.beginPath();
        ctx.moveTo(g.plot.x - 4, g.y(tick));
        ctx.lineTo(g.plot.x, g.y(tick));
        ctx.stroke();
        ctx.fillText(String(tick).replace("-", "\u2212"), g.plot.x - 6, g.y(tick));
      }
      ctx.font = "italic 14px system-ui, serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillText("z\u2081", g.plot.x + g.plot.w / 2, g.width - 1);
      ctx.save();
      ctx.translate(11, g.plot.y + g.plot.h / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textBaseline = "middle";
      ctx.fillText("z\u2082", 0, 0);
      ctx.restore();
    }

    function drawAll() { LOSSES.forEach(draw); }

    function stepsText(path) {
      if (path.stepsToGoal !== null) { return { key: "steps", params: { steps: path.stepsToGoal } }; }
      if (path.diverged) { return { key: "diverged", params: { steps: path.points.length - 1 } }; }
      return { key: "not_reached", params: { steps: initial.steps } };
    }

    function readouts() {
      LOSSES.forEach(function (loss) {
        var path = paths[loss];
        show(root.querySelector("#isurface-" + loss + "-loss"), path.loss[0], readable(path.loss[0]));
        show(root.querySelector("#isurface-" + loss + "-p"), path.p[0], readable(path.p[0]));
        show(root.querySelector("#isurface-" + loss + "-grad"), path.gradNorm[0], scientific(path.gradNorm[0]));
        var steps = root.querySelector("#isurface-" + loss + "-steps");
        var text = stepsText(path);
        steps.setAttribute("data-js-msg", text.key);
        steps.setAttribute("data-js-params", JSON.stringify(text.params));
        steps.setAttribute("data-value", path.stepsToGoal === null ? "" : String(path.stepsToGoal));
        steps.textContent = page.t(text.key, text.params);
        var end = path.p[path.p.length - 1];
        show(root.querySelector("#isurface-" + loss + "-end"), end, readable(end));
        canvases[loss].setAttribute("aria-label", page.t("surface_of", { loss: loss === "ce" ? "CE" : "MSE" }));
      });
    }

    function syncControls() {
      inf.checked = state.heldOut === -Infinity;
      held.disabled = inf.checked;
      if (!inf.checked) { held.value = String(state.heldOut); }
      heldValue.textContent = inf.checked ? "\u2212\u221e" : String(state.heldOut).replace("-", "\u2212");
      optimizer.value = state.optimizer;
      lr.value = String(Math.log10(state.lr));
      lrValue.textContent = String(state.lr);
      lrValue.setAttribute("data-value", String(state.lr));
      inputU.value = String(state.start[0]);
      inputV.value = String(state.start[1]);
    }

    function animate() {
      if (animation !== null) { window.cancelAnimationFrame(animation); animation = null; }
      var longest = Math.max(paths.ce.points.length, paths.mse.points.length) - 1;
      var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      if (reduced || longest <= 0) { shownSteps = longest; drawAll(); return; }
      var began = null;
      function frame(now) {
        if (began === null) { began = now; }
        var share = Math.min(1, (now - began) / ANIMATION_MS);
        shownSteps = Math.round(longest * share * share);  // slow start: the first steps are the telling ones
        drawAll();
        animation = share < 1 ? window.requestAnimationFrame(frame) : null;
      }
      animation = window.requestAnimationFrame(frame);
    }

    function update(options) {
      options = options || {};
      if (options.fields) { computeFields(); }
      computePaths();
      syncControls();
      readouts();
      if (options.remember) {
        page.setState({ s3: state.heldOut === -Infinity ? "-inf" : state.heldOut, so: state.optimizer, slr: state.lr,
                        su: state.start[0], sv: state.start[1] });
      }
      animate();
    }

    function pickStart(event) {
      var canvas = event.currentTarget;
      var box = canvas.getBoundingClientRect();
      var g = geometry(canvas);
      var x = (event.clientX - box.left) * g.width / box.width;
      var y = (event.clientY - box.top) * g.width / box.height;
      if (x < g.plot.x || x > g.plot.x + g.plot.w || y < g.plot.y || y > g.plot.y + g.plot.h) { return; }
      state.start = [clampStart(g.u(x)), clampStart(g.v(y))];
      update({ remember: true });
    }

    LOSSES.forEach(function (loss) { canvases[loss].addEventListener("click", pickStart); });
    held.addEventListener("input", function () { state.heldOut = Number(held.value); update({ fields: true, remember: true }); });
    inf.addEventListener("change", function () {
      state.heldOut = inf.checked ? -Infinity : Number(held.value);
      update({ fields: true, remember: true });
    });
    optimizer.addEventListener("change", function () { state.optimizer = optimizer.value; update({ remember: true }); });
    lr.addEventListener("input", function () {
      state.lr = Number(Math.pow(10, Number(lr.value)).toPrecision(2));
      update({ remember: true });
    });
    [inputU, inputV].forEach(function (input, axis) {
      input.addEventListener("change", function () {
        var value = Number(input.value);
        if (!isFinite(value)) { return; }
        state.start[axis] = clampStart(value);
        update({ remember: true });
      });
    });
    root.querySelector("#isurface-replay").addEventListener("click", animate);
    root.querySelector("#isurface-reset").addEventListener("click", function () {
      state = defaults();
      page.setState({ s3: null, so: null, slr: null, su: null, sv: null });
      update({ fields: true });
    });
    page.onLanguage(function () { if (state) { readouts(); } });
    window.addEventListener("beforeprint", function () {
      if (animation !== null) { window.cancelAnimationFrame(animation); animation = null; }
      shownSteps = Infinity;
      drawAll();
    });
    if (window.ResizeObserver) {
      var observer = new window.ResizeObserver(function () { if (state) { drawAll(); } });
      LOSSES.forEach(function (loss) { observer.observe(canvases[loss]); });
    }

    state = fromFragment() || defaults();
    update({ fields: true });
    root.setAttribute("data-ready", "true");
    window.outlayerSurface = { state: function () { return state; }, paths: function () { return paths; },
                               finish: function () { shownSteps = Infinity; if (animation !== null) { window.cancelAnimationFrame(animation); animation = null; } drawAll(); } };
  }

  var root = document.getElementById("isurface");
  if (root) { init(root); }
})();
