// outlayer report: language switch and shareable state in the URL fragment (no network).
//
// Languages: every translated text exists in both languages side by side (lang="en" /
// lang="zh-Hans", data-msg="KEY"); the stylesheet hides the one not chosen on <html data-lang>.
// The choice is kept in the fragment (#lang=zh) and in localStorage; a fragment wins, so a
// shared link opens in the sender's language. Attributes (alt, aria-label) are swapped from
// their data-tr-NAME JSON; scripts that write text listen to onLanguage().
//
// State: the fragment holds key=value pairs (#lang=zh&z=2,1,0.1&t=1&T=1...). A plain anchor
// (#fig-surface-paths) is left alone until a widget changes state.
(function (global) {
  "use strict";

  var data = JSON.parse(document.getElementById("outlayer-messages").textContent);
  var HTML_LANG = { en: "en", zh: "zh-Hans" };
  var listeners = [];
  var current = null;

  function parseFragment() {
    var hash = global.location.hash.replace(/^#/, "");
    var out = {};
    if (hash.indexOf("=") < 0) { return out; }
    hash.split("&").forEach(function (pair) {
      var cut = pair.indexOf("=");
      if (cut > 0) { out[decodeURIComponent(pair.slice(0, cut))] = decodeURIComponent(pair.slice(cut + 1)); }
    });
    return out;
  }

  function encodeValue(value) {
    return String(value).split(",").map(encodeURIComponent).join(",");
  }

  function fragmentFor(update) {
    var state = parseFragment();
    Object.keys(update).forEach(function (key) {
      if (update[key] === null || update[key] === undefined) { delete state[key]; } else { state[key] = String(update[key]); }
    });
    return "#" + Object.keys(state).map(function (key) { return encodeURIComponent(key) + "=" + encodeValue(state[key]); }).join("&");
  }

  // Merge `update` into the fragment (null removes a key), without a history entry or a scroll.
  function setState(update) {
    try { global.history.replaceState(null, "", fragmentFor(update)); } catch (e) { /* file:// in some browsers */ }
  }

  function t(key, params) {
    var table = data.text[current] || data.text.en;
    var text = table[key] !== undefined ? table[key] : data.text.en[key];
    if (text === undefined) { throw new Error("no message js." + key); }
    return text.replace(/\{(\w+)\}/g, function (_, name) { return params && params[name] !== undefined ? params[name] : "{" + name + "}"; });
  }

  function setLanguage(lang, remember) {
    if (!HTML_LANG[lang]) { lang = data["default"]; }
    current = lang;
    var root = document.documentElement;
    root.setAttribute("data-lang", lang);
    root.setAttribute("lang", HTML_LANG[lang]);
    document.title = data.titles[lang];
    Array.prototype.forEach.call(document.querySelectorAll("[data-set-lang]"), function (button) {
      button.setAttribute("aria-pressed", button.getAttribute("data-set-lang") === lang ? "true" : "false");
    });
    Array.prototype.forEach.call(document.querySelectorAll("*"), function (node) {
      for (var i = 0; i < node.attributes.length; i++) {
        var attr = node.attributes[i];
        if (attr.name.indexOf("data-tr-") === 0) {
          var texts = JSON.parse(attr.value);
          node.setAttribute(attr.name.slice(8), texts[lang]);
        }
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-js-msg]"), function (node) {
      var params = node.getAttribute("data-js-params");
      try { node.textContent = t(node.getAttribute("data-js-msg"), params ? JSON.parse(params) : {}); } catch (e) { /* a name with no translation */ }
    });
    if (remember) {
      try { global.localStorage.setItem("outlayer-lang", lang); } catch (e) { /* storage may be off */ }
      setState({ lang: lang });
    }
    listeners.forEach(function (fn) { fn(lang); });
  }

  function initialLanguage() {
    var fromFragment = parseFragment().lang;
    if (HTML_LANG[fromFragment]) { return fromFragment; }
    try {
      var stored = global.localStorage.getItem("outlayer-lang");
      if (HTML_LANG[stored]) { return stored; }
    } catch (e) { /* storage may be off */ }
    return data["default"];
  }

  // A figure wider than its frame (kept at a readable text size on a narrow screen) scrolls
  // sideways; its caption then shows a scroll hint.
  function markScrolling() {
    Array.prototype.forEach.call(document.querySelectorAll(".fig-frame"), function (frame) {
      frame.setAttribute("data-scrolls", frame.scrollWidth > frame.clientWidth + 1 ? "true" : "false");
    });
  }
  global.addEventListener("load", markScrolling);
  global.addEventListener("resize", markScrolling);

  Array.prototype.forEach.call(document.querySelectorAll("[data-set-lang]"), function (button) {
    button.addEventListener("click", function () { setLanguage(button.getAttribute("data-set-lang"), true); });
  });
  setLanguage(initialLanguage(), false);
  // a link with #lang=... opened in the same tab (no reload) switches too
  global.addEventListener("hashchange", function () {
    var lang = parseFragment().lang;
    if (HTML_LANG[lang] && lang !== current) { setLanguage(lang, false); }
  });

  global.outlayerPage = {
    t: t,
    language: function () { return current; },
    setLanguage: setLanguage,
    onLanguage: function (fn) { listeners.push(fn); },
    state: parseFragment,
    setState: setState,
    fragmentFor: fragmentFor
  };
})(window);
