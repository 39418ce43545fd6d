// outlayer report: the explorer (client-side only, no network).
//
// For logits z (a slider and a number box per class, -20 to 20), a true class t and a
// temperature T it shows p = softmax(z / T), CE = -ln p_t, MSE (summed over the classes), the sum
// of p, both gradients with respect to z in scientific notation with a log-magnitude bar, and
// with two classes sigma((z1 - z2) / T) beside p1. The formulas are formulas.js's; every number
// element carries the full double in data-value (String(x) round-trips it) for the tests.
// State (z, t, T) lives in the URL fragment, so a teacher can share a setting; t is 1-based there.
(function () {
  "use strict";

  var MIN_CLASSES = 2;
  var MAX_CLASSES = 10;
  var LOGIT_LIMIT = 20;
  var BAR_DECADES = [-12, 1];  // the gradient bars' scale, 10^-12 .. 10^1
  var WRONG = [-8, 8, 0.1];    // "confidently wrong": the worked example with cat at -8, dog at 8
  var F = window.outlayerFormulas;
  var page = window.outlayerPage;

  var SUPERSCRIPT = { "-": "\u207b", "0": "\u2070", "1": "\u00b9", "2": "\u00b2", "3": "\u00b3", "4": "\u2074",
                      "5": "\u2075", "6": "\u2076", "7": "\u2077", "8": "\u2078", "9": "\u2079" };

  // x as "-4.53×10⁻⁷" (3 significant digits); 0 as "0".
  function scientific(x) {
    if (x === 0) { return "0"; }
    if (!isFinite(x)) { return String(x); }
    var parts = x.toExponential(2).split("e");
    var exponent = String(Number(parts[1])).split("").map(function (c) { return SUPERSCRIPT[c]; }).join("");
    return parts[0].replace("-", "\u2212") + "\u00d710" + exponent;
  }

  // Fixed decimals for ordinary sizes, scientific below 1e-3 (where fixed would print 0.0000).
  function readable(x, digits) {
    if (x !== 0 && Math.abs(x) < 1e-3) { return scientific(x); }
    var s = x.toFixed(digits);
    return /^-0\.0*$/.test(s) ? s.slice(1) : s;  // -0.000 reads as a bug
  }

  function show(node, value, text) {
    node.textContent = text;
    node.setAttribute("data-value", String(value));
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function clampLogit(x) { return Math.max(-LOGIT_LIMIT, Math.min(LOGIT_LIMIT, x)); }

  function init(root) {
    var initial = JSON.parse(root.getAttribute("data-initial"));
    var names = initial.classes;
    var state = null;
    var classSelect = root.querySelector("#explorer-classes");
    var targetSelect = root.querySelector("#explorer-target");
    var tempInput = root.querySelector("#explorer-temperature");
    var tempValue = root.querySelector("#explorer-temperature-value");
    var rows = root.querySelector("#explorer-rows");
    var link = root.querySelector("#explorer-link");

    function className(k) {
      if (k < names.length) {
        try { return page.t("class." + names[k]); } catch (e) { return names[k]; }
      }
      return page.t("class_n", { k: k + 1 });
    }
    function classKey(k) { return k < names.length ? "class." + names[k] : "class_n"; }

    function fromFragment() {
      var s = page.state();
      var z = (s.z || "").split(",").map(Number);
      if (!s.z || z.length < MIN_CLASSES || z.length > MAX_CLASSES || !z.every(isFinite)) { return null; }
      var t = Number(s.t || 1) - 1;
      var T = Number(s.T || 1);
      return { logits: z.map(clampLogit), target: (t >= 0 && t < z.length) ? Math.round(t) : 0,
               temperature: (isFinite(T) && T >= 0.1 && T <= 5) ? T : 1 };
    }

    function preset(logits, target) {
      return { logits: logits.slice(), target: target, temperature: initial.temperature };
    }

    for (var n = MIN_CLASSES; n <= MAX_CLASSES; n++) {
      classSelect.appendChild(el("option", { value: String(n) }, String(n)));
    }

    function buildRows() {
      var count = state.logits.length;
      classSelect.value = String(count);
      targetSelect.innerHTML = "";
      rows.innerHTML = "";
      for (var k = 0; k < count; k++) {
        targetSelect.appendChild(el("option", { value: String(k), "data-js-msg": classKey(k) }, className(k)));
        var row = el("div", { "class": "erow explorer-row", "data-class": String(k), role: "row" });
        row.appendChild(el("span", { "class": "ecell name", role: "rowheader", id: "explorer-name-" + k,
                                     "data-js-msg": classKey(k) }, className(k)));
        var sliderCell = el("span", { "class": "ecell slider", role: "cell" });
        var label = page.t("logit_of", { name: className(k) });
        var slider = el("input", {
          type: "range", min: String(-LOGIT_LIMIT), max: String(LOGIT_LIMIT), step: "0.1",
          id: "explorer-logit-" + k, "class": "explorer-logit", "data-class": String(k), "aria-label": label
        });
        slider.value = String(state.logits[k]);
        sliderCell.appendChild(slider);
        var numberCell = el("span", { "class": "ecell zval", role: "cell" });
        var number = el("input", {
          type: "number", min: String(-LOGIT_LIMIT), max: String(LOGIT_LIMIT), step: "0.1", inputmode: "decimal",
          id: "explorer-logit-number-" + k, "class": "explorer-logit-number num", "data-class": String(k),
          "aria-label": label
        });
        number.value = String(state.logits[k]);
        numberCell.appendChild(number);
        var probCell = el("span", { "class": "ecell prob", role: "cell" });
        var track = el("span", { "class": "pbar" });
        track.appendChild(el("span", { "class": "bar", id: "explorer-bar-" + k, style: "display:block" }));
        probCell.appendChild(track);
        probCell.appendChild(el("span", { "class": "num explorer-prob", id: "explorer-prob-" + k }));
        row.appendChild(sliderCell);
        row.appendChild(numberCell);
        row.appendChild(probCell);
        ["ce", "mse"].forEach(function (loss) {
          var cell = el("span", { "class": "ecell grad " + loss, role: "cell" });
          cell.appendChild(el("span", { "class": "cell-label" }, loss === "ce" ? "\u2202CE/\u2202z" : "\u2202MSE/\u2202z"));
          cell.appendChild(el("span", { "class": "num explorer-" + loss + "-grad", id: "explorer-" + loss + "-grad-" + k }));
          var bar = el("span", { "class": "gbar", style: "display:block" });
          bar.appendChild(el("span", { "class": "gbar-fill", id: "explorer-" + loss + "-gbar-" + k, style: "display:block" }));
          cell.appendChild(bar);
          row.appendChild(cell);
        });
        rows.appendChild(row);
        slider.addEventListener("input", onLogit);
        number.addEventListener("input", onLogit);
        number.addEventListener("change", function (event) {  // a typed 50 shows as the 20 it means
          event.target.value = String(state.logits[Number(event.target.getAttribute("data-class"))]);
        });
      }
      targetSelect.value = String(state.target);
    }

    function onLogit(event) {
      var k = Number(event.target.getAttribute("data-class"));
      var value = parseFloat(event.target.value);
      if (!isFinite(value)) { return; }  // a half-typed number box
      state.logits[k] = clampLogit(value);
      var other = event.target.type === "range" ? "#explorer-logit-number-" + k : "#explorer-logit-" + k;
      root.querySelector(other).value = String(state.logits[k]);
      changed();
    }

    function barWidth(g) {
      if (g === 0) { return 0; }
      var decades = Math.log10(Math.abs(g));
      var share = (decades - BAR_DECADES[0]) / (BAR_DECADES[1] - BAR_DECADES[0]);
      return 100 * Math.max(0, Math.min(1, share));
    }

    function render() {
      var r = F.evaluate(state.logits, state.target, state.temperature);
      var sum = 0;
      for (var k = 0; k < state.logits.length; k++) {
        show(root.querySelector("#explorer-prob-" + k), r.probs[k], readable(r.probs[k], 4));
        show(root.querySelector("#explorer-ce-grad-" + k), r.ceGrad[k], scientific(r.ceGrad[k]));
        show(root.querySelector("#explorer-mse-grad-" + k), r.mseGrad[k], scientific(r.mseGrad[k]));
        root.querySelector("#explorer-ce-gbar-" + k).style.width = barWidth(r.ceGrad[k]).toFixed(2) + "%";
        root.querySelector("#explorer-mse-gbar-" + k).style.width = barWidth(r.mseGrad[k]).toFixed(2) + "%";
        var bar = root.querySelector("#explorer-bar-" + k);
        bar.style.width = (100 * r.probs[k]).toFixed(2) + "%";
        bar.className = k === state.target ? "bar bar-target" : "bar";
        sum += r.probs[k];
      }
      show(root.querySelector("#explorer-ce"), r.ce, readable(r.ce, 4));
      show(root.querySelector("#explorer-mse"), r.mse, readable(r.mse, 4));
      show(root.querySelector("#explorer-sum"), sum, sum.toFixed(12));
      show(tempValue, state.temperature, state.temperature.toFixed(2));
      var two = root.querySelector("#explorer-two");
      two.hidden = state.logits.length !== 2;
      if (state.logits.length === 2) {
        var s = F.sigmoid((state.logits[0] - state.logits[1]) / state.temperature);
        show(root.querySelector("#explorer-sigmoid"), s, s.toFixed(12));
        show(root.querySelector("#explorer-p1"), r.probs[0], r.probs[0].toFixed(12));
      }
      link.setAttribute("href", page.fragmentFor(stateForFragment()));
    }

    function stateForFragment() {
      return { z: state.logits.map(function (v) { return String(v); }).join(","), t: state.target + 1, T: state.temperature };
    }

    function changed() {
      render();
      page.setState(stateForFragment());
    }

    function load(next) {
      state = next;
      tempInput.value = String(state.temperature);
      buildRows();
      render();
    }

    classSelect.addEventListener("change", function () {
      var count = Number(classSelect.value);
      var logits = state.logits.slice(0, count);
      while (logits.length < count) { logits.push(0); }
      state.logits = logits;
      if (state.target >= count) { state.target = 0; }
      buildRows();
      changed();
    });
    targetSelect.addEventListener("change", function () {
      state.target = Number(targetSelect.value);
      changed();
    });
    tempInput.addEventListener("input", function () {
      state.temperature = parseFloat(tempInput.value);
      changed();
    });
    root.querySelector("#explorer-reset").addEventListener("click", function () {
      load(preset(initial.logits, initial.target));
      page.setState({ z: null, t: null, T: null });
      link.setAttribute("href", page.fragmentFor(stateForFragment()));
    });
    root.querySelector("#explorer-wrong").addEventListener("click", function () {
      load(preset(WRONG, 0));
      page.setState(stateForFragment());
    });
    page.onLanguage(function () { if (state) { buildRows(); render(); } });

    load(fromFragment() || preset(initial.logits, initial.target));
    root.setAttribute("data-ready", "true");
  }

  window.outlayerExplorer.scientific = scientific;
  window.outlayerExplorer.readable = readable;
  var root = document.getElementById("explorer");
  if (root) { init(root); }
})();
