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
        "en": "Accuracy per epoch on {dataset}: the scalar output against the one-hot output with CE; solid: test "
              "(band: 95% interval over seeds), dashed: training.",
        "zh": "{dataset} 上每一轮的准确率：单一输出（scalar）与使用交叉熵的独热输出（CE）；实线：测试集"
              "（阴影为各随机种子的 95% 区间），虚线：训练集。",
    },
    "labels.fig_ordinal": {
        "en": "Accuracy per epoch on the ordinal set: the scalar output against the one-hot output with CE; solid: "
              "test, dashed: training.",
        "zh": "有序数据集上每一轮的准确率：单一输出（scalar）与使用交叉熵的独热输出（CE）；实线：测试集，虚线：训练集。",
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
        "en": "Softmax of the worked example at three temperatures T; the classes k = 1, 2, 3 are {classes}.",
        "zh": "算例在三种温度 T 下的 softmax；类别 k = 1、2、3 依次为{classes}。",
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
        "en": "Gradients ∂L/∂zₖ of CE and MSE with respect to each logit (k = 1, 2, 3: {classes}), with the true class "
              "{first} and then {second}, on one scale.",
        "zh": "交叉熵与均方误差对每个 logit 的梯度 ∂L/∂zₖ（k = 1、2、3 依次为{classes}），正确类别依次为{first}和"
              "{second}，两幅图刻度相同。",
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
        "en": "Gradient bars are logarithmic: each step of the scale is a factor of 10, from 10⁻¹² to 10¹. "
              "Try the confidently wrong setting: MSE's gradient on the true class shrinks by many orders of magnitude "
              "while cross-entropy's stays near −1.",
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
    # ------------------------------------------------------------------ words of the lab sections
    "word.yes": {"en": "yes", "zh": "是"},
    "word.no": {"en": "no", "zh": "否"},
    "word.none": {"en": "none", "zh": "无"},
    "short.ce": {"en": "CE", "zh": "交叉熵"},
    "short.mse": {"en": "MSE", "zh": "均方误差"},
    "col.loss": {"en": "loss", "zh": "损失函数"},
    "col.cell": {"en": "start, optimiser", "zh": "初始化、优化器"},
    "col.lr": {"en": "learning rate", "zh": "学习率"},
    "col.test_se": {"en": "test-set SE", "zh": "测试集标准误"},
    "col.test_nll": {"en": "test NLL", "zh": "测试集 NLL"},
    "col.epochs_to": {"en": "epochs to {target} test accuracy", "zh": "测试准确率达到 {target} 所需轮数"},
    "col.failed": {"en": "collapsed or diverged runs", "zh": "坍缩或发散的运行"},
    "col.ece": {"en": "ECE", "zh": "期望校准误差 ECE"},
    "col.ece_scaled": {"en": "ECE after temperature scaling", "zh": "温度缩放后的 ECE"},
    "stat.bootstrap": {"en": "(bootstrap {low}, {high})", "zh": "（自助法 {low}, {high}）"},
    # ------------------------------------------------------------------ section 4
    "surface.setup": {
        "en": "The lecture's picture: {classes} classes, class {t} is the true class, {fixed} is held fixed{held}, "
              "and the loss is drawn over ({u}, {v}) in [{lo}, {hi}]².",
        "zh": "课程里的那张图：{classes} 个类别，类别 {t} 是正确类别，{fixed} 固定不动{held}，"
              "在 [{lo}, {hi}]² 范围内的 ({u}, {v}) 平面上画出损失。",
    },
    "surface.held_out_note": {
        "en": " (that class cannot occur: its probability is exactly 0, and label smoothing gives it no mass)",
        "zh": "（这个类别不可能出现：它的概率恰好为 0，标签平滑也不分给它任何概率）",
    },
    "surface.corner": {
        "en": "In the wrong-but-confident corner ({u}, {v}) = {start} the true class has probability {p}; the "
              "gradient of CE there has norm {ce} and that of MSE {mse}, {ratio} times smaller: MSE's surface is flat "
              "exactly where the model is most wrong.",
        "zh": "在“错得很自信”的角落 ({u}, {v}) = {start}，正确类别的概率只有 {p}；那里交叉熵梯度的范数为 {ce}，"
              "均方误差的只有 {mse}，小了 {ratio} 倍：均方误差的曲面恰恰在模型错得最厉害的地方是平的。",
    },
    "surface.figure_names": {
        "en": "In the figures, MSE(z) is the square loss on logits and CE+LS is cross-entropy with label smoothing "
              "(both in section 6).",
        "zh": "图中的 MSE(z) 指 logit 上的平方损失，CE+LS 指带标签平滑的交叉熵（两者都见第 6 节）。",
    },
    "surface.descent": {
        "en": "Descent by {optimizer} (learning rate {lr}) from that corner until the true class has {p} ≥ {goal}: CE "
              "{ce}, MSE {mse}.",
        "zh": "用{optimizer}（学习率 {lr}）从这个角落出发，直到正确类别的 {p} ≥ {goal}：交叉熵{ce}，均方误差{mse}。",
    },
    "surface.needs": {"en": "needs {steps} steps", "zh": "需要 {steps} 步"},
    "surface.not_within": {"en": "does not get there within {steps} steps", "zh": "在 {steps} 步内到不了"},
    "surface.extrapolated": {
        "en": "At the pace it keeps on the plateau, MSE would need about {steps} steps.",
        "zh": "按它在平台上的速度，均方误差大约需要 {steps} 步。",
    },
    "surface.reach_rule": {
        "en": "A goal counts only where it can be reached: each loss's lowest point on the whole plane is searched, "
              "and a path that passes the goal on its way elsewhere (overshooting) or diverges is not counted.",
        "zh": "只有能够达到的目标才算数：我们在整个平面上搜索每种损失的最低点；路径若只是在冲过头时经过目标，"
              "或者发散了，都不计入。",
    },
    "surface.unreachable": {
        "en": "The {name} is lowest at {point}, where p = {p} < {goal}: its goal is unreachable, so it has no step "
              "count.",
        "zh": "{name}的最低点在 {point}，那里 p = {p} < {goal}：它达不到目标，因此没有步数。",
    },
    "surface.overshoots": {
        "en": "Some of its paths cross the goal while overshooting.",
        "zh": "它的一些路径在冲过头时越过了目标。",
    },
    "surface.smooth_top": {
        "en": "{name} tops out at p = {p} (its smoothed target), above the goal of {goal}.",
        "zh": "{name}最高只能到 p = {p}（它平滑后的目标），仍高于要求的 {goal}。",
    },
    "surface.constant": {
        "en": "Every loss is shown minus its constant part, the terms that no swept logit changes: for the {names} "
              "that is the held-out logit's square, {value} here.",
        "zh": "每种损失都减去了它的常数部分，也就是任何被扫描的 logit 都改变不了的那些项：对{names}来说，"
              "这部分是固定 logit 的平方，这里{value}。",
    },
    "surface.constant_infinite": {"en": "infinite", "zh": "为无穷大"},
    "surface.constant_finite": {"en": "a constant", "zh": "是一个常数"},
    "surface.adam_steps": {"en": "With Adam, MSE {mse} and CE {ce}.", "zh": "用 Adam 时，均方误差{mse}，交叉熵{ce}。"},
    "surface.adam_first": {
        "en": "Adam's first step is {formula} in each coordinate: {mse} lr for MSE, whose gradient in the corner, {g}, "
              "is of the order of ε = {eps}, and {ce} lr for CE.",
        "zh": "Adam 的第一步在每个坐标上是 {formula}：对均方误差是 {mse} lr，它在角落的梯度 {g} 与 ε = {eps} "
              "同一量级；对交叉熵是 {ce} lr。",
    },
    "surface.adam_plateau": {
        "en": "On this single point the gradient's scale is the whole plateau, and Adam divides it away.",
        "zh": "在这单独一个点上，梯度的尺度就是整个平台，而 Adam 正好把它除掉了。",
    },
    "surface.adam_network": {
        "en": "Section 5 measures why the same division does not rescue MSE in the network.",
        "zh": "第 5 节测量了为什么同样的除法在网络中救不了均方误差。",
    },
    "surface.table_caption": {
        "en": "At the corner {start}, over the plane, and the steps to {p} ≥ {goal} (learning rate {lr})",
        "zh": "角落 {start} 处、整个平面上，以及到达 {p} ≥ {goal} 的步数（学习率 {lr}）",
    },
    "surface.col_constant": {"en": "constant part", "zh": "常数部分"},
    "surface.col_corner_loss": {"en": "loss at the corner", "zh": "角落处的损失"},
    "surface.col_corner_grad": {"en": "{norm} at the corner", "zh": "角落处的 {norm}"},
    "surface.col_optimum_p": {"en": "{p} at the optimum", "zh": "最优点的 {p}"},
    "surface.col_reachable": {"en": "reachable", "zh": "可达"},
    "surface.cell_unreachable": {"en": "unreachable", "zh": "不可达"},
    "surface.cell_diverged": {"en": "diverged", "zh": "发散"},
    "fig.surface_3d": {
        "en": "The error surfaces over the two swept logits, each loss minus its constant part; star: the start of the "
              "descent paths.",
        "zh": "两个被扫描的 logit 上的误差曲面，每种损失都减去了常数部分；星号：下降路径的起点。",
    },
    "fig.surface_paths": {
        "en": "Each loss in grey levels with the descent paths of gradient descent, momentum and Adam from the start "
              "(star), all at learning rate {lr}. The legend gives each path's steps to {p} ≥ {goal} (> {steps}: not "
              "within the budget; —: never, the goal is unreachable or the path diverged); dashed: {p} = {goal}.",
        "zh": "每种损失用灰度表示，并画出梯度下降、动量和 Adam 从起点（星号）出发的下降路径，学习率都是 {lr}。"
              "图例给出每条路径到达 {p} ≥ {goal} 的步数（> {steps}：在步数预算内没有达到；—：永远达不到，"
              "目标不可达或路径发散）；虚线：{p} = {goal}。",
    },
    "fig.surface_gradients": {
        "en": "The gradient norm ‖∇L‖ over the plane on one logarithmic colour scale for every loss, with the direction "
              "of steepest descent (arrows); the label gives the norm at the start (star).",
        "zh": "整个平面上的梯度范数 ‖∇L‖（所有损失共用同一个对数色标），箭头为最速下降方向；标注给出起点（星号）处的范数。",
    },
    "fig.surface_progress": {
        "en": "{p} along each descent path, one panel per optimiser (logit scale; steps on a log scale); the legend "
              "gives each loss's steps to {p} ≥ {goal}; dashed: {p} = {goal}.",
        "zh": "每条下降路径上的 {p}，每个优化器一幅图（纵轴为 logit 刻度，步数为对数刻度）；图例给出每种损失到达 "
              "{p} ≥ {goal} 的步数；虚线：{p} = {goal}。",
    },
    "fig.surface_margin_cut": {
        "en": "The margin cut: on the line {line}, each loss L and its slope ∂L/∂m against the margin m; the legend "
              "gives the closed form of each curve.",
        "zh": "沿间隔 m 的切面：在直线 {line} 上，每种损失 L 及其斜率 ∂L/∂m 随间隔 m 的变化；图例给出每条曲线的闭式解。",
    },
    "fig.surface_probability": {
        "en": "Along the same line: each loss minus its minimum, and its gradient norm, against {p}.",
        "zh": "沿同一条直线：每种损失减去其最小值后的值，以及它的梯度范数，随 {p} 的变化。",
    },
    "fig.surface_steps_map": {
        "en": "From every start point, the steps that {optimizer} (learning rate {lr}) needs to reach {p} ≥ {goal}; "
              "grey: not within {steps} steps, or never (the goal is unreachable); the title gives the share of grey "
              "starts.",
        "zh": "从每个起点出发，{optimizer}（学习率 {lr}）到达 {p} ≥ {goal} 所需的步数；灰色：{steps} 步内没有达到，"
              "或永远达不到（目标不可达）；标题给出灰色起点所占的比例。",
    },
    # ------------------------------------------------------------------ section 5
    "training.cell": {"en": "{init} start, {optimizer}", "zh": "{init}初始化，{optimizer}"},
    "training.collapsed_runs": {"en": "{count} collapsed", "zh": "{count} 次坍缩"},
    "training.diverged_runs": {"en": "{count} diverged", "zh": "{count} 次发散"},
    "training.both_runs": {"en": "{collapsed} collapsed, {diverged} diverged", "zh": "{collapsed} 次坍缩、{diverged} 次发散"},
    "training.confident": {
        "en": "The same network trained on {setup}: a confident start scales the output layer so that the initial "
              "logits have a standard deviation of about {std}, so most samples begin confidently wrong.",
        "zh": "同一个网络在 {setup} 上训练：“自信”初始化把输出层放大，使初始 logit 的标准差约为 {std}，"
              "于是大多数样本一开始就错得很自信。",
    },
    "training.confident_result": {
        "en": "There CE reaches {ce} test accuracy and MSE {mse}.",
        "zh": "这时交叉熵的测试准确率为 {ce}，均方误差为 {mse}。",
    },
    "training.pairing": {
        "en": "At each seed both losses start from the same network, see the mini-batches in the same order and use "
              "the same train/validation/test split, so the two runs of a seed form a pair.",
        "zh": "在每个随机种子下，两种损失都从同一个网络出发，以相同的顺序看到相同的小批量，并使用相同的"
              "训练/验证/测试划分，所以同一种子的两次运行构成一对。",
    },
    "training.paired_difference": {
        "en": "Per seed, CE minus MSE is {diff} (mean, [95% paired-t interval], (95% bootstrap interval)): {relation}.",
        "zh": "逐个种子看，交叉熵减均方误差为 {diff}（均值，[95% 配对 t 区间]，（95% 自助法区间））：{relation}。",
    },
    "training.gentle": {
        "en": "From a gentle start (small random weights) MSE reaches {mse} against CE's {ce}; per seed CE minus MSE is "
              "{diff}, so {relation}.",
        "zh": "从温和初始化（较小的随机权重）出发，均方误差达到 {mse}，交叉熵为 {ce}；逐个种子看，"
              "交叉熵减均方误差为 {diff}，所以{relation}。",
    },
    "training.adam": {
        "en": "With Adam from the confident start, MSE reaches {mse} and CE {ce} (per seed CE minus MSE: {diff}; "
              "{relation}).",
        "zh": "用 Adam 从自信初始化出发，均方误差达到 {mse}，交叉熵为 {ce}（逐个种子看交叉熵减均方误差：{diff}；"
              "{relation}）。",
    },
    "training.unpaired": {
        "en": "Between runs with different optimisers there is no pairing: {relation} ({sgd}), judged by the two 95% "
              "intervals.",
        "zh": "不同优化器的运行之间没有配对：{relation}（{sgd}），这是按两个 95% 区间判断的。",
    },
    "training.mse_adam": {"en": "MSE with Adam", "zh": "用 Adam 的均方误差"},
    "training.mse_sgd": {"en": "MSE with SGD", "zh": "用 SGD 的均方误差"},
    "training.adam_why": {
        "en": "Why does Adam rescue MSE on the toy surface (section 4) but not here?",
        "zh": "为什么 Adam 在第 4 节的玩具曲面上救得了均方误差，在这里却不行？",
    },
    "training.adam_here": {
        "en": "Adam rescues MSE on the toy surface (section 4); here {relation}.",
        "zh": "Adam 在第 4 节的玩具曲面上救了均方误差；在这里，{relation}。",
    },
    "training.adam_toy": {
        "en": "On the toy, Adam's first step is {mse} lr for MSE against {ce} lr for CE, because a single point's "
              "gradient ({g}) is all there is and Adam divides it by its own size.",
        "zh": "在玩具曲面上，Adam 的第一步对均方误差是 {mse} lr，对交叉熵是 {ce} lr，因为那里只有一个点的梯度"
              "（{g}），而 Adam 用它自身的大小去除它。",
    },
    "training.adam_network": {
        "en": "In the network the first Adam step is {mse} lr for the median weight under MSE and {ce} lr under CE; the "
              "median weight's gradient is {g} ε under MSE.",
        "zh": "在网络中，Adam 的第一步对中位数权重来说，在均方误差下是 {mse} lr，在交叉熵下是 {ce} lr；"
              "在均方误差下，中位数权重的梯度是 ε 的 {g} 倍。",
    },
    "training.adam_divided": {
        "en": "So the gradient's scale is divided away here too.",
        "zh": "所以在这里，梯度的尺度同样被除掉了。",
    },
    "training.adam_cannot": {
        "en": "What Adam cannot change is which samples the gradient comes from.",
        "zh": "Adam 改变不了的，是梯度来自哪些样本。",
    },
    "training.adam_samples": {
        "en": "CE's per-sample gradient is {ce} on the median misclassified sample and MSE's {mse}; the first "
              "mini-batch's gradient rests on {ce_eff} effective samples of {batch} under CE and on {mse_eff} under "
              "MSE (medians over seeds; effective samples = {formula}).",
        "zh": "在中位数的误分类样本上，交叉熵的单样本梯度为 {ce}，均方误差为 {mse}；第一个小批量的梯度，"
              "在交叉熵下依赖 {batch} 个样本中的 {ce_eff} 个有效样本，在均方误差下只依赖 {mse_eff} 个"
              "（各随机种子的中位数；有效样本数 = {formula}）。",
    },
    "training.adam_margin": {
        "en": "Adam's first step raises the margin of {ce} of the misclassified training samples under CE and of {mse} "
              "under MSE.",
        "zh": "Adam 的第一步在交叉熵下提高了 {ce} 的误分类训练样本的间隔，在均方误差下为 {mse}。",
    },
    "training.adam_fewer": {
        "en": "A full-size step that follows a few samples helps few of the others: Adam removes the gradient's scale, "
              "not MSE's deafness to the confidently wrong samples.",
        "zh": "一个只听从少数样本的全尺寸步子，帮不了其余的样本：Adam 去掉的是梯度的尺度，"
              "而不是均方误差对“错得很自信”的样本的充耳不闻。",
    },
    "training.rates": {
        "en": "Each loss trains at its own default learning rate (table), chosen by the procedure that {command} runs: "
              "a log grid of rates, {epochs} epochs (this section's budget), and the median validation accuracy over "
              "the tuning seeds {seeds}, which are never evaluation seeds.",
        "zh": "每种损失都用它自己的默认学习率训练（见表），学习率由 {command} 的流程选出：在对数网格上取一组学习率，"
              "训练 {epochs} 轮（本节的预算），取调参种子 {seeds} 上验证准确率的中位数；这些种子从不用于评估。",
    },
    "training.rates_skip": {
        "en": "A rate at which some tuning seed diverged or collapsed to a single predicted class is passed over.",
        "zh": "若有某个调参种子在某个学习率下发散，或坍缩为只预测一个类别，这个学习率就被跳过。",
    },
    "training.rates_stored": {
        "en": "The rates are stored with the procedure and the command that regenerates them ({command}).",
        "zh": "这些学习率与选择流程，以及重新生成它们的命令（{command}），保存在一起。",
    },
    "training.failed": {
        "en": "{count} run(s) of this section collapsed or diverged; the table names them, and their numbers stay in "
              "the means.",
        "zh": "本节有 {count} 次运行坍缩或发散；表中列出了它们，它们的数字仍计入均值。",
    },
    "training.no_failures": {
        "en": "No run of this section collapsed to one class or diverged.",
        "zh": "本节没有任何运行坍缩为单一类别或发散。",
    },
    "training.caveats": {"en": "Caveats", "zh": "注意事项"},
    "training.caveat_pairs": {
        "en": "Comparisons between losses are paired by seed: from the confident start CE minus MSE lies in [{lo}, "
              "{hi}], while the two losses' own intervals, [{ce_lo}, {ce_hi}] and [{mse_lo}, {mse_hi}], also carry "
              "the luck of each seed's split and start, which the two runs of a seed share.",
        "zh": "损失之间的比较按随机种子配对：从自信初始化出发，交叉熵减均方误差落在 [{lo}, {hi}]；而两种损失各自的"
              "区间 [{ce_lo}, {ce_hi}] 和 [{mse_lo}, {mse_hi}] 还包含了每个种子的数据划分和初始化带来的运气，"
              "而这份运气由同一种子的两次运行共享。",
    },
    "training.caveat_scales": {
        "en": "Loss values of different losses are not comparable: for the worked example CE is {ce} and MSE {mse} "
              "summed over the classes as the lecture writes it, {mean} averaged over them as PyTorch's MSELoss does; "
              "which number is larger says nothing about which loss punishes more.",
        "zh": "不同损失的数值不能直接比较：对算例而言，交叉熵为 {ce}；均方误差按课程的写法对各类别求和为 {mse}，"
              "按 PyTorch 的 MSELoss 对类别取平均则为 {mean}；哪个数更大，并不说明哪种损失惩罚得更重。",
    },
    "training.caveat_uniform": {
        "en": "MSE pushes less even before any saturation: at uniform predictions over {k} classes its gradient is "
              "{ratio} times CE's (2/K), so its learning rate must be larger for the same step.",
        "zh": "均方误差甚至在饱和之前就推得更轻：在 {k} 个类别的均匀预测处，它的梯度是交叉熵的 {ratio} 倍（2/K），"
              "所以要走同样大的一步，它的学习率必须更大。",
    },
    "training.caveat_start": {
        "en": "The confident start is no standard initialisation (a gentle start gives logits of standard deviation "
              "{gentle}, this one {confident}): the median probability of the true class over the training samples "
              "is between {q10} and {q90} across seeds (10th to 90th percentile), far past the lecture's corner "
              "({corner}).",
        "zh": "自信初始化并不是标准的初始化方式（温和初始化给出的 logit 标准差为 {gentle}，这里为 {confident}）："
              "训练样本中正确类别概率的中位数，在各随机种子之间介于 {q10} 与 {q90} 之间（第 10 到第 90 百分位），"
              "远远超出了课程中的那个角落（{corner}）。",
    },
    "training.epochs_cell": {"en": "{mean} ({reached}/{runs} runs)", "zh": "{mean}（{reached}/{runs} 次运行）"},
    "training.table_caption": {
        "en": "Final test metrics, mean over seeds [95% interval]; the test-set standard error is the binomial error "
              "of one test set at that accuracy",
        "zh": "最终的测试指标：各随机种子的平均值 [95% 区间]；测试集标准误是单个测试集在该准确率下的二项分布误差",
    },
    "training.paired_caption": {
        "en": "CE minus MSE, per seed: mean [95% paired t] (95% bootstrap)",
        "zh": "交叉熵减均方误差，逐个种子：均值 [95% 配对 t 区间]（95% 自助法区间）",
    },
    "fig.training_accuracy": {
        "en": "Accuracy per epoch, {cell}: test (solid; band: 95% interval over seeds) and training (dashed); dotted: "
              "{target}.",
        "zh": "每一轮的准确率，{cell}：测试集（实线；阴影为各随机种子的 95% 区间）与训练集（虚线）；点线：{target}。",
    },
    "fig.training_gradients": {
        "en": "Mean gradient norm ‖∂L/∂z‖ over the misclassified training samples per epoch, confident start, SGD (a "
              "line ends when no training sample is misclassified any more).",
        "zh": "每一轮中误分类训练样本上的平均梯度范数 ‖∂L/∂z‖，自信初始化，SGD（某条线结束，表示已经没有误分类的"
              "训练样本）。",
    },
    "fig.lr_tuning": {
        "en": "How the default learning rates were chosen: the median validation accuracy over the tuning seeds at each "
              "rate, one panel per start and optimiser (star: chosen; open circle: some seed diverged, ×, or collapsed "
              "to one class, c).",
        "zh": "默认学习率是怎样选出来的：每个学习率下各调参种子验证准确率的中位数，每种初始化与优化器一幅图"
              "（星号：选中的值；空心圆：有种子发散（×）或坍缩为单一类别（c））。",
    },
    "fig.adam_first_step": {
        "en": "Adam's first step against the gradient's scale: the step |Δθ|/lr against |g|/ε (line: one Adam step; "
              "stars: the toy corner; circles: the network's median weight at the confident start); per seed, the "
              "effective samples of the first mini-batch (dotted: the batch size B = {batch}) and the share of "
              "misclassified samples whose margin grows after the first step.",
        "zh": "Adam 的第一步与梯度尺度的关系：步长 |Δθ|/lr 随 |g|/ε 的变化（曲线：Adam 的一步；星号：玩具曲面的角落；"
              "圆圈：自信初始化下网络的中位数权重）；以及每个随机种子下，第一个小批量的有效样本数"
              "（点线：批量大小 B = {batch}）和第一步之后间隔增大的误分类样本所占比例。",
    },
    # ------------------------------------------------------------------ section 6
    "beyond.hui": {
        "en": "Hui and Belkin (2021) train with the square loss on the raw logits instead of the probabilities; "
              "without the softmax in the loss, its gradient does not fade when the output saturates.",
        "zh": "Hui 与 Belkin（2021）直接在原始 logit 上而不是在概率上用平方损失训练；损失里没有 softmax，"
              "输出饱和时它的梯度也不会消失。",
    },
    "beyond.hui_result": {
        "en": "On {setup}, it reaches {sq} test accuracy against CE's {ce}; per seed CE minus it is {diff}, so "
              "{relation}.",
        "zh": "在 {setup} 上，它的测试准确率为 {sq}，交叉熵为 {ce}；逐个种子看，交叉熵减它为 {diff}，所以{relation}。",
    },
    "beyond.square_name": {"en": "the square loss on logits", "zh": "logit 上的平方损失"},
    "beyond.calibration": {
        "en": "Calibration asks whether a confidence of 80 % is right 80 % of the time; the expected calibration error "
              "(ECE) averages the gap between confidence and accuracy over {bins} confidence bins of the test split.",
        "zh": "校准问的是：置信度为 80% 的预测，是否有 80% 的时候是对的；期望校准误差（ECE）在测试集的 {bins} "
              "个置信度区间上，平均置信度与准确率之间的差距。",
    },
    "beyond.ece_values": {
        "en": "ECE is {ce} for CE, {smooth} with label smoothing ({eps}), {mse} for MSE on probabilities and {sq} for "
              "the square loss on logits.",
        "zh": "交叉熵的 ECE 为 {ce}，加标签平滑（{eps}）后为 {smooth}，概率上的均方误差为 {mse}，"
              "logit 上的平方损失为 {sq}。",
    },
    "beyond.ece_paired": {
        "en": "Per seed CE's ECE minus smoothing's is {diff}, so {relation}.",
        "zh": "逐个种子看，交叉熵的 ECE 减去标签平滑的 ECE 为 {diff}，所以{relation}。",
    },
    "beyond.smooth_ece": {"en": "smoothing's ECE", "zh": "标签平滑的 ECE"},
    "beyond.ce_ece": {"en": "CE's", "zh": "交叉熵的 ECE"},
    "beyond.square_scale": {
        "en": "The square loss pulls the logits towards the one-hot values 1 and 0 rather than towards "
              "log-probabilities, so the softmax of its outputs was never trained to be a probability.",
        "zh": "平方损失把 logit 拉向独热编码的 1 和 0，而不是拉向对数概率，所以它输出的 softmax 从来没有被训练成概率。",
    },
    "beyond.temperature_mismatch": {
        "en": "One temperature per run, fitted on the validation split (it changes no prediction), brings its ECE to "
              "{sq} (mean temperature {t}), against {ce} for CE: most of its raw ECE measures a scale mismatch, not a "
              "wrong ranking of confidence.",
        "zh": "每次运行在验证集上拟合一个温度（它不改变任何预测），就能把它的 ECE 降到 {sq}（平均温度 {t}），"
              "交叉熵为 {ce}：它原始 ECE 的大部分衡量的是尺度不匹配，而不是置信度的排序错了。",
    },
    "beyond.temperature_partial": {
        "en": "One temperature per run, fitted on the validation split (it changes no prediction), brings its ECE to "
              "{sq} (mean temperature {t}), against {ce} for CE: temperature scaling removes only part of its raw ECE.",
        "zh": "每次运行在验证集上拟合一个温度（它不改变任何预测），能把它的 ECE 降到 {sq}（平均温度 {t}），"
              "交叉熵为 {ce}：温度缩放只去掉了它原始 ECE 的一部分。",
    },
    "beyond.table_caption": {
        "en": "Final test metrics, mean over seeds [95% interval]",
        "zh": "最终的测试指标：各随机种子的平均值 [95% 区间]",
    },
    "fig.reliability": {
        "en": "Reliability diagram on the test split: accuracy against confidence in each of {bins} equal-width bins, "
              "seeds pooled; dotted: perfect calibration; the legend gives each loss's ECE.",
        "zh": "测试集上的可靠性图：{bins} 个等宽区间里各自的准确率对置信度，合并所有随机种子；点线：完美校准；"
              "图例给出每种损失的 ECE。",
    },
    "fig.learning_curves": {
        "en": "Per epoch, mean and 95% interval over seeds: each loss's own training objective L (not comparable "
              "across losses) and the test NLL, the cross-entropy of the softmax outputs (comparable).",
        "zh": "每一轮的平均值与各随机种子的 95% 区间：每种损失自己的训练目标 L（不同损失之间不可比较），"
              "以及测试集 NLL，即 softmax 输出的交叉熵（可以比较）。",
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
