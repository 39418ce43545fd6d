"""The report's sections, built from the labs' results (never re-computed here).

Each builder takes the job results (see :mod:`outlayer.report._jobs`) and returns a
:class:`~outlayer.report._page.Section` whose ``data`` is written to ``data/<key>.json``; every
number in its text goes through :class:`~outlayer.report._page.Numbers`, i.e. is read back from
that data. Sentences are catalogue entries (``T(key, ...)``, :mod:`outlayer.report._i18n`) in
English and Chinese; sentences that compare two results choose their words from the measured
numbers (:func:`relation_msg`), so the text stays true whatever a run measures.

Notation (the page's, the explorer's and ``outlayer explain``'s): logits z, probabilities
p = softmax(z), one-hot label y, true class t; classes are numbered from 1 wherever a reader sees
them (z_1 is class 1's logit), while the code and the data files index from 0.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from outlayer.catalogue import CATALOGUE
from outlayer.report import _math as m
from outlayer.report._i18n import MESSAGES, Joined, Msg, T
from outlayer.report._jobs import BEYOND_LOSSES, TEMPERATURES, TRAINING_CELLS
from outlayer.report._markup import Markup, attrs
from outlayer.report._page import (
    Figure,
    Numbers,
    Section,
    data_json,
    data_table,
    read_asset,
    render_template,
    table,
)

__all__ = ["REFERENCES", "build_sections", "notation_box", "relation", "relation_msg"]

Results = Mapping[str, Mapping[str, Any]]

#: Legacy English labels (the catalogue's, :mod:`outlayer.catalogue`), used by the sections not yet
#: converted to the message catalogue.
LOSS_LABELS: dict[str, str] = {name: entry.label for name, entry in CATALOGUE.items()}


def loss_label(loss: str) -> Msg | str:
    """A loss's translated name (``lossname.<name>`` in the catalogue), else its registry name."""
    return T(f"lossname.{loss}") if f"lossname.{loss}" in MESSAGES else loss


def class_label(name: str) -> Msg | str:
    """A class name, translated when it is one of the worked example's (cat, dog, rabbit)."""
    return T(f"js.class.{name}") if f"js.class.{name}" in MESSAGES else name


def relation(a: Mapping[str, Any], b: Mapping[str, Any], paired: Mapping[str, Any] | None = None) -> str:
    """How ``a`` stands to ``b``, in words that the numbers of this run support.

    With ``paired`` (the per-seed difference a - b from ``compare()["paired"]``, or its mirror
    b - a with ``"flip": True``): "clearly above" / "clearly below" only when both its 95 %
    paired-t and bootstrap intervals exclude 0, otherwise "not clearly different from". Without
    it, ``a`` and ``b`` are {"mean", "ci95"} statistics and "clearly" needs intervals that do not
    overlap; overlapping intervals do not show equality, so the words stay "not clearly different
    from". With a single seed there is no interval and the words only say which mean is larger.
    """
    return _RELATION_WORDS[_relation_key(a, b, paired)]


#: The legacy sections' English relation words (the catalogue's rel.* entries are whole clauses).
_RELATION_WORDS: dict[str, str] = {
    "rel.not_comparable": "not comparable (a run diverged)",
    "rel.equal": "equal to",
    "rel.above_one_seed": "above (one seed, no interval)",
    "rel.below_one_seed": "below (one seed, no interval)",
    "rel.clearly_above": "clearly above",
    "rel.clearly_below": "clearly below",
    "rel.within": "not clearly different from",
}


def _relation_key(a: Mapping[str, Any], b: Mapping[str, Any], paired: Mapping[str, Any] | None = None) -> str:
    if a.get("mean") is None or b.get("mean") is None:
        return "rel.not_comparable"
    if paired is not None:
        sign = -1.0 if paired.get("flip") else 1.0
        t, boot = paired.get("t_ci95"), paired.get("bootstrap_ci95")
        if paired.get("mean") is None:
            return "rel.not_comparable"
        if t is None:
            mean = sign * paired["mean"]
            return "rel.equal" if mean == 0 else ("rel.above_one_seed" if mean > 0 else "rel.below_one_seed")
        intervals = [sorted((sign * low, sign * high)) for low, high in (t, boot or t)]
        if all(low > 0 for low, _ in intervals):
            return "rel.clearly_above"
        if all(high < 0 for _, high in intervals):
            return "rel.clearly_below"
        return "rel.within"
    if a.get("ci95") is None or b.get("ci95") is None:
        if a["mean"] == b["mean"]:
            return "rel.equal"
        return "rel.above_one_seed" if a["mean"] > b["mean"] else "rel.below_one_seed"
    if a["ci95"][0] > b["ci95"][1]:
        return "rel.clearly_above"
    if a["ci95"][1] < b["ci95"][0]:
        return "rel.clearly_below"
    return "rel.within"


def relation_msg(a: Mapping[str, Any], b: Mapping[str, Any], a_name: Msg, b_name: Msg,
                 paired: Mapping[str, Any] | None = None) -> Msg:
    """The clause "A is clearly above B" (or below, or not clearly different) for statistics a, b."""
    return T(_relation_key(a, b, paired), a=a_name, b=b_name)


def _paired_data(result: Mapping[str, Any], losses: Sequence[str]) -> dict[str, Any]:
    """The paired differences of ``compare()`` between the given losses."""
    return {key: entry for key, entry in result.get("paired", {}).items() if entry["a"] in losses and entry["b"] in losses}


def _paired(section_paired: Mapping[str, Any], a: str, b: str) -> tuple[str, Mapping[str, Any], bool]:
    """(key, entry of the test accuracy difference, flipped): the stored entry for a - b or b - a."""
    if f"{a} - {b}" in section_paired:
        return f"{a} - {b}", section_paired[f"{a} - {b}"], False
    return f"{b} - {a}", section_paired[f"{b} - {a}"], True


def _interval(numbers: Numbers, path: str, fmt: str, key: str, extra: str | None = None) -> Markup:
    """``mean [low, high]`` of the statistic at ``path`` (interval under ``key``), and the ``extra``
    interval in parentheses when there is one; each number tagged."""
    entry = numbers.value(path)
    if entry["mean"] is None:
        return Markup("n/a")
    text = numbers(f"{path}/mean", fmt)
    if entry.get(key) is not None:
        inner = Markup("[{}, {}]").format(numbers(f"{path}/{key}/0", fmt), numbers(f"{path}/{key}/1", fmt))
        if extra is not None and entry.get(extra) is not None:
            inner += Markup(" (bootstrap {}, {})").format(numbers(f"{path}/{extra}/0", fmt),
                                                          numbers(f"{path}/{extra}/1", fmt))
        text += Markup(' <span class="note">{}</span>').format(inner)
    return text


def _difference(numbers: Numbers, path: str, fmt: str = ".1%") -> Markup:
    """``mean [t low, t high] (bootstrap low, high)`` of a paired difference at ``path``, tagged."""
    return _interval(numbers, path, fmt, "t_ci95", "bootstrap_ci95")


def _paired_relation(summary: Mapping[str, Any], paired: Mapping[str, Any], a: str, b: str,
                     metric: str = "test_accuracy") -> str:
    _, entry, flipped = _paired(paired, a, b)
    return relation(summary[a][metric], summary[b][metric], {**entry[metric], "flip": flipped})


def _stat(numbers: Numbers, path: str, fmt: str = ".1%") -> Markup:
    """``mean [low, high]`` of a mean_ci95 entry at ``path``, each number tagged."""
    return _interval(numbers, path, fmt, "ci95")


def _compare_data(result: Mapping[str, Any], losses: Sequence[str]) -> dict[str, Any]:
    """The part of a compare() result a section shows: config, and summary/curves/runs of ``losses``."""
    return {
        "config": result["config"],
        "summary": {k: result["summary"][k] for k in losses},
        "curves": {k: result["curves"][k] for k in losses},
        "runs": [r for r in result["runs"] if r["loss"] in losses],
    }


def _setup_phrase(numbers: Numbers, prefix: str) -> str:
    """Legacy English: "digits (10 classes, 450 test samples), 5 seeds, 20 epochs of sgd from a gentle start"."""
    at = (lambda path: f"{prefix}/{path}") if prefix else (lambda path: path)
    config = numbers.value(at("config"))
    return (f"{html.escape(str(config['dataset']['name']))} ({numbers(at('config/dataset/n_classes'), 'd')} classes, "
            f"{numbers(at('config/dataset/n_test'), 'd')} test samples), {len(config['seeds'])} seeds, "
            f"{numbers(at('config/epochs'), 'd')} epochs of {html.escape(config['optimizer'])} from a "
            f"{html.escape(config['init'])} start")


def setup_msg(numbers: Numbers, prefix: str) -> Msg:
    """The training setup of a compare() result at ``prefix`` of the data, as a translated phrase."""
    at = (lambda path: f"{prefix}/{path}") if prefix else (lambda path: path)
    config = numbers.value(at("config"))
    init = config["init"]
    return T("setup.phrase", dataset=str(config["dataset"]["name"]),
             classes=numbers(at("config/dataset/n_classes"), "d"), test=numbers(at("config/dataset/n_test"), "d"),
             seeds=str(len(config["seeds"])), epochs=numbers(at("config/epochs"), "d"),
             optimizer=str(config["optimizer"]), init=T(f"init.{init}") if f"init.{init}" in MESSAGES else init)


def _figure(result: Mapping[str, Any], stem: str, caption: Msg | str) -> Figure:
    """A figure a job drew into figures/ (``result["figures"]``: stem -> file name)."""
    return Figure(f"figures/{Path(result['figures'][stem]).stem}", caption, formats=("png",))


def beside(main: Markup, aside: Markup) -> Markup:
    """Two blocks side by side on a wide screen (a table and the derivation of its numbers), stacked on a phone."""
    return Markup('<div class="beside"><div class="beside-main">{}</div>{}</div>').format(main, aside)


# ------------------------------------------------------------------------------ MathML pieces
D = Markup('<mo rspace="0">∂</mo>')  # the partial-derivative sign, set tight against its variable


def _v(name: str, index: str) -> Markup:
    """``name`` with a letter or digit subscript: z_i, p_1."""
    return m.sub(m.I(name), m.N(index) if index.isdigit() else m.I(index))


def _d(top: Markup, bottom: Markup) -> Markup:
    """The partial derivative d top / d bottom, as a fraction (display formulas)."""
    return m.frac(m.row(D, top), m.row(D, bottom))


def _d_inline(top: Markup, bottom: Markup) -> Markup:
    """The partial derivative written with a slash, for running text and table headers."""
    return m.row(D, top, m.O("/"), D, bottom)


def _exp(power: Markup) -> Markup:
    return m.sup(m.I("e"), power)


def _vector(items: Sequence[Markup]) -> Markup:
    return m.paren(*m.join(items, m.O(",")), left="[", right="]")


def _sigma(arg: Markup) -> Markup:
    return m.row(m.I("σ"), m.paren(arg))


def _delta(i: str, j: str) -> Markup:
    return m.sub(m.I("δ"), m.row(m.I(i), m.I(j)))


def _ce() -> Markup:
    return m.I("CE")


def _mse() -> Markup:
    return m.I("MSE")


def _inner(a: Markup, b: Markup) -> Markup:
    return m.paren(a, m.O(","), b, left="⟨", right="⟩")


# ----------------------------------------------------------------------------------- preface
def notation_box() -> Markup:
    """The notation used on the whole page, mapped once to the lecture's symbols."""
    z, p, y = m.I("z"), m.I("p"), m.I("y")
    rows = [
        (m.math(z, m.O("="), m.paren(_v("z", "1"), m.O(","), m.O("…"), m.O(","), _v("z", "K"))), T("notation.z"),
         m.math(m.I("y"))),
        (m.math(p, m.O("="), m.I("softmax"), m.paren(z)), T("notation.p"), m.math(m.sup(m.I("y"), m.O("′")))),
        (m.math(y), T("notation.y"), m.math(m.over(m.I("y"), "^"))),
        (m.math(m.I("t"), m.O(","), m.I("K")), T("notation.t"), Markup("")),
        (m.math(_ce(), m.O("="), m.O("-"), m.I("ln"), _v("p", "t")), T("notation.ce"), m.math(m.I("e"))),
        (m.math(_mse(), m.O("="), m.sum_over("i"), m.sup(m.paren(_v("p", "i"), m.O("-"), _v("y", "i")), m.N("2"))),
         T("notation.mse"), m.math(m.I("e"))),
    ]
    table_markup = data_table(T("notation.caption"), [T("notation.symbol"), T("notation.meaning"), T("notation.lecture")],
                              rows, numeric_from=3)
    return Markup('<aside class="notation" id="notation">{}{}{}</aside>').format(
        T("notation.title").inline("h2"), T("notation.intro").inline("p"), table_markup)


# ----------------------------------------------------------------------------------- section 1
def labels_section(results: Results) -> Section:
    main, ordinal = results["gentle-sgd"], results["ordinal"]
    section = Section("labels", T("labels.title"))
    section.data = {"dataset": _compare_data(main, ("scalar", "ce")), "ordinal": _compare_data(ordinal, ("scalar", "ce"))}
    n = Numbers(section.key, section.data)
    summary = section.data["dataset"]["summary"]
    scalar_name, onehot_name = T("labels.scalar_name"), T("labels.onehot_name")
    section.p(
        T("labels.intro"),
        T("labels.result", setup=setup_msg(n, "dataset"), scalar=_stat(n, "dataset/summary/scalar/test_accuracy"),
          onehot=_stat(n, "dataset/summary/ce/test_accuracy"),
          relation=relation_msg(summary["scalar"]["test_accuracy"], summary["ce"]["test_accuracy"], scalar_name,
                                onehot_name)),
        T("labels.order"),
    )
    ordinal_summary = section.data["ordinal"]["summary"]
    section.p(
        T("labels.exception"),
        T("labels.ordinal", classes=n("ordinal/config/dataset/n_classes", "d"),
          scalar=_stat(n, "ordinal/summary/scalar/test_accuracy"), onehot=_stat(n, "ordinal/summary/ce/test_accuracy"),
          relation=relation_msg(ordinal_summary["scalar"]["test_accuracy"], ordinal_summary["ce"]["test_accuracy"],
                                scalar_name, onehot_name)),
        T("labels.other_exceptions"),
    )
    rows = [
        [str(n.value(f"{part}/config/dataset/name")), loss_label(loss), _stat(n, f"{part}/summary/{loss}/test_accuracy")]
        for part in ("dataset", "ordinal") for loss in ("scalar", "ce")
    ]
    section.table(T("table.accuracy_caption"), [T("col.dataset"), T("col.output"), T("col.test_accuracy")], rows,
                  numeric_from=2)
    section.figures([
        _figure(main, "labels_dataset_accuracy",
                T("labels.fig_dataset", dataset=str(n.value("dataset/config/dataset/name")))),
        _figure(ordinal, "labels_ordinal_accuracy", T("labels.fig_ordinal")),
    ])
    return section


# ----------------------------------------------------------------------------------- section 2
def softmax_section(results: Results, figure: Figure) -> Section:
    worked, two = results["explain"], results["explain-two"]
    temperatures = [results[f"explain-T{t:g}"] for t in TEMPERATURES]
    section = Section("softmax", T("softmax.title"))
    two_class = {
        **two["sigmoid"],
        "abs_difference": abs(two["sigmoid"]["sigmoid_of_difference"] - two["sigmoid"]["softmax_first"]),
    }
    section.data = {"worked": worked, "temperatures": temperatures, "two_class": {**two, "sigmoid": two_class}}
    n = Numbers(section.key, section.data)
    classes = worked["classes"]
    count = range(len(classes))
    names = Joined(tuple(class_label(c) for c in classes))
    section.p(
        T("softmax.intro", zk=m.math(_v("z", "k")), classes=names,
          logits=Markup(", ").join(n(f"worked/logits/{i}", ".1f") for i in count)),
        T("softmax.exp", sum=n("worked/sum_exp", ".4f")),
    )
    rows = [[class_label(c), n(f"worked/logits/{i}", ".1f"), n(f"worked/exp/{i}", ".4f"),
             n(f"worked/probabilities/{i}", ".4f")] for i, c in enumerate(classes)]
    worked_table = data_table(T("softmax.table_caption"),
                              [T("col.class"), Markup('<span translate="no">logit</span> ') + m.math(m.I("z")),
                               m.math(_exp(m.I("z"))), Markup('<span translate="no">softmax</span> ') + m.math(m.I("p"))],
                              rows)
    section.add(beside(worked_table, _softmax_derivation(n, classes)))
    top = worked["target_index"]
    p_by_t = [t["probabilities"][top] for t in temperatures]
    section.p(
        T("softmax.temperature", formula=m.math(m.I("p"), m.O("="), m.I("softmax"), m.paren(m.I("z"), m.O("/"), m.I("T")))),
        T("softmax.temperature_values", name=class_label(classes[top]),
          values=Joined(tuple(T("softmax.at_t", p=n(f"temperatures/{i}/probabilities/{top}", ".3f"),
                                 t=n(f"temperatures/{i}/temperature", "g")) for i in range(len(temperatures))))),
        *([T("softmax.sharpens")] if all(a > b for a, b in zip(p_by_t, p_by_t[1:])) else []),
    )
    section.figures([figure])
    two_text = block_markup(
        T("softmax.two"),
        T("softmax.two_values", z1=n("two_class/logits/0", ".1f"), z2=n("two_class/logits/1", ".1f"),
          p=n("two_class/sigmoid/softmax_first", ".15f"), s=n("two_class/sigmoid/sigmoid_of_difference", ".15f"),
          d=n("two_class/sigmoid/abs_difference", ".1e")),
    )
    section.add(beside(two_text, _sigmoid_derivation(n)))
    return section


def block_markup(*parts: Msg | Markup) -> Markup:
    """A translated paragraph as Markup (for a :func:`beside` block)."""
    from outlayer.report._i18n import block

    return block(parts, "p")


def _softmax_derivation(n: Numbers, classes: Sequence[str]) -> Markup:
    i, j = "i", "j"
    s_def = m.row(m.I("S"), m.O("="), m.sum_over(j, m.I("K")), _exp(_v("z", j)))
    worked_den = m.row(*m.join([_exp(n.mn(f"worked/logits/{k}", ".1f")) for k in range(len(classes))], m.O("+")))
    steps = [
        (m.math(_v("p", i), m.O("="), m.frac(_exp(_v("z", i)), m.I("S")), m.O(","), Markup('<mspace width="1em"/>'),
                s_def, display=True), T("deriv.softmax.definition")),
        (m.math(_v("p", "1"), m.O("="), m.frac(_exp(n.mn("worked/logits/0", ".1f")), worked_den), m.O("="),
                m.frac(n.mn("worked/exp/0", ".4f"), n.mn("worked/sum_exp", ".4f")), m.O("="),
                n.mn("worked/probabilities/0", ".4f"), display=True),
         T("deriv.softmax.worked", name=class_label(classes[0]))),
        (m.math(_d(_v("p", i), _v("z", j)), m.O("="),
                m.frac(m.row(_delta(i, j), _exp(_v("z", i)), m.I("S"), m.O("-"), _exp(_v("z", i)), _exp(_v("z", j))),
                       m.sup(m.I("S"), m.N("2"))),
                m.O("="), _v("p", i), m.paren(_delta(i, j), m.O("-"), _v("p", j)), display=True),
         T("deriv.softmax.quotient", ds=m.math(_d_inline(m.I("S"), _v("z", j)), m.O("="), _exp(_v("z", j))),
           delta=m.math(_delta(i, j)))),
        (m.math(m.I("J"), m.O("="), m.I("diag"), m.paren(m.I("p")), m.O("-"), m.I("p"), m.sup(m.I("p"), m.I("T", normal=True)),
                display=True),
         T("deriv.softmax.jacobian", pi=m.math(_v("p", i)))),
    ]
    return m.derivation(T("deriv.softmax.title"), steps, key="softmax")


def _sigmoid_derivation(n: Numbers) -> Markup:
    z1, z2 = _v("z", "1"), _v("z", "2")
    difference = m.row(z1, m.O("-"), z2)
    steps = [
        (m.math(_v("p", "1"), m.O("="), m.frac(_exp(z1), m.row(_exp(z1), m.O("+"), _exp(z2))), display=True),
         T("deriv.sigmoid.start")),
        (m.math(m.O("="), m.frac(m.N("1"), m.row(m.N("1"), m.O("+"), _exp(m.row(m.O("-"), m.paren(difference))))),
                display=True),
         T("deriv.sigmoid.divide", ez=m.math(_exp(z1)))),
        (m.math(m.O("="), _sigma(difference), m.O(","), Markup('<mspace width="1em"/>'),
                _sigma(m.I("x")), m.O("="), m.frac(m.N("1"), m.row(m.N("1"), m.O("+"), _exp(m.row(m.O("-"), m.I("x"))))),
                display=True),
         T("deriv.sigmoid.result")),
        (m.math(_sigma(m.row(n.mn("two_class/logits/0", ".1f"), m.O("-"), n.mn("two_class/logits/1", ".1f"))), m.O("="),
                n.mn("two_class/sigmoid/sigmoid_of_difference", ".12f"), m.O("="), _v("p", "1"), display=True),
         T("deriv.sigmoid.worked")),
    ]
    return m.derivation(T("deriv.sigmoid.title"), steps, key="sigmoid")


# ----------------------------------------------------------------------------------- section 3
def loss_section(results: Results, figure: Figure) -> Section:
    worked, wrong = results["explain"], results["explain-rabbit"]
    section = Section("loss", T("loss.title"))
    section.data = {
        "worked": worked,
        "wrong": wrong,
        "wrong_target_push_ratio": abs(wrong["grad_cross_entropy"][wrong["target_index"]] / wrong["grad_mse"][wrong["target_index"]]),
    }
    n = Numbers(section.key, section.data)
    t, tw = worked["target_index"], wrong["target_index"]
    count = range(len(worked["classes"]))
    mse_terms = m.row(*m.join([m.sup(m.paren(n.mn(f"worked/probabilities/{i}", ".4f"), m.O("-"),
                                             n.mn(f"worked/one_hot/{i}", "g")), m.N("2")) for i in count], m.O("+")))
    section.p(
        T("loss.onehot", name=class_label(worked["target"]),
          y=Markup(", ").join(n(f"worked/one_hot/{i}", "g") for i in count)),
        T("loss.ce", p=n(f"worked/probabilities/{t}", ".4f"), ce=n("worked/cross_entropy", ".4f")),
        T("loss.mse", mse=n("worked/mse", ".4f")),
    )
    section.add(m.math(_mse(), m.O("="), mse_terms, m.O("="), n.mn("worked/mse", ".4f"), display=True))
    header = [T("col.class"), m.math(m.I("p")), m.math(m.I("y")), m.math(_d_inline(_ce(), m.I("z"))),
              m.math(_d_inline(_mse(), m.I("z")))]

    def rows(key: str, result: Mapping[str, Any]) -> list[list[Any]]:
        return [[class_label(c), n(f"{key}/probabilities/{i}", ".4f"), n(f"{key}/one_hot/{i}", "g"),
                 n(f"{key}/grad_cross_entropy/{i}", ".4f"), n(f"{key}/grad_mse/{i}", ".4f")]
                for i, c in enumerate(result["classes"])]

    def caption(key: str, result: Mapping[str, Any]) -> Msg:
        return T("loss.table_caption", name=class_label(result["target"]), ce=n(f"{key}/cross_entropy", ".4f"),
                 mse=n(f"{key}/mse", ".4f"))

    section.add(beside(data_table(caption("worked", worked), header, rows("worked", worked)), _ce_derivation(n, worked)))
    section.p(T("loss.gradients", name=class_label(worked["target"]), ce=n(f"worked/grad_cross_entropy/{t}", ".4f"),
                mse=n(f"worked/grad_mse/{t}", ".4f")))
    section.add(beside(data_table(caption("wrong", wrong), header, rows("wrong", wrong)), _mse_derivation(n, wrong, "wrong")))
    section.p(T("loss.wrong", name=class_label(wrong["target"]), p=n(f"wrong/probabilities/{tw}", ".4f"),
                ce=n("wrong/cross_entropy", ".4f"), gce=n(f"wrong/grad_cross_entropy/{tw}", ".4f"),
                ratio=n("wrong_target_push_ratio", ".1f"), gmse=n(f"wrong/grad_mse/{tw}", ".4f")))
    section.figures([figure])
    section.add(explorer_html(worked["logits"], t, worked["classes"], worked["temperature"]))
    return section


def _ce_derivation(n: Numbers, worked: Mapping[str, Any]) -> Markup:
    j, t = "j", "t"
    count = range(len(worked["classes"]))
    one_over = m.frac(m.N("1"), _v("p", t))
    steps = [
        (m.math(_ce(), m.O("="), m.O("-"), m.sum_over("i"), _v("y", "i"), m.I("ln"), _v("p", "i"), m.O("="), m.O("-"),
                m.I("ln"), _v("p", t), display=True), T("deriv.ce.start", yt=m.math(_v("y", t), m.O("="), m.N("1")))),
        (m.math(_d(_ce(), _v("z", j)), m.O("="), m.O("-"), one_over, _d(_v("p", t), _v("z", j)), m.O("="), m.O("-"),
                one_over, _v("p", t), m.paren(_delta(t, j), m.O("-"), _v("p", j)), display=True),
         T("deriv.ce.chain")),
        (m.math(m.O("="), _v("p", j), m.O("-"), _v("y", j), display=True),
         T("deriv.ce.result", pt=m.math(_v("p", t)), inv=m.math(one_over))),
        (m.math(_d(_ce(), m.I("z")), m.O("="), m.I("p"), m.O("-"), m.I("y"), m.O("="),
                _vector([n.mn(f"worked/grad_cross_entropy/{i}", ".4f") for i in count]), display=True),
         T("deriv.worked_column", column=m.math(_d_inline(_ce(), m.I("z"))), name=class_label(worked["target"]))),
    ]
    return m.derivation(T("deriv.ce.title"), steps, key="ce")


def _mse_derivation(n: Numbers, case: Mapping[str, Any], key: str) -> Markup:
    """MSE's gradient, step by step; the last step shows the numbers of ``case`` (data at ``key``)."""
    j = "j"
    count = range(len(case["classes"]))
    g, p = m.I("g"), m.I("p")
    transpose = m.I("T", normal=True)
    steps = [
        (m.math(_mse(), m.O("="), m.sum_over("i"), m.sup(m.paren(_v("p", "i"), m.O("-"), _v("y", "i")), m.N("2")), m.O(","),
                Markup('<mspace width="1em"/>'), g, m.O("="), _d(_mse(), p), m.O("="), m.N("2"),
                m.paren(p, m.O("-"), m.I("y")), display=True), T("deriv.mse.start")),
        (m.math(_d(_mse(), m.I("z")), m.O("="), m.sup(m.I("J"), transpose), g, m.O("="),
                m.paren(m.I("diag"), m.paren(p), m.O("-"), p, m.sup(p, transpose)), g, display=True), T("deriv.mse.chain")),
        (m.math(m.O("="), p, m.O("⊙"), m.paren(g, m.O("-"), _inner(g, p)), m.O(","), Markup('<mspace width="1em"/>'),
                _d(_mse(), _v("z", j)), m.O("="), _v("p", j), m.paren(_v("g", j), m.O("-"), m.sum_over("i"), _v("g", "i"),
                _v("p", "i")), display=True),
         T("deriv.mse.result", pj=m.math(_v("p", j)), pt=m.math(_v("p", "t")))),
        (m.math(_d(_mse(), m.I("z")), m.O("="), _vector([n.mn(f"{key}/grad_mse/{i}", ".4f") for i in count]),
                display=True),
         T("deriv.mse.worked", column=m.math(_d_inline(_mse(), m.I("z"))), name=class_label(case["target"]),
           p=n(f"{key}/probabilities/{case['target_index']}", ".4f"))),
    ]
    return m.derivation(T("deriv.mse.title"), steps, key="mse")


def explorer_html(logits: Sequence[float], target: int, classes: Sequence[str], temperature: float) -> Markup:
    """The explorer: its markup is the asset explorer.html; explorer.js fills in the rows and every number."""
    initial = data_json({"logits": [float(v) for v in logits], "target": int(target), "classes": list(classes),
                         "temperature": float(temperature)})
    return render_template(read_asset("explorer.html"), initial=initial)


def surface_explorer_html(setup: Mapping[str, Any] | None = None) -> Markup:
    """The interactive error surface: markup surface.html, drawn by surface.js.

    It starts from the lab's settings (``setup`` of :func:`outlayer.surface.run`: range, learning
    rate, step budget, goal), so the widget's first paths are the ones the section describes;
    missing keys fall back to the lab's defaults.
    """
    from outlayer.surface import DEFAULT_GOAL, DEFAULT_LR, DEFAULT_STEPS, LECTURE_LIMITS

    setup = dict(setup or {})
    limits = [float(v) for v in setup.get("limits", LECTURE_LIMITS)]
    initial = data_json({"limits": limits, "start": [limits[0], limits[1]], "lr": float(setup.get("lr", DEFAULT_LR)),
                         "steps": int(setup.get("steps", DEFAULT_STEPS)), "goal": float(setup.get("goal", DEFAULT_GOAL)),
                         "optimizer": "sgd", "heldOut": None})
    return render_template(read_asset("surface.html"), initial=initial, derivation=_surface_derivation())


def _surface_derivation() -> Markup:
    z1, z2, p1 = _v("z", "1"), _v("z", "2"), _v("p", "1")
    one_minus = m.paren(m.N("1"), m.O("-"), p1)
    root2 = m.sqrt(m.N("2"))
    steps = [
        (m.math(p1, m.O("="), _sigma(m.row(z1, m.O("-"), z2)), m.O(","), Markup('<mspace width="1em"/>'),
                _v("p", "2"), m.O("="), m.N("1"), m.O("-"), p1, display=True),
         T("deriv.surface.p", z3=m.math(_v("z", "3"), m.O("→"), m.O("-"), m.I("∞")))),
        (m.math(_ce(), m.O("="), m.I("ln"), m.paren(m.N("1"), m.O("+"), _exp(m.row(z2, m.O("-"), z1))), m.O(","),
                Markup('<mspace width="1em"/>'), m.O("‖"), m.row(m.O("∇"), _ce()), m.O("‖"), m.O("="), root2, one_minus,
                display=True), T("deriv.surface.ce")),
        (m.math(_mse(), m.O("="), m.N("2"), m.sup(one_minus, m.N("2")), m.O(","), Markup('<mspace width="1em"/>'),
                m.O("‖"), m.row(m.O("∇"), _mse()), m.O("‖"), m.O("="), m.N("4"), root2, p1, m.sup(one_minus, m.N("2")),
                display=True), T("deriv.surface.mse", p1=m.math(p1))),
    ]
    return m.derivation(T("deriv.surface.title"), steps, key="surface")
# ----------------------------------------------------------------------------------- section 4
def _fixed_text(numbers: Numbers, setup: Mapping[str, Any]) -> str:
    """"y3 = −∞" for a held-out logit, else its tagged value."""
    parts = []
    for c, value in setup["fixed"].items():
        shown = "−∞" if value == "-inf" else numbers(f"setup/fixed/{c}", "g")
        parts.append(f"y{int(c) + 1} = {shown}")
    return ", ".join(parts)


def _steps_cell(numbers: Numbers, loss: str, entry: Mapping[str, Any], optimizer: str,
                steps_path: str = "setup/steps") -> str:
    path = entry["paths"][optimizer]
    if path["steps_to_p90"] is not None:
        return numbers(f"losses/{loss}/paths/{optimizer}/steps_to_p90", "d")
    if not entry["goal_reachable"]:
        return "unreachable"
    if path["diverged"]:
        return "diverged"
    return f"> {numbers(steps_path, 'd')}"


def surface_section(results: Results) -> Section:
    surface = results["surface"]
    section = Section("surface", "The error surface")
    section.data = {key: value for key, value in surface.items() if key != "figures"}
    n = Numbers(section.key, section.data)
    setup = surface["setup"]
    losses = surface["losses"]
    u, v = setup["swept_names"]
    target = f"y{setup['target'] + 1}"
    held_out = bool(setup.get("held_out"))
    section.paragraph(
        f"The lecture's picture: {n('setup/num_classes', 'd')} classes with {target} the true class's logit, "
        f"{_fixed_text(n, setup)} held fixed"
        + (" (that class cannot occur: its probability is exactly 0 and label smoothing gives it no mass)"
           if held_out else "")
        + f", and the error plotted over ({u}, {v}) in [{n('setup/limits/0', 'g')}, {n('setup/limits/1', 'g')}]².",
        f"In the wrong-but-confident corner ({u}, {v}) = ({n('setup/start/0', 'g')}, {n('setup/start/1', 'g')}) "
        f"the true class has probability {n('losses/ce/corner/p_target', '.1e')}; the CE gradient there has norm "
        f"{n('losses/ce/corner/grad_norm', '.3f')} and the MSE gradient {n('losses/mse/corner/grad_norm', '.1e')}, "
        f"{n('corner_grad_norm_ratio_ce_mse', '.1e')} times smaller: MSE's surface is flat exactly where the model is "
        "most wrong.",
    )
    primary = setup["steps_to_p90_optimizer"]
    ce_steps, mse_steps = losses["ce"]["steps_to_p90"], losses["mse"]["steps_to_p90"]

    def reached(loss: str, value: int | None) -> str:
        if value is None:
            return f"does not get there within {n('setup/steps', 'd')} steps"
        return f"needs {n(f'losses/{loss}/steps_to_p90', 'd')} steps"

    stuck = losses["mse"]["paths"][primary]["extrapolated_steps_to_p90"]
    sentences = [f"Gradient descent ({html.escape(primary)}, learning rate {n('setup/lr', 'g')}) from that corner until "
                 f"the true class has p ≥ {n('setup/goal', 'g')}: CE {reached('ce', ce_steps)}, "
                 f"MSE {reached('mse', mse_steps)}."]
    if stuck is not None:
        sentences.append(f"At the pace it keeps on the plateau, MSE would need about "
                         f"{n(f'losses/mse/paths/{primary}/extrapolated_steps_to_p90', '.1e')} steps.")
    section.paragraph(*sentences)
    unreachable = [loss for loss, entry in losses.items() if not entry["goal_reachable"]]
    reach_sentences = ["A goal counts only where it can be reached: each loss's lowest point on the whole plane "
                       "is searched, and a path that passes the goal on its way elsewhere (overshooting) or diverges "
                       "is not counted."]
    for loss in unreachable:
        reach_sentences.append(
            f"The {html.escape(LOSS_LABELS.get(loss, loss))} is lowest at ({n(f'losses/{loss}/optimum/point/0', '.3g')}, "
            f"{n(f'losses/{loss}/optimum/point/1', '.3g')}), where p = {n(f'losses/{loss}/optimum/p_target', '.3f')} "
            f"&lt; {n('setup/goal', 'g')}: its goal is unreachable, so it has no step count"
            + ("; some of its paths cross the goal while overshooting."
               if any(path["first_above_goal"] is not None for path in losses[loss]["paths"].values()) else "."))
    for loss in losses:
        if loss in unreachable or loss not in ("ce-smooth",):
            continue
        reach_sentences.append(
            f"{html.escape(LOSS_LABELS.get(loss, loss))} tops out at p = {n(f'losses/{loss}/optimum/p_target', '.3f')} "
            f"(its smoothed target), above the goal.")
    constants = [loss for loss, entry in losses.items() if entry["constant_is_infinite"] or entry["constant"]]
    if constants:
        reach_sentences.append(
            "Every loss is shown minus its constant part, the terms no swept logit changes: for the "
            + ", ".join(html.escape(LOSS_LABELS.get(loss, loss)) for loss in constants)
            + " that is the held-out logit's square, "
            + ("infinite" if all(losses[loss]["constant_is_infinite"] for loss in constants) else "a constant")
            + " here.")
    section.paragraph(*reach_sentences)
    section.paragraph(*_adam_sentence(n, surface))
    optimizers = setup["optimizers"]
    names = {"sgd": "plain GD", "momentum": "momentum 0.9", "adam": "Adam"}
    rows = []
    for loss, entry in losses.items():
        constant = "∞" if entry["constant_is_infinite"] else n(f"losses/{loss}/constant", ".3g")
        rows.append([LOSS_LABELS.get(loss, html.escape(loss)), constant,
                     n(f"losses/{loss}/corner/loss", ".3g"), n(f"losses/{loss}/corner/grad_norm", ".3g"),
                     n(f"losses/{loss}/optimum/p_target", ".3f"), "yes" if entry["goal_reachable"] else "no",
                     *[_steps_cell(n, loss, entry, opt) for opt in optimizers]])
    section.add(table(f"At the corner ({n('setup/start/0', 'g')}, {n('setup/start/1', 'g')}), over the plane, and "
                      f"steps to p ≥ {n('setup/goal', 'g')} (learning rate {n('setup/lr', 'g')})",
                      ["loss", "constant part", "loss at corner", "|gradient| at corner", "p at optimum",
                       "reachable", *[names.get(opt, html.escape(opt)) for opt in optimizers]], rows))
    captions = {
        "surface_3d": "The error surfaces over the two swept logits (each minus its constant part).",
        "surface_paths": "Contours and descent paths from the wrong corner, one per optimiser.",
        "surface_gradients": "Gradient norm over the plane (log colour scale) with the descent direction.",
        "surface_progress": "The target's probability along each descent path.",
        "surface_margin_cut": "The margin cut: each loss and its slope against m = y1 − y2, closed forms in the legend.",
        "surface_probability": "Loss and gradient norm against the target's probability.",
        "surface_steps_map": "Steps to reach the goal from every start point (grey: never, or unreachable).",
    }
    section.figures([Figure(f"figures/{Path(surface['figures'][stem]).stem}", caption)
                     for stem, caption in captions.items() if stem in surface.get("figures", {})], wide=True)
    return section


def _adam_sentence(n: Numbers, surface: Mapping[str, Any]) -> list[str]:
    """What Adam does on the toy, worded from its measured first step (section 5 measures the network)."""
    adam = (surface.get("adam_vs_plateau") or {}).get("adam")
    if adam is None:
        return []
    ce, mse = adam["steps_to_p90"]["ce"], adam["steps_to_p90"]["mse"]
    first = adam.get("first_step_vs_gradient")
    steps = (f"With Adam, MSE needs {n('adam_vs_plateau/adam/steps_to_p90/mse', 'd')} steps"
             if mse is not None else f"With Adam, MSE does not get there within {n('setup/steps', 'd')} steps")
    steps += (f" and CE {n('adam_vs_plateau/adam/steps_to_p90/ce', 'd')}." if ce is not None
              else " and CE does not get there.")
    if first is None:
        return [steps]
    return [
        steps,
        "Adam's first step is lr |g| / (|g| + eps) in each coordinate: "
        f"{n('adam_vs_plateau/adam/first_step_vs_gradient/mse/step_over_lr/0', '.2f')} lr for MSE, whose corner "
        f"gradient {n('adam_vs_plateau/adam/first_step_vs_gradient/mse/abs_grad/0', '.2g')} is of the order of "
        f"eps = {n('adam_vs_plateau/adam/first_step_vs_gradient/mse/eps', 'g')}, and "
        f"{n('adam_vs_plateau/adam/first_step_vs_gradient/ce/step_over_lr/0', '.2f')} lr for CE.",
        "On this single point the gradient's scale is the whole plateau, and Adam divides it away.",
        "Section 5 measures why the same division does not rescue MSE in the network.",
    ]


# ----------------------------------------------------------------------------------- section 5
def _cell_name(name: str) -> str:
    return html.escape(name.replace("-", " start, "))


def _failures_text(numbers: Numbers, base: str, entry: Mapping[str, Any]) -> str:
    parts = [f"{numbers(f'{base}/{kind}', 'd')} {kind}" for kind in ("collapsed", "diverged") if entry[kind]]
    return ", ".join(parts) if parts else "none"


def training_section(results: Results) -> Section:
    section = Section("training", "Training: CE vs MSE")
    cells = {f"{init}-{opt}": results[f"{init}-{opt}"] for init, opt in TRAINING_CELLS}
    probe = {key: value for key, value in results["adam-probe"].items() if key != "figures"}
    tuning = {key: value for key, value in results["tuning"].items() if key != "figures"}
    section.data = {
        "cells": {name: {**_compare_data(result, ("ce", "mse")), "paired": _paired_data(result, ("ce", "mse"))}
                  for name, result in cells.items()},
        "tuning": tuning,
        "probe": probe,
    }
    n = Numbers(section.key, section.data)
    data = section.data["cells"]
    summaries = {name: cell["summary"] for name, cell in data.items()}

    def versus(name: str, a: str = "mse", b: str = "ce") -> str:
        return _paired_relation(summaries[name], data[name]["paired"], a, b)

    section.paragraph(
        f"The same network trained on {_setup_phrase(n, 'cells/confident-sgd')}: a confident start scales the output "
        f"layer so that the initial logits have a standard deviation of about "
        f"{n('cells/confident-sgd/summary/ce/initial_logit_std/mean', '.0f')}, so most samples begin confidently wrong.",
        f"There CE reaches {_stat(n, 'cells/confident-sgd/summary/ce/test_accuracy')} test accuracy and MSE "
        f"{_stat(n, 'cells/confident-sgd/summary/mse/test_accuracy')}.",
        "At each seed both losses start from the same network, see the mini-batches in the same order and use the "
        "same train/validation/test split, so the two runs of a seed form a pair.",
        f"Per seed, CE minus MSE is {_difference(n, 'cells/confident-sgd/paired/ce - mse/test_accuracy')} "
        f"(mean, [95% paired-t interval], (95% bootstrap interval)): MSE is {versus('confident-sgd')} CE.",
    )
    adam_vs_sgd = relation(summaries["confident-adam"]["mse"]["test_accuracy"],
                           summaries["confident-sgd"]["mse"]["test_accuracy"])
    section.paragraph(
        f"From a gentle start (small random weights) MSE reaches {_stat(n, 'cells/gentle-sgd/summary/mse/test_accuracy')} "
        f"against CE's {_stat(n, 'cells/gentle-sgd/summary/ce/test_accuracy')}; per seed CE minus MSE is "
        f"{_difference(n, 'cells/gentle-sgd/paired/ce - mse/test_accuracy')}, so MSE is {versus('gentle-sgd')} CE.",
        f"With Adam from the confident start, MSE reaches {_stat(n, 'cells/confident-adam/summary/mse/test_accuracy')} "
        f"and CE {_stat(n, 'cells/confident-adam/summary/ce/test_accuracy')} (per seed CE minus MSE: "
        f"{_difference(n, 'cells/confident-adam/paired/ce - mse/test_accuracy')}, MSE {versus('confident-adam')} CE).",
        f"Between runs with different optimisers there is no pairing: MSE with Adam is {adam_vs_sgd} MSE with SGD "
        f"({_stat(n, 'cells/confident-sgd/summary/mse/test_accuracy')}), judged by the two 95% intervals.",
    )
    section.paragraph(*_adam_network_sentences(n, versus('confident-adam'), probe))
    section.paragraph(*_rate_sentences(n, tuning, data))
    section.add("<h3>Caveats</h3>")
    section.paragraph(*_caveat_sentences(n, data))
    rows = []
    for name in cells:
        for loss in ("ce", "mse"):
            base = f"cells/{name}/summary/{loss}"
            entry = n.value(base)
            target = entry["epochs_to_target"]
            reached = f"{n(f'{base}/epochs_to_target/reached', 'd')}/{n(f'{base}/epochs_to_target/runs', 'd')}"
            epochs = n(f"{base}/epochs_to_target/mean", ".1f") if target["mean"] is not None else "–"
            se = n(f"{base}/test_accuracy_binomial_se", ".1%") if entry["test_accuracy_binomial_se"] is not None else "–"
            rows.append([_cell_name(name), LOSS_LABELS[loss], n(f"{base}/lr", "g"), _stat(n, f"{base}/test_accuracy"), se,
                         _stat(n, f"{base}/test_nll", ".3f"), f"{epochs} ({reached} runs)",
                         _failures_text(n, base, entry)])
    target_accuracy = n("cells/confident-sgd/config/target_accuracy", ".0%")
    section.add(table("Final test metrics, mean over seeds [95% interval]; the test-set standard error is the binomial "
                      "error of one test set at that accuracy",
                      ["start, optimiser", "loss", "learning rate", "test accuracy", "test-set SE", "test NLL",
                       f"epochs to {target_accuracy} test accuracy", "collapsed or diverged runs"],
                      rows, numeric_from=2))
    paired_rows = [[_cell_name(name), _difference(n, f"cells/{name}/paired/ce - mse/test_accuracy"),
                    _difference(n, f"cells/{name}/paired/ce - mse/test_nll", ".3f"),
                    _difference(n, f"cells/{name}/paired/ce - mse/test_ece", ".3f")] for name in cells]
    section.add(table("CE minus MSE, per seed: mean [95% paired t] (95% bootstrap)",
                      ["start, optimiser", "test accuracy", "test NLL", "ECE"], paired_rows, numeric_from=1))
    figures = [
        _figure(result, f"training_{name}_accuracy", f"Accuracy per epoch, {_cell_name(name)}.")
        for name, result in cells.items()
    ]
    figures.append(_figure(cells["confident-sgd"], "training_confident-sgd_gradients",
                           "Mean gradient norm on the misclassified training samples, confident start, SGD."))
    figures.append(_figure(results["tuning"], "lr_tuning",
                           "How the default learning rates were chosen: median validation accuracy over the tuning "
                           "seeds at each rate (star: chosen; open: some seed diverged or collapsed)."))
    figures.append(_figure(results["adam-probe"], "adam_first_step",
                           "Adam's first step against the gradient's scale, on the toy corner and in the network."))
    section.figures(figures)
    return section


def _adam_network_sentences(n: Numbers, adam_words: str, probe: Mapping[str, Any]) -> list[str]:
    """The Adam question: why the toy's rescue does (not) carry over, worded from the probe's numbers.

    ``adam_words``: how MSE stands to CE with Adam from the confident start (paired over seeds).
    """
    net = probe["network_summary"]
    fewer = (net["mse"]["effective_samples_first_batch"]["median"] < 0.5 * net["ce"]["effective_samples_first_batch"]["median"]
             and net["mse"]["misclassified_margin_grows"]["median"] < net["ce"]["misclassified_margin_grows"]["median"])
    question = ("Why does Adam rescue MSE on the toy surface (section 4) but not here?" if adam_words == "clearly below"
                else f"Adam rescues MSE on the toy surface (section 4); here MSE with Adam is {adam_words} CE.")
    sentences = [
        question,
        f"On the toy, Adam's first step is {n('probe/toy/losses/mse/adam_step_over_lr/0', '.2f')} lr for MSE against "
        f"{n('probe/toy/losses/ce/adam_step_over_lr/0', '.2f')} lr for CE, because a single point's gradient "
        f"({n('probe/toy/losses/mse/abs_grad/0', '.2g')}) is all there is and Adam divides it by its own size.",
        f"In the network the first Adam step is {n('probe/network_summary/mse/median_adam_step_over_lr/median', '.2f')} "
        f"lr for the median weight under MSE and {n('probe/network_summary/ce/median_adam_step_over_lr/median', '.2f')} "
        f"lr under CE; the median weight's gradient is "
        f"{n('probe/network_summary/mse/median_param_grad_over_eps/median', '.1e')} eps under MSE"
        + (", so the gradient's scale is divided away here too."
           if net["mse"]["median_param_grad_over_eps"]["median"] > 100 else "."),
        "What Adam cannot change is which samples the gradient comes from.",
        f"CE's per-sample gradient is {n('probe/network_summary/ce/median_grad_misclassified/median', '.2f')} on the "
        f"median misclassified sample and MSE's {n('probe/network_summary/mse/median_grad_misclassified/median', '.1e')}; "
        f"the first mini-batch's gradient rests on {n('probe/network_summary/ce/effective_samples_first_batch/median', '.1f')} "
        f"effective samples of {n('probe/setup/batch_size', 'd')} under CE and on "
        f"{n('probe/network_summary/mse/effective_samples_first_batch/median', '.1f')} under MSE (medians over seeds; "
        "effective samples = (sum |g_i|)² / sum |g_i|²).",
        f"Adam's first step raises the margin of {n('probe/network_summary/ce/misclassified_margin_grows/median', '.0%')} "
        f"of the misclassified training samples under CE and of "
        f"{n('probe/network_summary/mse/misclassified_margin_grows/median', '.0%')} under MSE.",
    ]
    if fewer:
        sentences.append("A full-size step that follows a few samples helps few of the others: Adam removes the "
                         "gradient's scale, not MSE's deafness to the confidently wrong samples.")
    return sentences


def _rate_sentences(n: Numbers, tuning: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    procedure = tuning["procedure"]
    seeds = ", ".join(str(s) for s in procedure["tuning_seeds"])
    failed = sum(cell["summary"][loss]["collapsed"] + cell["summary"][loss]["diverged"]
                 for cell in data.values() for loss in ("ce", "mse"))
    sentences = [
        f"Each loss trains at its own default learning rate (table), chosen by the procedure that "
        f"<code>outlayer compare --tune-lr</code> runs: a log grid of rates, {n('tuning/procedure/epochs', 'd')} epochs "
        f"(this section's budget), and the median validation accuracy over the tuning seeds {seeds}, which are never "
        "evaluation seeds.",
        "A rate at which some tuning seed diverged or collapsed to a single predicted class is passed over.",
        f"The rates are stored with the procedure and the command that regenerates them "
        f"(<code>{html.escape(tuning['command'])}</code>).",
    ]
    if failed:
        sentences.append(f"{failed} run(s) of this section collapsed or diverged; the table names them, and their "
                         "numbers stay in the means.")
    else:
        sentences.append("No run of this section collapsed to one class or diverged.")
    return sentences


def _caveat_sentences(n: Numbers, data: Mapping[str, Any]) -> list[str]:
    """The caveats that keep the comparison honest, each with its number."""
    conf = data["confident-sgd"]
    paired = conf["paired"]["ce - mse"]["test_accuracy"]
    sentences = []
    if paired["t_ci95"] is not None and conf["summary"]["ce"]["test_accuracy"]["ci95"] is not None:
        sentences.append(
            "Comparisons between losses are paired by seed: from the confident start CE minus MSE lies in "
            f"[{n('cells/confident-sgd/paired/ce - mse/test_accuracy/t_ci95/0', '.1%')}, "
            f"{n('cells/confident-sgd/paired/ce - mse/test_accuracy/t_ci95/1', '.1%')}], while the two losses' own "
            f"intervals, [{n('cells/confident-sgd/summary/ce/test_accuracy/ci95/0', '.1%')}, "
            f"{n('cells/confident-sgd/summary/ce/test_accuracy/ci95/1', '.1%')}] and "
            f"[{n('cells/confident-sgd/summary/mse/test_accuracy/ci95/0', '.1%')}, "
            f"{n('cells/confident-sgd/summary/mse/test_accuracy/ci95/1', '.1%')}], also carry the luck of each seed's "
            "split and start, which the two runs of a seed share.")
    sentences += [
        f"Loss values of different losses are not comparable: for the worked example CE is "
        f"{n('probe/loss_scales/ce', '.4f')} and MSE {n('probe/loss_scales/mse_sum', '.4f')} summed over the classes as "
        f"the lecture writes it, {n('probe/loss_scales/mse_mean_over_classes', '.4f')} averaged over them as PyTorch's "
        "MSELoss does; which number is larger says nothing about which loss punishes more.",
        f"MSE pushes less even before any saturation: at uniform predictions over "
        f"{n('probe/uniform_start/num_classes', 'd')} classes its gradient is "
        f"{n('probe/uniform_start/ratio_mse_ce', '.3f')} times CE's (2/K), so its learning rate must be larger for the "
        "same step.",
        f"The confident start is no standard initialisation (a gentle start gives logits of standard deviation "
        f"{n('cells/gentle-sgd/summary/ce/initial_logit_std/mean', '.2f')}, this one "
        f"{n('cells/confident-sgd/summary/ce/initial_logit_std/mean', '.0f')}): the median p(true class) of the "
        f"training samples is between {n('probe/network_summary/mse/median_p_true/q10', '.0e')} and "
        f"{n('probe/network_summary/mse/median_p_true/q90', '.0e')} across seeds (10th to 90th percentile), far past "
        f"the lecture's corner ({n('probe/lecture_corner_p_target', '.1e')}).",
    ]
    return sentences


# ----------------------------------------------------------------------------------- section 6
def beyond_section(results: Results) -> Section:
    main = results["gentle-sgd"]
    section = Section("beyond", "Beyond the lecture: square loss on logits, label smoothing, calibration")
    section.data = _compare_data(main, BEYOND_LOSSES)
    section.data["paired"] = _paired_data(main, BEYOND_LOSSES)
    section.data["loss_descriptions"] = _descriptions(BEYOND_LOSSES)
    n = Numbers(section.key, section.data)
    s = section.data["summary"]
    paired = section.data["paired"]
    section.paragraph(
        "Hui and Belkin (2021) train with the square loss on the raw logits instead of the probabilities; without the "
        "softmax in the loss, its gradient does not fade when the output saturates.",
        f"On {_setup_phrase(n, '')}, it reaches {_stat(n, 'summary/mse-logits/test_accuracy')} test accuracy against "
        f"CE's {_stat(n, 'summary/ce/test_accuracy')}; per seed CE minus it is "
        f"{_difference(n, 'paired/ce - mse-logits/test_accuracy')}, so it is "
        f"{_paired_relation(s, paired, 'mse-logits', 'ce')} CE.",
    )
    scaled = s["mse-logits"]["test_ece_scaled"]["mean"]
    raw = s["mse-logits"]["test_ece"]["mean"]
    mismatch = (scaled is not None and raw is not None and scaled < 0.5 * raw)
    section.paragraph(
        "Calibration asks whether a confidence of 80 % is right 80 % of the time; the expected calibration error (ECE) "
        f"averages the gap between confidence and accuracy over {n('config/ece_bins', 'd')} confidence bins of the test "
        "split.",
        f"ECE is {_stat(n, 'summary/ce/test_ece', '.3f')} for CE, {_stat(n, 'summary/ce-smooth/test_ece', '.3f')} with "
        f"label smoothing ({html.escape(section.data['loss_descriptions']['ce-smooth'])}), "
        f"{_stat(n, 'summary/mse/test_ece', '.3f')} for MSE on probabilities and "
        f"{_stat(n, 'summary/mse-logits/test_ece', '.3f')} for the square loss on logits.",
        f"Per seed CE's ECE minus smoothing's is {_difference(n, 'paired/ce - ce-smooth/test_ece', '.3f')}, so "
        f"smoothing's ECE is {_paired_relation(s, paired, 'ce-smooth', 'ce', 'test_ece')} CE's.",
        "The square loss pulls the logits towards the one-hot values 1 and 0 rather than towards log-probabilities, "
        "so the softmax of its outputs was never trained to be a probability.",
        f"One temperature per run, fitted on the validation split (it changes no prediction), brings its ECE to "
        f"{_stat(n, 'summary/mse-logits/test_ece_scaled', '.3f')} (mean temperature "
        f"{n('summary/mse-logits/temperature/mean', '.3g')}), against {_stat(n, 'summary/ce/test_ece_scaled', '.3f')} "
        "for CE"
        + (": most of its raw ECE measures a scale mismatch, not a wrong ranking of confidence." if mismatch else
           ": temperature scaling removes only part of its raw ECE."),
    )
    rows = [[LOSS_LABELS[loss], _stat(n, f"summary/{loss}/test_accuracy"), _stat(n, f"summary/{loss}/test_nll", ".3f"),
             _stat(n, f"summary/{loss}/test_ece", ".3f"), _stat(n, f"summary/{loss}/test_ece_scaled", ".3f")]
            for loss in BEYOND_LOSSES]
    section.add(table("Final test metrics, mean over seeds [95% interval]",
                      ["loss", "test accuracy", "test NLL", "ECE", "ECE after temperature scaling"], rows))
    section.figures([_figure(main, "beyond_reliability",
                             "Reliability diagram: accuracy against confidence per bin, seeds pooled.")])
    section.figures([_figure(main, "beyond_learning_curves", "Training loss and test NLL per epoch.")], wide=True)
    return section


def _descriptions(losses: Sequence[str]) -> dict[str, str]:
    return {loss: CATALOGUE[loss].description for loss in losses}


# ----------------------------------------------------------------------------------- section 7
def reproduce_section(run: Mapping[str, Any], reproduce: Mapping[str, Any]) -> Section:
    """Section 7: command, seeds, versions, run time. ``run`` (command, time) is not deterministic and
    goes to data/run.json; ``reproduce`` (plan, seeds, versions) does and goes to data/reproduce.json."""
    section = Section("reproduce", T("reproduce.title"))
    section.data = dict(reproduce)
    n = Numbers(section.key, section.data)
    r = Numbers("run", run)
    section.p(
        T("reproduce.time", time=r("run_time_s", ".1f"), workers=r("workers", "d")),
        T("reproduce.data"),
        T("reproduce.seeds", seeds=Markup(", ").join(n(f"seeds/{i}", "d") for i in range(len(section.data["seeds"]))),
          split=n("split_seed", "d")),
    )
    section.p(T("reproduce.command"))
    section.add(Markup("<pre>{}</pre>").format(run["command"]))
    section.p(T("reproduce.lang", flag=Markup("<code>--lang zh</code>")))
    rows = [[name, version] for name, version in section.data["versions"].items()]
    section.table(T("reproduce.versions"), [T("col.package"), T("col.version")], rows, numeric_from=2)
    return section


# ----------------------------------------------------------------------------------- section 8
#: The sources the page reproduces or builds on: (key, authors, year, title, venue, links).
#: Checked against the sources' own pages (arXiv, ISCA archive, NeurIPS proceedings) where the
#: project's search tools reach them; the lecture's two links are the course's own.
REFERENCES: tuple[dict[str, Any], ...] = (
    {"key": "lee2021", "authors": "Hung-yi Lee (李宏毅)", "year": "2021",
     "title": "Machine Learning 2021 Spring, lecture “Classification”", "venue": "National Taiwan University",
     "links": ("https://speech.ee.ntu.edu.tw/~hylee/ml/2021-spring.php",
               "https://speech.ee.ntu.edu.tw/~hylee/ml/ml2021-course-data/classification_v2.pdf")},
    {"key": "nielsen2015", "authors": "Michael A. Nielsen", "year": "2015",
     "title": "Neural Networks and Deep Learning, chapter 3: Improving the way neural networks learn",
     "venue": "Determination Press", "links": ("http://neuralnetworksanddeeplearning.com/chap3.html",)},
    {"key": "golik2013", "authors": "Pavel Golik, Patrick Doetsch, Hermann Ney", "year": "2013",
     "title": "Cross-entropy vs. squared error training: a theoretical and experimental comparison",
     "venue": "Interspeech 2013, pp. 1756–1760",
     "links": ("https://www.isca-speech.org/archive/interspeech_2013/i13_1756.html",)},
    {"key": "kingma2015", "authors": "Diederik P. Kingma, Jimmy Ba", "year": "2015",
     "title": "Adam: A Method for Stochastic Optimization", "venue": "ICLR 2015",
     "links": ("https://arxiv.org/abs/1412.6980",)},
    {"key": "guo2017", "authors": "Chuan Guo, Geoff Pleiss, Yu Sun, Kilian Q. Weinberger", "year": "2017",
     "title": "On Calibration of Modern Neural Networks", "venue": "ICML 2017",
     "links": ("https://arxiv.org/abs/1706.04599",)},
    {"key": "muller2019", "authors": "Rafael Müller, Simon Kornblith, Geoffrey E. Hinton", "year": "2019",
     "title": "When Does Label Smoothing Help?", "venue": "NeurIPS 2019", "links": ("https://arxiv.org/abs/1906.02629",)},
    {"key": "hinton", "authors": "Geoffrey Hinton", "year": "n.d.",
     "title": "CSC321: Introduction to Neural Networks and Machine Learning, lecture 10 notes",
     "venue": "University of Toronto", "links": ("http://www.cs.toronto.edu/~hinton/csc321/notes/lec10_files/slide0025.htm",)},
    {"key": "hui2021", "authors": "Like Hui, Mikhail Belkin", "year": "2021",
     "title": "Evaluation of Neural Architectures Trained with Square Loss vs Cross-Entropy in Classification Tasks",
     "venue": "ICLR 2021", "links": ("https://arxiv.org/abs/2006.07322",)},
)


def references_section() -> Section:
    """Section 8: the lecture and the papers, as plain links that the page never loads."""
    section = Section("references", T("references.title"))
    section.data = {"references": [dict(ref, links=list(ref["links"])) for ref in REFERENCES]}
    section.p(T("references.intro"))
    items = []
    for ref in REFERENCES:
        links = Markup(" · ").join(
            Markup("<a{}>{}</a>").format(attrs(href=url, rel="noreferrer"), url.split("://", 1)[1]) for url in ref["links"]
        )
        items.append(Markup('<li id="ref-{}"><span translate="no"><span class="ref-authors">{}</span> ({}). '
                            '<cite>{}</cite>. {}. <span class="ref-links">{}</span></span>{}</li>').format(
            ref["key"], ref["authors"], ref["year"], ref["title"], ref["venue"], links,
            T(f"references.{ref['key']}").inline("span", class_="ref-note")))
    section.add(Markup('<ol class="references">{}</ol>').format(Markup("").join(items)))
    return section


def build_sections(results: Results, figures: Mapping[str, Figure], run: Mapping[str, Any],
                   reproduce: Mapping[str, Any]) -> list[Section]:
    """Sections 1-8 in the seeds' order.

    The lab's sections (surface, training, beyond) are built by their own functions; here they
    get their translated titles, and the surface section the interactive error surface.
    """
    surface = surface_section(results)
    surface.add(surface_explorer_html(results["surface"].get("setup")))
    training, beyond = training_section(results), beyond_section(results)
    surface.title, training.title, beyond.title = T("surface.title"), T("training.title"), T("beyond.title")
    from outlayer.report._experiments import add_experiments

    add_experiments(beyond, results)  # the lab's experiments and Nielsen's neuron, as subsections
    return [
        labels_section(results),
        softmax_section(results, figures["temperature"]),
        loss_section(results, figures["gradients"]),
        surface,
        training,
        beyond,
        reproduce_section(run, reproduce),
        references_section(),
    ]
