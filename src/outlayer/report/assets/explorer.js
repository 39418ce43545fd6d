// outlayer report: the interactive explorer (client-side only, no network).
//
// For logits z (one slider per class), a target class t and a temperature T it shows
//   p = softmax(z / T)                        outlayer.activations.softmax
//   CE  = -log p_t                            outlayer.losses.cross_entropy   (one sample)
//   MSE = sum_k (p_k - y_k)^2, y = one_hot(t) outlayer.losses.mse           (on probabilities,
//                                             summed over classes, no 1/2, no 1/K)
// and both gradients with respect to the slider logits z. Each formula is written once here and
// mirrors the Python core's stable form; the browser test checks every displayed value against
// outlayer.cross_entropy_with_grad / outlayer.mse_with_grad.
(function () {
  "use strict";

  var MIN_CLASSES = 3;
  var MAX_CLASSES = 10;

  // Same shifted form as outlayer.activations._softmax_parts: subtracting the row max keeps every
  // exponent <= 0, so exp never overflows, and log p = u - max - log(sum) never takes log of 0.
  function softmaxParts(u) {
    var m = Math.max.apply(null, u);
    var e = u.map(function (v) { return Math.exp(v - m); });
    var s = e.reduce(function (a, b) { return a + b; }, 0);
    return {
      probs: e.map(function (v) { return v / s; }),
      logProbs: u.map(function (v) { return v - m - Math.log(s); })
    };
  }

  // All values for logits z, target t, temperature T. The gradients w.r.t. u = z / T are the
  // core's (CE: p - y; MSE: p * (d - sum(d * p)) with d = 2 (p - y)); the chain rule through
  // u = z / T divides them by T to give the gradients w.r.t. the slider logits z.
  function evaluate(z, t, T) {
    var u = z.map(function (v) { return v / T; });
    var parts = softmaxParts(u);
    var p = parts.probs;
    var y = p.map(function (_, k) { return k === t ? 1 : 0; });
    var ce = -parts.logProbs[t];
    var ceGrad = p.map(function (pk, k) { return (pk - y[k]) / T; });
    var d = p.map(function (pk, k) { return 2 * (pk - y[k]); });
    var mse = p.reduce(function (acc, pk, k) { return acc + (pk - y[k]) * (pk - y[k]); }, 0);
    var dp = d.reduce(function (acc, dk, k) { return acc + dk * p[k]; }, 0);
    var mseGrad = p.map(function (pk, k) { return pk * (d[k] - dp) / T; });
    return { probs: p, ce: ce, mse: mse, ceGrad: ceGrad, mseGrad: mseGrad };
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function fixed(x, digits) {
    // -0.000 reads as a bug to a newcomer; show 0.000 instead.
    var s = x.toFixed(digits);
    return /^-0\.0*$/.test(s) ? s.slice(1) : s;
  }

  function setNumber(node, value, digits) {
    node.textContent = fixed(value, digits);
    node.setAttribute("data-value", String(value));  // String(x) round-trips the double exactly
  }

  function init(root) {
    var initial = JSON.parse(root.getAttribute("data-initial"));
    var names = initial.classes;
    var state = { logits: initial.logits.slice(), target: initial.target, temperature: initial.temperature };
    var classSelect = root.querySelector("#explorer-classes");
    var targetSelect = root.querySelector("#explorer-target");
    var tempInput = root.querySelector("#explorer-temperature");
    var tempValue = root.querySelector("#explorer-temperature-value");
    var rows = root.querySelector("#explorer-rows");
    var ceNode = root.querySelector("#explorer-ce");
    var mseNode = root.querySelector("#explorer-mse");

    function className(k) { return k < names.length ? names[k] : "class " + k; }

    for (var n = MIN_CLASSES; n <= MAX_CLASSES; n++) {
      classSelect.appendChild(el("option", { value: String(n) }, String(n)));
    }

    function buildRows() {
      var count = state.logits.length;
      classSelect.value = String(count);
      targetSelect.innerHTML = "";
      rows.innerHTML = "";
      for (var k = 0; k < count; k++) {
        targetSelect.appendChild(el("option", { value: String(k) }, className(k)));
        var row = el("tr", { "class": "explorer-row", "data-class": String(k) });
        var label = el("th", { scope: "row" }, className(k));
        var sliderCell = el("td", { "class": "slider-cell" });
        var slider = el("input", {
          type: "range", min: "-8", max: "8", step: "0.1", value: String(state.logits[k]),
          id: "explorer-logit-" + k, "class": "explorer-logit", "data-class": String(k),
          "aria-label": "logit of " + className(k)
        });
        sliderCell.appendChild(slider);
        var logitCell = el("td", { "class": "num explorer-logit-value", id: "explorer-logit-value-" + k });
        var barCell = el("td", { "class": "bar-cell" });
        var bar = el("div", { "class": "bar", id: "explorer-bar-" + k });
        barCell.appendChild(bar);
        row.appendChild(label);
        row.appendChild(sliderCell);
        row.appendChild(logitCell);
        row.appendChild(barCell);
        row.appendChild(el("td", { "class": "num explorer-prob", id: "explorer-prob-" + k }));
        row.appendChild(el("td", { "class": "num explorer-ce-grad", id: "explorer-ce-grad-" + k }));
        row.appendChild(el("td", { "class": "num explorer-mse-grad", id: "explorer-mse-grad-" + k }));
        rows.appendChild(row);
        slider.addEventListener("input", onSlider);
      }
      targetSelect.value = String(state.target);
    }

    function onSlider(event) {
      state.logits[Number(event.target.getAttribute("data-class"))] = parseFloat(event.target.value);
      render();
    }

    function render() {
      var r = evaluate(state.logits, state.target, state.temperature);
      for (var k = 0; k < state.logits.length; k++) {
        setNumber(root.querySelector("#explorer-logit-value-" + k), state.logits[k], 1);
        setNumber(root.querySelector("#explorer-prob-" + k), r.probs[k], 3);
        setNumber(root.querySelector("#explorer-ce-grad-" + k), r.ceGrad[k], 3);
        setNumber(root.querySelector("#explorer-mse-grad-" + k), r.mseGrad[k], 3);
        var bar = root.querySelector("#explorer-bar-" + k);
        bar.style.width = (100 * r.probs[k]).toFixed(2) + "%";
        bar.className = k === state.target ? "bar bar-target" : "bar";
      }
      setNumber(ceNode, r.ce, 4);
      setNumber(mseNode, r.mse, 4);
      setNumber(tempValue, state.temperature, 2);
    }

    classSelect.addEventListener("change", function () {
      var count = Number(classSelect.value);
      var logits = state.logits.slice(0, count);
      while (logits.length < count) { logits.push(0); }
      state.logits = logits;
      if (state.target >= count) { state.target = 0; }
      buildRows();
      render();
    });
    targetSelect.addEventListener("change", function () {
      state.target = Number(targetSelect.value);
      render();
    });
    tempInput.addEventListener("input", function () {
      state.temperature = parseFloat(tempInput.value);
      render();
    });

    tempInput.value = String(state.temperature);
    buildRows();
    render();
    root.setAttribute("data-ready", "true");
  }

  window.outlayerExplorer = { evaluate: evaluate };
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("explorer");
    if (root) { init(root); }
  });
})();
