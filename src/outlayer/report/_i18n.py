"""The report's two languages: every sentence of the page in English and Simplified Chinese.

One page serves a bilingual class: each translated piece of text is written once per language,
side by side, as ``<p lang="en" data-msg="KEY">`` / ``<p lang="zh-Hans" data-msg="KEY">``, and the
stylesheet shows the one the reader chose (``<html data-lang>``, switched by ``page.js`` without a
reload). Numbers, formulas and figures are the same Markup in both, so they cannot differ.

API (see also :mod:`outlayer.report._page`):

* ``T("key", name=value, ...)`` -> :class:`Msg`, a catalogue entry with its parameters. A
  parameter is Markup (a number from ``Numbers``, a MathML formula: the same in both languages),
  another :class:`Msg` (translated in turn, e.g. a relation word) or plain text (escaped).
* ``msg.inline()`` -> both languages as ``<span>``\\ s; :func:`block` -> both as ``<p>`` (or any tag).
* Entries are plain text (escaped when rendered) with ``{name}`` placeholders; the few that need
  tags are wrapped in :class:`~outlayer.report._markup.Markup` here and trusted.
* Keys under ``js.`` are the strings the page's scripts write (class names, "not reachable", ...);
  they travel to the page as JSON (:func:`js_messages`).

The glossary (:data:`GLOSSARY`) fixes one Chinese term per concept, following the lecture's usage;
tests/test_report_i18n.py fails when an entry lacks a language, when the placeholders of the two
languages differ, or when an English sentence uses a glossary term that its Chinese one lacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from outlayer.report._markup import Markup, attrs, escape

__all__ = [
    "DEFAULT_LANGUAGE",
    "GLOSSARY",
    "HTML_LANG",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "MESSAGES",
    "Joined",
    "Msg",
    "T",
    "Term",
    "block",
    "catalogue_problems",
    "check_language",
    "inline",
    "js_messages",
    "placeholders",
]

#: The page's languages, in the order of the language switch.
LANGUAGES: tuple[str, ...] = ("en", "zh")
#: What ``--lang`` chooses when not given.
DEFAULT_LANGUAGE = "en"
#: The ``lang`` attribute of each language's text (BCP 47; zh-Hans makes browsers pick a Simplified-Chinese font).
HTML_LANG: dict[str, str] = {"en": "en", "zh": "zh-Hans"}
#: Each language's name in itself, for the switch.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "zh": "中文"}
#: What separates two sentences of one paragraph (Chinese sets no space after 。).
_SENTENCE_JOIN: dict[str, str] = {"en": " ", "zh": ""}

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def check_language(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else ValueError naming it."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")
    return lang


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields of a catalogue entry."""
    return set(_FIELD.findall(template))


@dataclass(frozen=True)
class Msg:
    """A catalogue entry and its parameters, rendered per language on demand."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: str) -> Markup:
        """This message in ``lang`` as Markup: literal text escaped, parameters filled in."""
        template = MESSAGES[self.key][lang]
        trusted = isinstance(template, Markup)
        out, end = [], 0
        for match in _FIELD.finditer(template):
            literal = template[end:match.start()]
            out.append(literal if trusted else escape(literal))
            name = match.group(1)
            if name not in self.params:
                raise KeyError(f"message {self.key!r} needs the parameter {name!r}")
            out.append(_param(self.params[name], lang))
            end = match.end()
        out.append(template[end:] if trusted else escape(template[end:]))
        return Markup("".join(out))

    def plain(self, lang: str) -> str:
        """This message in ``lang`` as plain text (tags dropped), for attributes such as alt."""
        import html

        return html.unescape(re.sub(r"<[^>]+>", "", self.render(lang)))

    def inline(self, tag: str = "span", **attributes: Any) -> Markup:
        """Both languages as sibling ``<tag lang=...>`` elements; the stylesheet shows one."""
        return block([self], tag, **attributes)

    def __html__(self) -> Markup:
        return self.inline()


def T(key: str, **params: Any) -> Msg:
    """The catalogue entry ``key`` with ``params``; KeyError at once for an unknown key."""
    if key not in MESSAGES:
        raise KeyError(f"no message {key!r} in the report's catalogue (outlayer/report/_i18n.py)")
    return Msg(key, params)


@dataclass(frozen=True)
class Joined:
    """Items (messages, Markup, text) joined as a list: "a, b, c" in English, "a、b、c" in Chinese."""

    items: tuple[Any, ...]

    def render(self, lang: str) -> Markup:
        return Markup(_LIST_JOIN[lang].join(_param(item, lang) for item in self.items))


_LIST_JOIN: dict[str, str] = {"en": ", ", "zh": "、"}


def _param(value: Any, lang: str) -> Markup:
    if isinstance(value, (Msg, Joined)):
        return value.render(lang)
    return escape(value)


def _render_parts(parts: Iterable[Msg | Markup | str], lang: str) -> Markup:
    rendered = [p.render(lang) if isinstance(p, Msg) else escape(p) for p in parts]
    return Markup(_SENTENCE_JOIN[lang].join(r for r in rendered if r))


def block(parts: Iterable[Msg | Markup | str], tag: str = "p", **attributes: Any) -> Markup:
    """One ``<tag>`` per language holding ``parts`` (messages, Markup, escaped text) in order.

    ``data-msg`` lists the message keys, so a test can find every translated node.
    """
    parts = list(parts)
    keys = " ".join(p.key for p in parts if isinstance(p, Msg))
    if not keys:  # nothing to translate: one language-neutral element
        return Markup(f"<{tag}{attrs(**attributes)}>{_render_parts(parts, LANGUAGES[0])}</{tag}>")
    return Markup("".join(
        f"<{tag}{attrs(**attributes)} lang=\"{HTML_LANG[lang]}\" data-msg=\"{escape(keys)}\">"
        f"{_render_parts(parts, lang)}</{tag}>"
        for lang in LANGUAGES
    ))


def inline(value: Msg | Markup | str) -> Markup:
    """A message as both languages' spans; Markup as is; text escaped."""
    return value.inline() if isinstance(value, Msg) else escape(value)


def translated_attribute(name: str, value: Msg | str, lang: str) -> Markup:
    """``name="..."`` in ``lang`` plus ``data-tr-NAME`` holding every language, which page.js swaps in."""
    if not isinstance(value, Msg):
        return attrs(**{name: value})
    import json

    texts = {code: value.plain(code) for code in LANGUAGES}
    return attrs(**{name: texts[lang], f"data-tr-{name}": json.dumps(texts, ensure_ascii=False)})


#: Entries that are the same in both languages on purpose (a name).
LANGUAGE_NEUTRAL: frozenset[str] = frozenset({"js.opt.adam"})
_CJK = re.compile(r"[\u4e00-\u9fff]")


def catalogue_problems(messages: Mapping[str, Mapping[str, str]] | None = None) -> list[str]:
    """Everything wrong with a catalogue, one line each (empty when it is complete and consistent):
    a language missing or empty, placeholders that differ between the languages, Chinese text
    with no Chinese in it, a glossary term used in English but not in Chinese, an avoided variant."""
    messages = MESSAGES if messages is None else messages
    problems = []
    for key, texts in messages.items():
        missing = [lang for lang in LANGUAGES if not str(texts.get(lang, "")).strip()]
        if missing:
            problems.append(f"{key}: no {', '.join(missing)} text")
            continue
        extra = sorted(set(texts) - set(LANGUAGES))
        if extra:
            problems.append(f"{key}: unknown language {', '.join(extra)}")
        fields = {lang: placeholders(texts[lang]) for lang in LANGUAGES}
        if len({frozenset(f) for f in fields.values()}) > 1:
            problems.append(f"{key}: placeholders differ: {fields}")
        english, chinese = str(texts["en"]), str(texts["zh"])
        if key not in LANGUAGE_NEUTRAL and not _CJK.search(_FIELD.sub("", chinese)):
            problems.append(f"{key}: the Chinese text has no Chinese: {chinese!r}")
        for term in GLOSSARY:
            if re.search(rf"(?<![A-Za-z]){re.escape(term.en)}", english, re.IGNORECASE) and term.zh not in chinese:
                problems.append(f"{key}: English says {term.en!r} but Chinese lacks {term.zh!r}")
            for variant in term.avoid:
                if variant in chinese:
                    problems.append(f"{key}: {variant!r} where the glossary says {term.zh!r}")
    return problems


def js_messages() -> dict[str, dict[str, str]]:
    """The ``js.*`` entries by language (without the prefix), for the page's scripts."""
    return {lang: {key[3:]: str(text[lang]) for key, text in MESSAGES.items() if key.startswith("js.")}
            for lang in LANGUAGES}


# ----------------------------------------------------------------------------------- glossary
@dataclass(frozen=True)
class Term:
    """One concept: its English term (matched case-insensitively, as a word prefix), its Chinese
    term, and Chinese variants the page must not use for it."""

    en: str
    zh: str
    avoid: tuple[str, ...] = ()


#: One Chinese term per concept, as the lecture and its Chinese notes use them. Latin terms the
#: lecture keeps (softmax, sigmoid, logit, Adam) stay Latin in the Chinese text.
GLOSSARY: tuple[Term, ...] = (
    Term("one-hot", "独热", avoid=("一位有效", "单热")),
    Term("cross-entropy", "交叉熵", avoid=("交叉商", "互熵")),
    Term("mean squared error", "均方误差", avoid=("平方误差损失", "均方差")),
    Term("error surface", "误差曲面", avoid=("误差面", "损失曲面", "错误曲面")),
    Term("logit", "logit", avoid=("逻辑值", "对数几率")),
    Term("softmax", "softmax", avoid=("柔性最大",)),
    Term("sigmoid", "sigmoid", avoid=("S型函数",)),
    Term("gradient", "梯度"),
    Term("learning rate", "学习率", avoid=("学习速率",)),
    Term("momentum", "动量"),
    Term("probabilit", "概率", avoid=("几率",)),
    Term("temperature", "温度"),
    Term("label smoothing", "标签平滑", avoid=("标签平滑化",)),
    Term("calibrat", "校准", avoid=("标定",)),
    Term("Jacobian", "雅可比", avoid=("雅克比",)),
    Term("seed", "种子"),
    Term("epoch", "轮"),
    Term("test accuracy", "测试准确率", avoid=("测试精度", "测试正确率")),
    Term("derivation", "推导"),
    Term("worked example", "算例"),
    Term("true class", "正确类别", avoid=("真实类别", "目标类别")),
    Term("hidden layer", "隐藏层", avoid=("隐层",)),
    Term("plateau", "平台"),
)


# ---------------------------------------------------------------------------------- catalogue
#: Every sentence of the page, by key: {"en": ..., "zh": ...}. Plain text is escaped when
#: rendered; a Markup entry is trusted HTML. {name} fields are filled by the section builders.
MESSAGES: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------------ page
    "page.title": {
        "en": "The output layer of classification networks",
        "zh": "分类网络的输出层",
    },
    "page.subtitle": {
        "en": "Every number on this page was computed by outlayer {version} in this run ({seeds} seeds{quick}) "
              "and is stored in the data/ folder. It follows Hung-yi Lee's lecture on classification (ML 2021).",
        "zh": "本页的每个数字都由 outlayer {version} 在这次运行中算出（{seeds} 个随机种子{quick}），并保存在 data/ "
              "文件夹中。内容依据李宏毅老师《机器学习 2021》课程中的“分类”（Classification）一讲。",
    },
    "page.quick": {"en": ", quick mode", "zh": "，快速模式"},
    "page.permalink": {"en": "link to this figure", "zh": "本图的链接"},
    "page.sections": {"en": "sections", "zh": "章节"},
    # ------------------------------------------------------------------ notation
    "notation.title": {"en": "Notation", "zh": "记号"},
    "notation.intro": {
        "en": "One notation on the whole page, in the explorers and in outlayer explain; the right column gives the "
              "lecture's symbol for the same thing. Classes are numbered from 1 wherever you see them.",
        "zh": "整页、两个交互演示以及 outlayer explain 命令都用同一套记号；最右栏是课程中对应的符号。"
              "凡是你看得到的地方，类别都从 1 开始编号。",
    },
    "notation.caption": {"en": "Symbols", "zh": "符号对照"},
    "notation.symbol": {"en": "symbol", "zh": "符号"},
    "notation.meaning": {"en": "meaning", "zh": "含义"},
    "notation.lecture": {"en": "in the lecture", "zh": "课程中"},
    "notation.z": {
        "en": "logits: the raw scores of the last linear layer, one per class, any real numbers",
        "zh": "logit：最后一个线性层给每个类别的原始分数，可以是任意实数",
    },
    "notation.p": {
        "en": "probabilities: each between 0 and 1, summing to 1",
        "zh": "概率：每个都在 0 与 1 之间，总和为 1",
    },
    "notation.y": {
        "en": "one-hot label: 1 for the true class, 0 for the others",
        "zh": "独热标签：正确类别为 1，其余为 0",
    },
    "notation.t": {
        "en": "the true class and the number of classes (classes 1 to K)",
        "zh": "正确类别与类别数（类别 1 到 K）",
    },
    "notation.ce": {
        "en": "cross-entropy of one sample (natural log)",
        "zh": "单个样本的交叉熵（自然对数）",
    },
    "notation.mse": {
        "en": "mean squared error on the probabilities, summed over the classes (no 1/K, no 1/2)",
        "zh": "概率上的均方误差，对各类别求和（不除以 K，也不乘 1/2）",
    },
    # ------------------------------------------------------------------ shared words
    "col.class": {"en": "class", "zh": "类别"},
    "col.dataset": {"en": "dataset", "zh": "数据集"},
    "col.output": {"en": "output", "zh": "输出方式"},
    "col.test_accuracy": {"en": "test accuracy", "zh": "测试准确率"},
    "col.package": {"en": "package", "zh": "软件包"},
    "col.version": {"en": "version", "zh": "版本"},
    "table.accuracy_caption": {
        "en": "Test accuracy, mean over seeds [95% interval]",
        "zh": "测试准确率：各随机种子的平均值 [95% 区间]",
    },
    "lossname.ce": {"en": "cross-entropy (CE)", "zh": "交叉熵（CE）"},
    "lossname.mse": {"en": "MSE on probabilities", "zh": "概率上的均方误差（MSE）"},
    "lossname.mse-logits": {"en": "square loss on logits", "zh": "logit 上的平方损失"},
    "lossname.ce-smooth": {"en": "CE + label smoothing", "zh": "交叉熵 + 标签平滑"},
    "lossname.scalar": {"en": "one scalar output", "zh": "单一标量输出"},
    "init.gentle": {"en": "gentle", "zh": "温和"},
    "init.confident": {"en": "confident", "zh": "自信"},
    "setup.phrase": {
        "en": "{dataset} ({classes} classes, {test} test samples), {seeds} seeds, {epochs} epochs of {optimizer} "
              "from a {init} start",
        "zh": "{dataset} 数据集（{classes} 个类别，{test} 个测试样本；{seeds} 个随机种子；{init}初始化，"
              "用 {optimizer} 训练 {epochs} 轮）",
    },
    "rel.clearly_above": {"en": "{a} is clearly above {b}", "zh": "{a}明显高于{b}"},
    "rel.clearly_below": {"en": "{a} is clearly below {b}", "zh": "{a}明显低于{b}"},
    "rel.within": {
        "en": "{a} is not clearly different from {b}",
        "zh": "{a}与{b}没有明显差别",
    },
    "rel.above_one_seed": {
        "en": "{a} is above {b} (one seed, no interval)",
        "zh": "{a}高于{b}（只有一个随机种子，没有区间）",
    },
    "rel.below_one_seed": {
        "en": "{a} is below {b} (one seed, no interval)",
        "zh": "{a}低于{b}（只有一个随机种子，没有区间）",
    },
    "rel.equal": {"en": "{a} is equal to {b}", "zh": "{a}与{b}相等"},
    "rel.not_comparable": {
        "en": "{a} and {b} are not comparable (a run diverged)",
        "zh": "{a}与{b}无法比较（有一次运行发散了）",
    },
    # ------------------------------------------------------------------ section 1
    "labels.title": {"en": "Labels: class numbers vs one-hot", "zh": "标签：类别编号与独热编码"},
    "labels.scalar_name": {"en": "the scalar output", "zh": "单一输出"},
    "labels.onehot_name": {"en": "the one-hot output", "zh": "独热输出"},
    "labels.intro": {
        "en": "A classifier can give one output and read the class off its value (rounded to the nearest class "
              "number), or give one output per class and learn one-hot targets through softmax and cross-entropy.",
        "zh": "分类器可以只输出一个数，再把它四舍五入到最近的类别编号；也可以每个类别各输出一个数，"
              "经过 softmax 和交叉熵去学习独热编码的目标。",
    },
    "labels.result": {
        "en": "On {setup}, the single output reaches {scalar} test accuracy and the one-hot output {onehot}: "
              "{relation}.",
        "zh": "在 {setup} 上，单一输出的测试准确率为 {scalar}，独热输出为 {onehot}：{relation}。",
    },
    "labels.order": {
        "en": "Class numbers tell the network that class 2 lies between classes 1 and 3, an order and a distance "
              "that names of things do not have.",
        "zh": "类别编号等于告诉网络：类别 2 位于类别 1 和类别 3 之间。可是事物的名称之间并没有这样的顺序和距离。",
    },
    "labels.exception": {
        "en": "The exception is a label that really is a position on a line.",
        "zh": "例外是标签本身就代表数轴上的一个位置。",
    },
    "labels.ordinal": {
        "en": "On the ordinal set, whose {classes} classes are consecutive intervals of one hidden number, the single "
              "output reaches {scalar} against {onehot} for one-hot: there {relation}.",
        "zh": "有序数据集的 {classes} 个类别是同一个隐藏数值的相邻区间；在这里单一输出达到 {scalar}，"
              "独热输出为 {onehot}：{relation}。",
    },
    "labels.other_exceptions": {
        "en": "The lecture names two more cases that need no one-hot vector: class numbers that are only "
              "identifiers and never enter a computation, and very many classes, where one-hot vectors become huge "
              "and sparse.",
        "zh": "课程还提到另外两种不必使用独热向量的情况：只作标识、从不参与运算的类别编号，"
              "以及类别极多、独热向量变得又大又稀疏的时候。",
    },
    "labels.fig_dataset": {
        "en": "Accuracy per epoch on {dataset}: scalar vs one-hot.",
        "zh": "{dataset} 上每一轮的准确率：单一输出与独热输出。",
    },
    "labels.fig_ordinal": {
        "en": "Accuracy per epoch on the ordinal set: scalar vs one-hot.",
        "zh": "有序数据集上每一轮的准确率：单一输出与独热输出。",
    },
    # ------------------------------------------------------------------ section 2
    "softmax.title": {"en": "The network and softmax", "zh": "网络与 softmax"},
    "softmax.intro": {
        "en": "The network's last layer is linear: it turns the hidden features into one raw score per class, the "
              "logit {zk}, which can be any real number. In the worked example the logits of {classes} are "
              "z = [{logits}].",
        "zh": "网络的最后一层是线性层：它把隐藏层的特征变成每个类别一个原始分数，也就是 logit {zk}，"
              "可以是任意实数。在算例中，{classes}的 logit 为 z = [{logits}]。",
    },
    "softmax.exp": {
        "en": "Softmax exponentiates each logit, which makes it positive, and divides by the sum of the "
              "exponentials ({sum}), so the outputs are probabilities that add up to 1.",
        "zh": "softmax 先对每个 logit 取指数（结果一定为正），再除以所有指数之和（{sum}），"
              "所以输出是一组加起来等于 1 的概率。",
    },
    "softmax.table_caption": {"en": "The worked example step by step", "zh": "算例的逐步计算"},
    "softmax.temperature": {
        "en": "A temperature T divides the logits before softmax: {formula}.",
        "zh": "在 softmax 之前，先把 logit 除以温度 T：{formula}。",
    },
    "softmax.temperature_values": {
        "en": "The probability of {name} is {values}.",
        "zh": "{name}的概率：{values}。",
    },
    "softmax.at_t": {"en": "{p} at T = {t}", "zh": "T = {t} 时为 {p}"},
    "softmax.sharpens": {
        "en": "A low temperature sharpens the distribution towards the largest logit, and a high one flattens it.",
        "zh": "温度低时分布集中到最大的 logit 上，温度高时分布变得平坦。",
    },
    "softmax.fig_temperature": {
        "en": "Softmax of the worked example at three temperatures.",
        "zh": "算例在三种温度下的 softmax。",
    },
    "softmax.two": {
        "en": "With two classes softmax needs only the difference of the two logits, and it is the sigmoid of that "
              "difference.",
        "zh": "只有两个类别时，softmax 只取决于两个 logit 之差，而且恰好是这个差的 sigmoid。",
    },
    "softmax.two_values": {
        "en": "For logits [{z1}, {z2}], softmax gives {p} for the first class and the sigmoid of the difference "
              "gives {s}: they differ by {d}.",
        "zh": "对 logit [{z1}, {z2}]，softmax 给类别 1 的概率为 {p}，两者之差的 sigmoid 为 {s}，相差 {d}。",
    },
    "deriv.softmax.title": {"en": "Derivation: softmax and its Jacobian", "zh": "推导：softmax 及其雅可比矩阵"},
    "deriv.softmax.definition": {
        "en": "Definition: exponentiate, then divide by the sum S.",
        "zh": "定义：先取指数，再除以总和 S。",
    },
    "deriv.softmax.worked": {
        "en": "The worked example's class 1 ({name}), with this run's numbers.",
        "zh": "算例中类别 1（{name}）的计算，数字取自这次运行。",
    },
    "deriv.softmax.quotient": {
        "en": "Quotient rule: S depends on every logit, {ds}; {delta} is 1 when i = j and 0 otherwise.",
        "zh": "用商的求导法则：S 依赖每一个 logit，{ds}；i = j 时 {delta} 为 1，否则为 0。",
    },
    "deriv.softmax.jacobian": {
        "en": "The same as a matrix, the Jacobian. Every entry carries a factor {pi}: where softmax saturates (one "
              "probability near 1, the rest near 0) all entries are near 0, so softmax itself is nearly flat there.",
        "zh": "写成矩阵就是雅可比矩阵。每个元素都带有因子 {pi}：softmax 饱和时（一个概率接近 1，其余接近 0），"
              "所有元素都接近 0，softmax 本身在那里几乎是平的。",
    },
    "deriv.sigmoid.title": {"en": "Derivation: two classes, softmax = sigmoid", "zh": "推导：两个类别时 softmax = sigmoid"},
    "deriv.sigmoid.start": {"en": "Softmax of class 1 out of two.", "zh": "两个类别中类别 1 的 softmax。"},
    "deriv.sigmoid.divide": {
        "en": "Divide the numerator and the denominator by {ez}.",
        "zh": "分子和分母同除以 {ez}。",
    },
    "deriv.sigmoid.result": {
        "en": "The sigmoid of the difference: a 2-class softmax layer is one sigmoid output, and adding the same "
              "number to both logits changes nothing.",
        "zh": "这就是两者之差的 sigmoid：两类的 softmax 输出层等于一个 sigmoid 输出；两个 logit 同时加上同一个数，"
              "结果不变。",
    },
    "deriv.sigmoid.worked": {
        "en": "With this run's two-class logits: the same number as softmax's p₁ above.",
        "zh": "代入这次运行的两类 logit：和上面 softmax 的 p₁ 是同一个数。",
    },
    # ------------------------------------------------------------------ section 3
    "loss.title": {"en": "The loss: cross-entropy vs MSE", "zh": "损失函数：交叉熵与均方误差"},
    "loss.onehot": {
        "en": "Take {name} as the true class, one-hot y = [{y}].",
        "zh": "以{name}为正确类别，其独热向量为 y = [{y}]。",
    },
    "loss.ce": {
        "en": "Cross-entropy is minus the log of the probability given to the true class: −ln {p} = {ce}.",
        "zh": "交叉熵是正确类别所得概率的负对数：−ln {p} = {ce}。",
    },
    "loss.mse": {
        "en": "MSE, summed over the classes of the probability vector, is {mse}:",
        "zh": "均方误差（MSE）对概率向量的各个类别求和，结果为 {mse}：",
    },
    "loss.table_caption": {
        "en": "True class {name}: CE = {ce}, MSE = {mse}",
        "zh": "正确类别为{name}：CE = {ce}，MSE = {mse}",
    },
    "loss.gradients": {
        "en": "The gradient of CE with respect to the logits is p minus the one-hot target ({ce} on the {name} logit); "
              "MSE's gradient passes through the softmax, so every component is multiplied by a probability ({mse} "
              "on the same logit).",
        "zh": "交叉熵对 logit 的梯度就是 p 减去独热目标（{name}的 logit 上为 {ce}）；均方误差的梯度要经过 softmax，"
              "每个分量都乘上一个概率（同一个 logit 上为 {mse}）。",
    },
    "loss.wrong": {
        "en": "If the true class were {name}, which gets p = {p}, CE would be {ce} and its gradient on the {name} "
              "logit {gce}, {ratio} times MSE's {gmse} (a step against the gradient raises that logit): the more "
              "confidently wrong the model, the more the softmax factor shrinks MSE's push.",
        "zh": "如果正确类别是{name}（它只得到 p = {p}），交叉熵为 {ce}，在{name}的 logit 上的梯度为 {gce}，"
              "是均方误差梯度 {gmse} 的 {ratio} 倍（沿梯度的反方向走一步会提高这个 logit）："
              "模型错得越自信，softmax 因子就把均方误差的推动压得越小。",
    },
    "loss.fig_gradients": {
        "en": "Gradients of CE and MSE with respect to each logit, for two choices of the true class.",
        "zh": "两种正确类别下，交叉熵与均方误差对每个 logit 的梯度。",
    },
    "deriv.ce.title": {"en": "Derivation: the gradient of cross-entropy is p − y", "zh": "推导：交叉熵的梯度是 p − y"},
    "deriv.ce.start": {"en": "Only the true class t has {yt}.", "zh": "只有正确类别 t 满足 {yt}。"},
    "deriv.ce.chain": {
        "en": "Chain rule through softmax, with the Jacobian derived in section 2.",
        "zh": "经过 softmax 的链式法则，雅可比矩阵见第 2 节的推导。",
    },
    "deriv.ce.result": {
        "en": "The {inv} of the log cancels the factor {pt} of the softmax: the gradient is the plain error p − y, "
              "largest when the model is confidently wrong.",
        "zh": "对数带来的 {inv} 正好抵消 softmax 的因子 {pt}：梯度就是误差 p − y 本身，模型错得越自信，梯度越大。",
    },
    "deriv.worked_column": {
        "en": "The worked example with true class {name}: the {column} column of the table.",
        "zh": "算例（正确类别为{name}）：即表中 {column} 一列。",
    },
    "deriv.mse.title": {
        "en": "Derivation: the gradient of MSE is Jᵀ 2(p − y) = p ⊙ (g − ⟨g, p⟩)",
        "zh": "推导：均方误差的梯度 Jᵀ 2(p − y) = p ⊙ (g − ⟨g, p⟩)",
    },
    "deriv.mse.start": {"en": "The gradient with respect to the probabilities.", "zh": "先对概率求梯度。"},
    "deriv.mse.chain": {
        "en": "Chain rule through softmax (its Jacobian J is symmetric).",
        "zh": "经过 softmax 的链式法则（其雅可比矩阵 J 是对称的）。",
    },
    "deriv.mse.result": {
        "en": "Every component carries the factor {pj}. On the true class's logit a confidently wrong model "
              "({pt} near 0) gets almost no push: nothing cancels the softmax's flatness.",
        "zh": "每个分量都带有因子 {pj}。在正确类别的 logit 上，错得很自信的模型（{pt} 接近 0）几乎得不到推动："
              "没有任何东西抵消 softmax 的平坦。",
    },
    "deriv.mse.worked": {
        "en": "The table beside, true class {name}: its {column} column. The factor p = {p} of the true class "
              "scales down the push on its logit.",
        "zh": "旁边的表（正确类别为{name}）：即 {column} 一列。正确类别的因子 p = {p} 把对其 logit 的推动缩小了。",
    },
    # ------------------------------------------------------------------ explorer (explorer.html)
    "explorer.title": {"en": "Explorer: move the logits", "zh": "交互演示：拖动 logit"},
    "explorer.intro": {
        "en": "Drag a slider or type a logit between −20 and 20. Every number below is recomputed in your browser "
              "with the same stable formulas as the library, and the page's address keeps the setting, so you can "
              "share it.",
        "zh": "拖动滑块，或直接输入 −20 到 20 之间的 logit。下面的每个数字都在你的浏览器里用与程序库相同的"
              "稳定公式重新计算；网址会记住当前设置，可以直接分享。",
    },
    "explorer.classes": {"en": "classes", "zh": "类别数"},
    "explorer.target": {"en": "true class", "zh": "正确类别"},
    "explorer.temperature": {"en": "temperature T", "zh": "温度 T"},
    "explorer.reset": {"en": "worked example", "zh": "回到算例"},
    "explorer.wrong": {"en": "confidently wrong", "zh": "错得很自信"},
    "explorer.link": {"en": "link to this setting", "zh": "本设置的链接"},
    "explorer.col_logit": {"en": "logit z (drag or type)", "zh": "logit z（拖动或输入）"},
    "explorer.col_p": {"en": "probability p = softmax(z / T)", "zh": "概率 p = softmax(z / T)"},
    "explorer.sum": {"en": "sum of p", "zh": "p 的总和"},
    "explorer.two_class": {
        "en": "Two classes: the sigmoid of the difference equals p₁",
        "zh": "两个类别：两者之差的 sigmoid 等于 p₁",
    },
    "explorer.bars": {
        "en": "Gradient bars are logarithmic: each step of the scale is a factor of 10, from 10⁻¹² to 10¹. Try the confidently wrong setting: MSE's gradient on the true class "
              "shrinks by many orders of magnitude while cross-entropy's stays near −1.",
        "zh": "梯度条按对数刻度画：每一格相差 10 倍，从 10⁻¹² 到 10¹。试试“错得很自信”："
              "均方误差在正确类别上的梯度缩小了好几个数量级，交叉熵的梯度仍接近 −1。",
    },
    "explorer.note": {
        "en": "Max-shifted softmax and log-sum-exp, as in the library; MSE is summed over the classes of the softmax "
              "probabilities.",
        "zh": "和程序库一样先减去最大值再算 softmax，并用 log-sum-exp；均方误差对 softmax 概率的各个类别求和。",
    },
    # ------------------------------------------------------------------ interactive surface (surface.html)
    "surface.title": {"en": "The error surface", "zh": "误差曲面"},
    "training.title": {"en": "Training: CE vs MSE", "zh": "训练：交叉熵与均方误差"},
    "beyond.title": {
        "en": "Beyond the lecture: square loss on logits, label smoothing, calibration",
        "zh": "课程之外：logit 上的平方损失、标签平滑与校准",
    },
    "isurface.title": {"en": "The error surface, interactive", "zh": "可交互的误差曲面"},
    "isurface.intro": {
        "en": "The lecture's picture: 3 classes, class 1 is the true class, the third logit z₃ is held fixed (−∞ in "
              "the lecture), and the loss is drawn over (z₁, z₂). Click or tap either surface to start gradient "
              "descent there; both losses descend from the same start with the same optimiser and learning rate.",
        "zh": "课程里的那张图：3 个类别，类别 1 是正确类别，第三个 logit z₃ 固定不动（课程中为 −∞），"
              "在 (z₁, z₂) 平面上画出损失。点击或轻触任一曲面，就从那一点开始梯度下降；两种损失从同一起点出发，"
              "使用同一个优化器和学习率。",
    },
    "isurface.held_out": {"en": "held-out logit z₃", "zh": "固定的 logit z₃"},
    "isurface.minus_inf": {"en": "−∞ (the lecture)", "zh": "−∞（课程设定）"},
    "isurface.optimizer": {"en": "optimiser", "zh": "优化器"},
    "isurface.lr": {"en": "learning rate", "zh": "学习率"},
    "isurface.start": {"en": "start (z₁, z₂)", "zh": "起点 (z₁, z₂)"},
    "isurface.replay": {"en": "replay", "zh": "重新播放"},
    "isurface.reset": {"en": "lecture's corner", "zh": "回到课程的角落"},
    "isurface.ce": {"en": "cross-entropy (CE)", "zh": "交叉熵（CE）"},
    "isurface.mse": {"en": "mean squared error (MSE)", "zh": "均方误差（MSE）"},
    "isurface.loss_start": {"en": "loss at the start", "zh": "起点的损失"},
    "isurface.p_start": {"en": "p₁ at the start", "zh": "起点的 p₁"},
    "isurface.grad_start": {"en": "gradient norm at the start", "zh": "起点的梯度范数"},
    "isurface.steps": {"en": "steps to p₁ ≥ 0.9", "zh": "到 p₁ ≥ 0.9 的步数"},
    "isurface.p_end": {"en": "p₁ after the last step", "zh": "最后一步后的 p₁"},
    "isurface.legend": {
        "en": "Colour: the loss (dark low, bright high) with contour lines; white line: the descent path; dashed "
              "line: p₁ = 0.9; ring: the start.",
        "zh": "颜色表示损失（暗处低、亮处高），并画有等高线；白线：下降路径；虚线：p₁ = 0.9；圆圈：起点。",
    },
    "isurface.note": {
        "en": "Computed in your browser from the library's formulas (the explorer's softmax, CE and MSE gradients) and "
              "optimisers (plain gradient descent, momentum and Adam as in outlayer.optim); a test checks the paths "
              "against outlayer.surface.descent_path.",
        "zh": "在浏览器中用程序库的公式（与交互演示相同的 softmax、交叉熵与均方误差梯度）和优化器"
              "（梯度下降、动量与 Adam，同 outlayer.optim）计算；有测试把这些路径与 outlayer.surface.descent_path 对照。",
    },
    "deriv.surface.title": {
        "en": "Derivation: the lecture's figure in closed form",
        "zh": "推导：课程那张图的闭式解",
    },
    "deriv.surface.p": {
        "en": "With {z3} the third class gets probability 0, and class 1 against class 2 is a two-class softmax.",
        "zh": "当 {z3} 时，第三类的概率为 0，类别 1 对类别 2 就是两类的 softmax。",
    },
    "deriv.surface.ce": {
        "en": "Cross-entropy is a soft ramp: in the wrong corner its gradient norm tends to √2, not to 0.",
        "zh": "交叉熵像一道平滑的斜坡：在错误的角落，梯度范数趋于 √2，而不是 0。",
    },
    "deriv.surface.mse": {
        "en": "MSE carries the extra factor {p1}: its gradient vanishes in the wrong corner, the plateau of the "
              "lecture's figure. Compare with the gradient norms at the start above.",
        "zh": "均方误差多了因子 {p1}：在错误的角落梯度消失，这就是课程图中的平台。可与上面起点的梯度范数对照。",
    },
    # ------------------------------------------------------------------ section 7
    "reproduce.title": {"en": "Reproduce", "zh": "复现"},
    "reproduce.time": {
        "en": "This page took {time} s to compute on {workers} worker processes.",
        "zh": "本页在 {workers} 个工作进程上计算，用时 {time} 秒。",
    },
    "reproduce.data": {
        "en": Markup('Every number on it is in the <a href="data/">data/</a> folder as JSON and CSV; the same command '
                     "gives identical data files (all but data/run.json, which holds the command and the run time)."),
        "zh": Markup('页面上的每个数字都以 JSON 和 CSV 格式保存在 <a href="data/">data/</a> 文件夹中；'
                     "同样的命令会得到完全相同的数据文件（data/run.json 除外，它记录命令和运行时间）。"),
    },
    "reproduce.seeds": {
        "en": "Training seeds: {seeds} (data split seed {split}).",
        "zh": "训练用的随机种子：{seeds}（数据划分的种子为 {split}）。",
    },
    "reproduce.command": {"en": "The command that wrote this page:", "zh": "生成本页的命令："},
    "reproduce.lang": {
        "en": "Add {flag} to open the page in Chinese; the buttons at the top switch the language at any time.",
        "zh": "加上 {flag} 可让页面默认以中文打开；随时都可以用页面顶部的按钮切换语言。",
    },
    "reproduce.versions": {"en": "Versions", "zh": "版本"},
    # ------------------------------------------------------------------ section 8
    "references.title": {"en": "Sources", "zh": "参考资料"},
    "references.intro": {
        "en": "What the sections reproduce or build on. The links are plain links: the page itself loads nothing "
              "from them.",
        "zh": "各节复现或依据的资料。这些只是普通链接，页面本身不会从中加载任何内容。",
    },
    "references.lee2021": {
        "en": "Sections 1 to 4 follow this lecture: one-hot labels, softmax, cross-entropy against MSE, and the "
              "error surface of 3 classes (course page and slides).",
        "zh": "第 1 至 4 节遵循这一讲：独热编码的标签、softmax、交叉熵与均方误差的比较，以及三个类别的误差曲面"
              "（课程网页与课件）。",
    },
    "references.nielsen2015": {
        "en": "Why the quadratic cost learns slowly when a sigmoid output saturates, and how cross-entropy cancels "
              "the slope of the sigmoid: the one-neuron version of section 3's derivations.",
        "zh": "说明 sigmoid 输出饱和时二次代价为何学得慢，以及交叉熵如何抵消 sigmoid 的斜率：即第 3 节推导的单神经元版本。",
    },
    "references.golik2013": {
        "en": "From a random start, squared-error training ends in a worse optimum than cross-entropy: the "
              "observation of section 5, on speech and handwriting recognition.",
        "zh": "从随机初始化出发，平方误差训练会停在比交叉熵更差的最优点：这是第 5 节的现象在语音与手写识别上的版本。",
    },
    "references.kingma2015": {
        "en": "The adaptive optimiser of sections 4 and 5.",
        "zh": "第 4、5 节使用的自适应优化器。",
    },
    "references.guo2017": {
        "en": "Calibration, the expected calibration error and reliability diagrams (section 6).",
        "zh": "校准、期望校准误差与可靠性图（第 6 节）。",
    },
    "references.muller2019": {
        "en": "Label smoothing and its effect on calibration (section 6).",
        "zh": "标签平滑及其对校准的影响（第 6 节）。",
    },
    "references.hui2021": {
        "en": "Square loss on the logits, without softmax, as a competitor of cross-entropy (section 6).",
        "zh": "不经 softmax、直接作用在 logit 上的平方损失，作为交叉熵之外的另一种选择（第 6 节）。",
    },
    # ------------------------------------------------------------------ strings the scripts write (js.*)
    "js.class.cat": {"en": "cat", "zh": "猫"},
    "js.class.dog": {"en": "dog", "zh": "狗"},
    "js.class.rabbit": {"en": "rabbit", "zh": "兔子"},
    "js.class_n": {"en": "class {k}", "zh": "类别 {k}"},
    "js.logit_of": {"en": "logit of {name}", "zh": "{name}的 logit"},
    "js.opt.sgd": {"en": "gradient descent", "zh": "梯度下降"},
    "js.opt.momentum": {"en": "momentum 0.9", "zh": "动量 0.9"},
    "js.opt.adam": {"en": "Adam", "zh": "Adam"},
    "js.steps": {"en": "{steps} steps", "zh": "{steps} 步"},
    "js.not_reached": {"en": "not reached in {steps} steps", "zh": "{steps} 步内未达到"},
    "js.diverged": {"en": "diverged after {steps} steps", "zh": "{steps} 步后发散"},
    "js.surface_of": {"en": "error surface of {loss}; click to start there", "zh": "{loss}的误差曲面；点击即从该点出发"},
}

from outlayer.report._i18n_experiments import EXPERIMENT_MESSAGES  # noqa: E402 (the lab experiments' entries)

MESSAGES.update(EXPERIMENT_MESSAGES)
