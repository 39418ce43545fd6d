// outlayer report: the formulas the page's scripts compute with (client-side only, no network).
//
// One implementation of each, mirroring the Python core; tests/test_report_browser.py checks
// every function here against outlayer (and PyTorch) for random and extreme inputs:
//   evaluate(z, t, T)      outlayer.cross_entropy_with_grad / outlayer.mse_with_grad of z / T,
//                          gradients with respect to z (so divided by T)
//   sigmoid(x)             outlayer.sigmoid
//   makeOptimizer(...)     outlayer.optim.make_optimizer ("sgd", "momentum", "adam")
//   descend(...)           outlayer.surface.descent_path on the lecture's 3-class plane
(function (global) {
  "use strict";

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

  // CE = -log p_t and MSE = sum_k (p_k - y_k)^2 of p = softmax(z / T), y = one_hot(t), and their
  // gradients with respect to z. The gradients w.r.t. u = z / T are the core's (CE: p - y; MSE:
  // p * (d - <d, p>) with d = 2 (p - y)); the chain rule through u = z / T divides them by T.
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

  // The two-branch form of outlayer.sigmoid: exp of a non-positive number only, never overflows.
  function sigmoid(x) {
    if (x >= 0) { return 1 / (1 + Math.exp(-x)); }
    var e = Math.exp(x);
    return e / (1 + e);
  }

  // outlayer.optim: SGD (v <- mu v + g; p <- p - lr v; plain when mu = 0) and Adam with bias
  // correction, eps added to sqrt(v_hat). Operation order as in the Python in-place updates.
  function makeOptimizer(name, lr, hyper) {
    hyper = hyper || {};
    var state = null;
    var steps = 0;
    if (name === "adam") {
      var b1 = hyper.beta1 === undefined ? 0.9 : hyper.beta1;
      var b2 = hyper.beta2 === undefined ? 0.999 : hyper.beta2;
      var eps = hyper.eps === undefined ? 1e-8 : hyper.eps;
      return {
        step: function (params, grads) {
          if (state === null) { state = { m: params.map(function () { return 0; }), v: params.map(function () { return 0; }) }; }
          steps += 1;
          var bias1 = 1 - Math.pow(b1, steps);
          var bias2 = 1 - Math.pow(b2, steps);
          for (var i = 0; i < params.length; i++) {
            var g = grads[i];
            state.m[i] = b1 * state.m[i] + (1 - b1) * g;
            state.v[i] = b2 * state.v[i] + (1 - b2) * (g * g);
            params[i] -= (lr / bias1) * state.m[i] / (Math.sqrt(state.v[i] / bias2) + eps);
          }
        }
      };
    }
    if (name !== "sgd" && name !== "momentum") { throw new Error("unknown optimizer " + name); }
    var mu = hyper.momentum !== undefined ? hyper.momentum : (name === "momentum" ? 0.9 : 0);
    return {
      step: function (params, grads) {
        if (!mu) {
          for (var i = 0; i < params.length; i++) { params[i] -= lr * grads[i]; }
          return;
        }
        if (state === null) { state = params.map(function () { return 0; }); }
        for (var k = 0; k < params.length; k++) {
          state[k] = mu * state[k] + grads[k];
          params[k] -= lr * state[k];
        }
      }
    };
  }

  // The lecture's plane: 3 classes, true class 1 (index 0), (z1, z2) = (u, v) swept, z3 = heldOut
  // (-Infinity allowed: e^(z3 - max) is then exactly 0, as the lab's -1000 makes it).
  function planeAt(loss, u, v, heldOut) {
    var r = evaluate([u, v, heldOut], 0, 1);
    var grad = loss === "ce" ? r.ceGrad : r.mseGrad;
    var value = loss === "ce" ? r.ce : r.mse;
    return { loss: value, grad: [grad[0], grad[1]], gradNorm: Math.hypot(grad[0], grad[1]), p: r.probs[0] };
  }

  // outlayer.surface.descent_path: `steps` optimiser steps from `start`; records steps + 1 points
  // (index 0 = the start); stepsToGoal is the first index with p1 >= goal (null if none). A path
  // whose loss, gradient or iterate stops being finite ends at its last finite point (diverged).
  function descend(opts) {
    var params = [opts.start[0], opts.start[1]];
    var optimizer = makeOptimizer(opts.optimizer, opts.lr, opts.hyper);
    var out = { points: [], loss: [], p: [], gradNorm: [], stepsToGoal: null, diverged: false };
    for (var step = 0; step <= opts.steps; step++) {
      var at = planeAt(opts.loss, params[0], params[1], opts.heldOut);
      if (!(isFinite(at.loss) && isFinite(at.grad[0]) && isFinite(at.grad[1]))) { out.diverged = true; break; }
      out.points.push([params[0], params[1]]);
      out.loss.push(at.loss);
      out.p.push(at.p);
      out.gradNorm.push(at.gradNorm);
      if (out.stepsToGoal === null && at.p >= opts.goal) { out.stepsToGoal = step; }
      if (step === opts.steps) { break; }
      optimizer.step(params, at.grad);
      if (!(isFinite(params[0]) && isFinite(params[1]))) { out.diverged = true; break; }
    }
    return out;
  }

  global.outlayerFormulas = {
    softmaxParts: softmaxParts, evaluate: evaluate, sigmoid: sigmoid, makeOptimizer: makeOptimizer,
    planeAt: planeAt, descend: descend
  };
  global.outlayerExplorer = { evaluate: evaluate };  // the name the explorer's tests have always used
})(window);
