"""The report in two languages: the catalogue is complete and consistent, every sentence of the
page is a translated message, and the Chinese follows one glossary (the lecture's terms).

The page's language switch itself is tested in the browser (tests/test_report_browser.py).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from outlayer.report import _i18n
from outlayer.report._i18n import (
    GLOSSARY,
    LANGUAGES,
    MESSAGES,
    T,
    Term,
    block,
    catalogue_problems,
    js_messages,
)
from outlayer.report._markup import Markup

SOURCES = Path(_i18n.__file__).resolve().parent


def test_catalogue_has_every_message_in_both_languages_with_the_same_fields() -> None:
    assert catalogue_problems() == []
    assert len(MESSAGES) > 150


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"en": "Only English."}, "no zh text"),
        ({"en": "Both.", "zh": "  "}, "no zh text"),
        ({"en": "{p} at T = {t}", "zh": "T = {t} 时"}, "placeholders differ"),
        ({"en": "cross-entropy", "zh": "cross-entropy"}, "has no Chinese"),
        ({"en": "the error surface", "zh": "损失曲面"}, "lacks '误差曲面'"),
        ({"en": "a one-hot label", "zh": "独热标签，一位有效编码"}, "'一位有效' where the glossary says '独热'"),
    ],
)
def test_catalogue_check_fails_on_each_kind_of_broken_entry(entry: dict[str, str], problem: str) -> None:
    problems = catalogue_problems({"broken.entry": entry})
    assert problems and all(p.startswith("broken.entry: ") for p in problems)
    assert any(problem in p for p in problems), problems


def test_glossary_holds_the_lectures_terms_once_each() -> None:
    by_english = {term.en: term.zh for term in GLOSSARY}
    assert by_english["one-hot"] == "独热"
    assert by_english["cross-entropy"] == "交叉熵"
    assert by_english["error surface"] == "误差曲面"
    assert by_english["mean squared error"] == "均方误差"
    assert by_english["logit"] == "logit"  # the lecture keeps the English word
    assert len(by_english) == len(GLOSSARY)
    for term in GLOSSARY:
        assert term.zh not in term.avoid and isinstance(term, Term)


def test_every_catalogue_key_is_used_and_every_used_key_exists() -> None:
    files = [p for p in SOURCES.glob("*.py") if p.name != "_i18n.py"] + sorted((SOURCES / "assets").glob("*.*"))
    code = "\n".join(p.read_text(encoding="utf-8") for p in files)
    python = set(re.findall(r"""T\(\s*"([\w.-]+)\"""", code)) | set(re.findall(r"\{\{\s*t:([\w.-]+)\s*\}\}", code))
    # the scripts name their js.* entries without the prefix: page.t("key"), data-js-msg, {key: "..."}
    script = set(re.findall(r"""page\.t\(\s*"([\w.-]+)"|data-js-msg="([\w.-]+)"|key: "([\w.-]+)\"""", code))
    used = python | {f"js.{next(k for k in group if k)}" for group in script}
    # keys built from data: T(f"lossname.{loss}"), T(f"references.{ref['key']}"), page.t("class." + name), ...
    prefixes = set(re.findall(r"""T\(f"([\w.-]+)\.\{""", code)) | {"js.class", "rel"}
    used = {k for k in used if not k.endswith(".")}
    unused = [k for k in MESSAGES if k not in used and not any(k.startswith(p + ".") for p in prefixes)]
    assert unused == []
    assert sorted(k for k in used if k not in MESSAGES) == []


def test_message_text_is_escaped_and_parameters_are_filled_per_language() -> None:
    rendered = T("labels.fig_dataset", dataset="<img src=x onerror=alert(1)>").inline()
    assert "<img" not in rendered and "&lt;img src=x onerror=alert(1)&gt;" in rendered
    both = block([T("softmax.at_t", p=Markup('<span class="num">0.5</span>'), t=Markup("<mn>2</mn>"))])
    assert both.count('<span class="num">0.5</span>') == 2  # the same number in both languages
    assert 'lang="en"' in both and 'lang="zh-Hans"' in both and both.count('data-msg="softmax.at_t"') == 2
    with pytest.raises(KeyError, match="needs the parameter 't'"):
        T("softmax.at_t", p=Markup("1")).render("en")
    with pytest.raises(KeyError, match="no message 'no.such.key'"):
        T("no.such.key")


def test_scripts_get_every_js_message_in_both_languages() -> None:
    texts = js_messages()
    assert set(texts) == set(LANGUAGES)
    assert texts["en"].keys() == texts["zh"].keys() == {k[3:] for k in MESSAGES if k.startswith("js.")}
    assert texts["zh"]["class_n"] == "类别 {k}"  # classes are numbered from 1 by the script


class _TextAudit(HTMLParser):
    """Text of the page that is neither a translated message nor language-neutral by design."""

    #: Elements whose text is language-neutral: formulas, numbers, code, the page's own machinery.
    NEUTRAL_TAGS = {"math", "script", "style", "title", "pre", "code", "option"}
    # "data-untranslated" is deliberately not an exemption: no section may pass raw English through
    VOID = {"br", "img", "input", "meta", "link", "hr", "mspace", "col", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: is its text exempt?
        self.untranslated: list[str] = []
        self.section = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "section":
            self.section = attributes.get("id") or ""
        exempt = (
            (self.stack[-1] if self.stack else False)
            or tag in self.NEUTRAL_TAGS
            or "data-msg" in attributes
            or attributes.get("translate") == "no"
            or "num" in (attributes.get("class") or "").split()
        )
        if tag not in self.VOID:
            self.stack.append(exempt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        exempt = self.stack[-1] if self.stack else False
        if not exempt and re.search(r"[A-Za-z\u4e00-\u9fff]{2,}", data):
            self.untranslated.append(f"{self.section}: {data.strip()[:80]!r}")


def test_every_sentence_of_the_page_is_a_translated_message(quick_report: dict[str, Any]) -> None:
    audit = _TextAudit()
    audit.feed(quick_report["index"].read_text(encoding="utf-8"))
    assert audit.untranslated == []


def test_no_section_carries_untranslated_text(quick_report: dict[str, Any]) -> None:
    page = quick_report["index"].read_text(encoding="utf-8")
    assert "data-untranslated" not in page  # the lab's sections are translated too
    sections = re.findall(r'<section id="([\w-]+)">(.*?)</section>', page, re.DOTALL)
    assert {"surface", "training", "beyond"} <= {key for key, _ in sections}
    # every section title is translated, and every lab section has translated paragraphs, tables and captions
    assert all('data-msg="' in re.search(r"<h2>(.*?)</h2>", body, re.DOTALL).group(1) for _, body in sections)
    for key, body in sections:
        if key in ("surface", "training", "beyond"):
            assert body.count('<p lang="zh-Hans" data-msg=') >= 2, key
            assert all('data-msg="' in caption for caption in re.findall(r"<caption>(.*?)</caption>", body, re.DOTALL))
            assert all('lang="zh-Hans"' in caption for caption in re.findall(r"<figcaption>(.*?)</figcaption>", body,
                                                                                re.DOTALL)), key
