"""The interface in English or simplified Chinese (zh-CN): the translations and the switch.

English is the source language: every label is written in English in the page modules,
and :data:`ZH_CN` (from :mod:`dash_app.zh_cn`) maps an English text to its zh-CN
translation. :func:`t` translates
one text (a missing translation falls back to the English). Texts with numbers or names
in them (``"3 problems to fix"``, ``"Attendance (concert)"``) are matched by
:data:`PATTERNS`, whose captured parts are translated too when the dictionary has them;
a text made of parts joined by `` · `` is translated part by part.

The page is translated in the browser: :func:`script` is a small script, inlined in the
page, holding the same dictionary and patterns. It translates every text node and the
``placeholder`` and ``title`` attributes of the page as they appear or change (a
``MutationObserver``), and puts the English back when the planner switches back, so
nothing typed into a page is lost by switching, and the texts that callbacks write
later are translated too. The choice is kept in the browser (``localStorage``, the
``lang`` store) and can be given in the address (``?lang=zh-CN``); ``<html lang>``
follows it. Numbers, units, file names and the names of runs, plazas and storms are
left as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from dash.development.base_component import Component

from dash_app.zh_cn import PATTERNS, ZH_CN

__all__ = [
    "LANGUAGES",
    "PATTERNS",
    "ZH_CN",
    "has_translation",
    "layout_texts",
    "normalise_lang",
    "script",
    "t",
    "untranslated",
]

#: The interface languages: (code, name in that language).
LANGUAGES: tuple[tuple[str, str], ...] = (("en", "English"), ("zh-CN", "中文"))


_COMPILED = tuple((re.compile(p), tmpl) for p, tmpl in PATTERNS)
_SEP = " · "
_LETTERS = re.compile(r"[A-Za-z]")


def normalise_lang(lang: str | None) -> str:
    """``zh-CN`` for any Chinese code (``zh``, ``zh-cn``, ``zh_CN``), else ``en``."""
    return "zh-CN" if lang and lang.lower().replace("_", "-").startswith("zh") else "en"


def _fill(template: str, names: list[str]) -> str:
    """``template`` with ``{0}``, ``{1}`` … replaced by ``names``."""
    return re.sub(r"\{(\d+)\}", lambda g: names[int(g[1])], template)


def _translate(key: str) -> str | None:
    """The zh-CN of a stripped text, or ``None`` when there is none.

    A text of parts joined by `` · `` is translated part by part when every part with
    letters has a translation (a run's name, say, has parts that do not).
    """
    if key in ZH_CN:
        return ZH_CN[key]
    if _SEP in key:
        pieces = key.split(_SEP)
        done = [_translate(p.strip()) if _LETTERS.search(p) else p for p in pieces]
        if all(d is not None for d in done):
            return _SEP.join(d for d in done if d is not None)
    for regex, tmpl in _COMPILED:
        m = regex.match(key)
        if m is None:
            continue
        parts = m.groups()
        if tmpl == "{0}（{1}）" and parts[0] not in ZH_CN:
            continue  # "name (detail)" only when the name has a translation
        names = [ZH_CN.get(p, p) for p in parts]
        return _fill(tmpl, names)
    return None


def t(text: str, lang: str | None = "zh-CN") -> str:
    """``text`` in ``lang`` (``en`` or ``zh-CN``); English when there is no translation.

    The white space around the text is kept.
    """
    if normalise_lang(lang) == "en":
        return text
    key = text.strip()
    if not key:
        return text
    out = _translate(key)
    return text if out is None else text.replace(key, out, 1)


def has_translation(text: str) -> bool:
    """Whether :func:`t` translates ``text`` (texts of digits and signs need none)."""
    key = text.strip()
    if not re.search(r"[A-Za-z]", key):
        return True
    return _translate(key) is not None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, Component):
        yield from layout_texts(value)


def layout_texts(component: Any) -> list[str]:
    """Every text a layout shows (children, placeholders, titles, menu labels, figure notes).

    Components with the class ``no-i18n`` (names of runs, scenario files) are skipped.
    """
    if isinstance(component, list | tuple | str):
        return list(_strings(component))
    if not isinstance(component, Component):
        return []
    if "no-i18n" in str(getattr(component, "className", "") or ""):
        return []
    out: list[str] = []
    for attr in ("children", "placeholder", "title", "label"):
        value = getattr(component, attr, None)
        if value is not None:
            out.extend(_strings(value))
    figure = getattr(component, "figure", None)
    if figure is not None:
        layout = figure.to_dict().get("layout", {}) if hasattr(figure, "to_dict") else {}
        if isinstance(figure, dict):
            layout = figure.get("layout", {})
        for note in layout.get("annotations", ()) or ():
            if isinstance(note, dict) and isinstance(note.get("text"), str):
                out.extend(_strings(note["text"]))
    options = getattr(component, "options", None)
    if isinstance(options, list):
        for o in options:
            if isinstance(o, dict) and isinstance(o.get("label"), str):
                out.extend(_strings(o["label"]))
    return out


def untranslated(texts: Iterable[str]) -> list[str]:
    """The texts that have no zh-CN translation, sorted, each once."""
    return sorted({x for x in texts if not has_translation(x)})


_SCRIPT = """
(function () {
  var D = %(dict)s, P = %(patterns)s, SEP = " · ";
  var RX = P.map(function (p) { return [new RegExp(p[0]), p[1]]; });
  var lang = "en", seen = new WeakMap(), ATTRS = ["placeholder", "title"];
  function tr(key) {
    if (Object.prototype.hasOwnProperty.call(D, key)) return D[key];
    if (key.indexOf(SEP) >= 0) {
      var parts = key.split(SEP), all = true;
      var out = parts.map(function (p) {
        if (!/[A-Za-z]/.test(p)) return p;
        var x = tr(p.trim()); if (x === null) all = false; return x;
      });
      if (all) return out.join(SEP);
    }
    for (var i = 0; i < RX.length; i++) {
      var m = RX[i][0].exec(key);
      if (!m) continue;
      if (RX[i][1] === "{0}（{1}）" && !D.hasOwnProperty(m[1])) continue;
      return RX[i][1].replace(/\\{(\\d+)\\}/g, function (_, j) {
        var g = m[+j + 1]; return D.hasOwnProperty(g) ? D[g] : g; });
    }
    return null;
  }
  function want(en) {
    if (lang === "en") return en;
    var key = en.trim(); if (!key) return en;
    var x = tr(key); return x === null ? en : en.replace(key, x);
  }
  // Not translated: scripts, styles, what is marked no-i18n (names), plotly's data layers.
  function rejected(el) {
    var n = el.nodeName, c = el.classList;
    if (n === "SCRIPT" || n === "STYLE" || n === "TEXTAREA") return true;
    return !!c && (c.contains("no-i18n") || c.contains("scatterlayer"));
  }
  function skip(el) {
    for (; el && el.nodeType === 1; el = el.parentNode) if (rejected(el)) return true;
    return false;
  }
  function text(node) {
    var rec = seen.get(node);
    if (!rec || node.nodeValue !== rec.shown) { rec = {en: node.nodeValue}; seen.set(node, rec); }
    var w = want(rec.en); rec.shown = w;
    if (node.nodeValue !== w) node.nodeValue = w;
  }
  function attrs(el) {
    for (var i = 0; i < ATTRS.length; i++) {
      var a = ATTRS[i], v = el.getAttribute(a); if (v === null) continue;
      var shown = el.getAttribute("data-i18n-" + a + "-shown");
      if (shown === null || v !== shown) el.setAttribute("data-i18n-" + a, v);
      var w = want(el.getAttribute("data-i18n-" + a));
      el.setAttribute("data-i18n-" + a + "-shown", w);
      if (v !== w) el.setAttribute(a, w);
    }
  }
  var FILTER = {acceptNode: function (n) {
    return n.nodeType === 1 && rejected(n) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
  }};
  function walk(root) {
    if (root.nodeType === 3) { if (!skip(root.parentNode)) text(root); return; }
    if (root.nodeType !== 1 || skip(root)) return;
    attrs(root);
    var w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT,
                                      FILTER);
    for (var n = w.nextNode(); n; n = w.nextNode()) {
      if (n.nodeType === 3) text(n); else attrs(n);
    }
  }
  // In English the page is left alone (switching to zh-CN walks the whole page).
  var obs = new MutationObserver(function (records) {
    if (lang === "en") return;
    records.forEach(function (r) {
      if (r.type === "characterData") { if (!skip(r.target.parentNode)) text(r.target); }
      else if (r.type === "attributes") { if (!skip(r.target)) attrs(r.target); }
      else r.addedNodes.forEach(walk);
    });
  });
  var title = document.title;
  window.twinI18n = {
    set: function (l) {
      lang = (l && l.toLowerCase().indexOf("zh") === 0) ? "zh-CN" : "en";
      document.documentElement.lang = lang;
      document.title = want(title);
      walk(document.body);
      return lang;
    },
    lang: function () { return lang; },
    t: function (s) { return want(s); }
  };
  obs.observe(document.documentElement, {subtree: true, childList: true, characterData: true,
                                         attributes: true, attributeFilter: ATTRS});
})();
"""


def script() -> str:
    """The browser script that translates the page (inlined by the app's page template)."""
    patterns = [[p, tmpl] for p, tmpl in PATTERNS]
    text = _SCRIPT % {
        "dict": json.dumps(ZH_CN, ensure_ascii=False),
        "patterns": json.dumps(patterns, ensure_ascii=False),
    }
    return text.replace("</", "<\\/")
