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

from collections.abc import Mapping, Sequence
from typing import Any

from outlayer.catalogue import CATALOGUE
from outlayer.report import _math as m
from outlayer.report._i18n import LANGUAGE_NEUTRAL, MESSAGES, Joined, Msg, T
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
)

__all__ = ["REFERENCES", "build_sections", "figure_from", "notation_box", "relation_key", "relation_msg"]

Results = Mapping[str, Mapping[str, Any]]

def loss_label(loss: str) -> Msg | str:
    """A loss's translated name (``lossname.<name>`` in the catalogue), else its registry name."""
    return T(f"lossname.{loss}") if f"lossname.{loss}" in MESSAGES else loss


def class_label(name: str) -> Msg | str:
    """A class name, translated when it is one of the worked example's (cat, dog, rabbit)."""
    return T(f"js.class.{name}") if f"js.class.{name}" in MESSAGES else name


def relation_key(a: Mapping[str, Any], b: Mapping[str, Any], paired: Mapping[str, Any] | None = None) -> str:
    """How ``a`` stands to ``b``, as the catalogue key of the words that the numbers of this run support.

    With ``paired`` (the per-seed difference a - b from ``compare()["paired"]``, or its mirror
    b - a with ``"flip": True``): "clearly above" / "clearly below" only when both its 95 %
    paired-t and bootstrap intervals exclude 0, otherwise "not clearly different from". Without
    it, ``a`` and ``b`` are {"mean", "ci95"} statistics and "clearly" needs intervals that do not
    overlap; overlapping intervals do not show equality, so the words stay "not clearly different
    from". With a single seed there is no interval and the words only say which mean is larger.
    """
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
    return T(relation_key(a, b, paired), a=a_name, b=b_name)


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
            inner += Markup(" ") + T("stat.bootstrap", low=numbers(f"{path}/{extra}/0", fmt),
                                     high=numbers(f"{path}/{extra}/1", fmt)).inline()
        text += Markup(' <span class="note">{}</span>').format(inner)
    return text


def _difference(numbers: Numbers, path: str, fmt: str = ".1%") -> Markup:
    """``mean [t low, t high] (bootstrap low, high)`` of a paired difference at ``path``, tagged."""
    return _interval(numbers, path, fmt, "t_ci95", "bootstrap_ci95")


def _paired_key(summary: Mapping[str, Any], paired: Mapping[str, Any], a: str, b: str,
                metric: str = "test_accuracy") -> str:
    """:func:`relation_key` of losses ``a`` and ``b`` from their stored paired difference."""
    _, entry, flipped = _paired(paired, a, b)
    return relation_key(summary[a][metric], summary[b][metric], {**entry[metric], "flip": flipped})


def _paired_relation(summary: Mapping[str, Any], paired: Mapping[str, Any], a: str, b: str, a_name: Msg, b_name: Msg,
                     metric: str = "test_accuracy") -> Msg:
    """The clause "A is clearly above B" (or ...) for losses ``a``, ``b``, from their paired difference."""
    return T(_paired_key(summary, paired, a, b, metric), a=a_name, b=b_name)


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


def setup_msg(numbers: Numbers, prefix: str) -> Msg:
    """The training setup of a compare() result at ``prefix`` of the data, as a translated phrase."""
    at = (lambda path: f"{prefix}/{path}") if prefix else (lambda path: path)
    config = numbers.value(at("config"))
    init = config["init"]
    return T("setup.phrase", dataset=str(config["dataset"]["name"]),
             classes=numbers(at("config/dataset/n_classes"), "d"), test=numbers(at("config/dataset/n_test"), "d"),
             seeds=str(len(config["seeds"])), epochs=numbers(at("config/epochs"), "d"),
             optimizer=str(config["optimizer"]), init=T(f"init.{init}") if f"init.{init}" in MESSAGES else init)


def _figure(result: Mapping[str, Any], stem: str, caption: Msg) -> Figure:
    """A figure a job drew into figures/ (``result["figures"]``: the listing of :func:`outlayer.plots.save_figures`),
    with all its panels."""
    return figure_from(result["figures"], stem, caption)


def figure_from(written: Mapping[str, str], stem: str, caption: Msg) -> Figure:
    """The page's :class:`Figure` for figure ``stem`` of a :func:`outlayer.plots.save_figures` listing."""
    from outlayer.plots import figure_stems

    stems = figure_stems(written, stem)
    if len(stems) == 1:
        return Figure(f"figures/{stems[0]}", caption)
    return Figure(f"figures/{stem}", caption, panels=tuple(f"figures/{file}" for file in stems))


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
    header: list[Msg | Markup | str] = [T("col.class"), m.math(m.I("p")), m.math(m.I("y")), m.math(_d_inline(_ce(), m.I("z"))),
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
def _optimizer_name(optimizer: str) -> Msg | str:
    """An optimiser's translated name (the interactive surface's: ``js.opt.<name>``)."""
    key = f"js.opt.{optimizer}"
    if key in LANGUAGE_NEUTRAL:
        return MESSAGES[key]["en"]  # a name ("Adam"): the same in every language, marked translate="no"
    return T(key) if key in MESSAGES else optimizer


def _fixed_math(n: Numbers, setup: Mapping[str, Any]) -> Markup:
    """The held logits as MathML, 1-based: z₃ = −∞ for a held-out class, else its tagged value."""
    parts = []
    for c, value in setup["fixed"].items():
        shown = m.row(m.O("−"), m.I("∞")) if value == "-inf" else n.mn(f"setup/fixed/{c}", "g")
        parts.append(m.row(_v("z", str(int(c) + 1)), m.O("="), shown))
    return m.math(*m.join(parts, m.O(",")))


def _point(n: Numbers, path: str, fmt: str = "g") -> Markup:
    """``(a, b)`` of the two numbers at ``path/0``, ``path/1``."""
    return Markup("({}, {})").format(n(f"{path}/0", fmt), n(f"{path}/1", fmt))


def _steps_cell(n: Numbers, loss: str, entry: Mapping[str, Any], optimizer: str) -> Msg | Markup:
    path = entry["paths"][optimizer]
    if path["steps_to_p90"] is not None:
        return n(f"losses/{loss}/paths/{optimizer}/steps_to_p90", "d")
    if not entry["goal_reachable"]:
        return T("surface.cell_unreachable")
    if path["diverged"]:
        return T("surface.cell_diverged")
    return Markup("&gt; {}").format(n("setup/steps", "d"))


def _reached(n: Numbers, loss: str, value: int | None) -> Msg:
    if value is None:
        return T("surface.not_within", steps=n("setup/steps", "d"))
    return T("surface.needs", steps=n(f"losses/{loss}/steps_to_p90", "d"))


def surface_section(results: Results) -> Section:
    surface = results["surface"]
    section = Section("surface", T("surface.title"))
    section.data = {key: value for key, value in surface.items() if key != "figures"}
    section.data["target_class"] = surface["setup"]["target"] + 1  # the class number a reader sees (1-based)
    n = Numbers(section.key, section.data)
    setup = surface["setup"]
    losses = surface["losses"]
    u, v = (m.math(_v("z", str(index + 1))) for index in setup["swept"])
    target = setup["target"]
    p_t = m.math(_v("p", str(target + 1)))
    section.p(
        T("surface.setup", classes=n("setup/num_classes", "d"), t=n("target_class", "d"),
          fixed=_fixed_math(n, setup), held=T("surface.held_out_note") if setup.get("held_out") else "",
          u=u, v=v, lo=n("setup/limits/0", "g"), hi=n("setup/limits/1", "g")),
        T("surface.corner", u=u, v=v, start=_point(n, "setup/start"), p=n("losses/ce/corner/p_target", ".1e"),
          ce=n("losses/ce/corner/grad_norm", ".3f"), mse=n("losses/mse/corner/grad_norm", ".1e"),
          ratio=n("corner_grad_norm_ratio_ce_mse", ".1e")),
        T("surface.figure_names"),
    )
    primary = setup["steps_to_p90_optimizer"]
    descent = [T("surface.descent", optimizer=_optimizer_name(primary), lr=n("setup/lr", "g"), p=p_t,
                 goal=n("setup/goal", "g"), ce=_reached(n, "ce", losses["ce"]["steps_to_p90"]),
                 mse=_reached(n, "mse", losses["mse"]["steps_to_p90"]))]
    if losses["mse"]["paths"][primary]["extrapolated_steps_to_p90"] is not None:
        descent.append(T("surface.extrapolated",
                         steps=n(f"losses/mse/paths/{primary}/extrapolated_steps_to_p90", ".1e")))
    section.p(*descent)
    reach = [T("surface.reach_rule")]
    for loss, entry in losses.items():
        if not entry["goal_reachable"]:
            reach.append(T("surface.unreachable", name=loss_label(loss),
                           point=_point(n, f"losses/{loss}/optimum/point", ".3g"),
                           p=n(f"losses/{loss}/optimum/p_target", ".3f"), goal=n("setup/goal", "g")))
            if any(path["first_above_goal"] is not None for path in entry["paths"].values()):
                reach.append(T("surface.overshoots"))
        elif loss == "ce-smooth":
            reach.append(T("surface.smooth_top", name=loss_label(loss), p=n(f"losses/{loss}/optimum/p_target", ".3f"),
                           goal=n("setup/goal", "g")))
    constants = [loss for loss, entry in losses.items() if entry["constant_is_infinite"] or entry["constant"]]
    if constants:
        infinite = all(losses[loss]["constant_is_infinite"] for loss in constants)
        reach.append(T("surface.constant", names=Joined(tuple(loss_label(loss) for loss in constants)),
                       value=T("surface.constant_infinite") if infinite else T("surface.constant_finite")))
    section.p(*reach)
    adam = _adam_sentences(n, surface)
    if adam:
        section.p(*adam)
    optimizers = setup["optimizers"]
    rows = []
    for loss, entry in losses.items():
        constant = Markup("∞") if entry["constant_is_infinite"] else n(f"losses/{loss}/constant", ".3g")
        rows.append([loss_label(loss), constant, n(f"losses/{loss}/corner/loss", ".3g"),
                     n(f"losses/{loss}/corner/grad_norm", ".3g"), n(f"losses/{loss}/optimum/p_target", ".3f"),
                     T("word.yes") if entry["goal_reachable"] else T("word.no"),
                     *[_steps_cell(n, loss, entry, opt) for opt in optimizers]])
    section.table(T("surface.table_caption", start=_point(n, "setup/start"), p=p_t, goal=n("setup/goal", "g"),
                    lr=n("setup/lr", "g")),
                  [T("col.loss"), T("surface.col_constant"), T("surface.col_corner_loss"),
                   T("surface.col_corner_grad", norm=m.math(m.O("‖"), m.row(m.O("∇"), m.I("L")), m.O("‖"))),
                   T("surface.col_optimum_p", p=p_t), T("surface.col_reachable"),
                   *[_optimizer_name(opt) for opt in optimizers]], rows)
    figures = surface.get("figures", {})
    line = m.math(_v("z", str(setup["swept"][0] + 1)), m.O("="), m.N("m/2"), m.O(","), Markup('<mspace width="0.5em"/>'),
                  _v("z", str(setup["swept"][1] + 1)), m.O("="), m.O("−"), m.N("m/2"))
    common = {"p": p_t, "goal": n("setup/goal", "g")}
    captions = {
        "surface_3d": T("fig.surface_3d"),
        "surface_paths": T("fig.surface_paths", lr=n("setup/lr", "g"), steps=n("setup/steps", "d"), **common),
        "surface_gradients": T("fig.surface_gradients"),
        "surface_progress": T("fig.surface_progress", **common),
        "surface_margin_cut": T("fig.surface_margin_cut", line=line),
        "surface_probability": T("fig.surface_probability", p=p_t),
        "surface_steps_map": T("fig.surface_steps_map", optimizer=_optimizer_name(primary), lr=n("setup/lr", "g"),
                               steps=n("setup/steps", "d"), **common),
    }
    section.figures([_figure(surface, stem, caption) for stem, caption in captions.items() if stem in figures],
                    wide=True)
    return section


def _adam_sentences(n: Numbers, surface: Mapping[str, Any]) -> list[Msg]:
    """What Adam does on the toy, worded from its measured first step (section 5 measures the network)."""
    adam = (surface.get("adam_vs_plateau") or {}).get("adam")
    if adam is None:
        return []

    def outcome(loss: str) -> Msg:
        if adam["steps_to_p90"][loss] is None:
            return T("surface.not_within", steps=n("setup/steps", "d"))
        return T("surface.needs", steps=n(f"adam_vs_plateau/adam/steps_to_p90/{loss}", "d"))

    sentences = [T("surface.adam_steps", mse=outcome("mse"), ce=outcome("ce"))]
    if adam.get("first_step_vs_gradient") is None:
        return sentences
    g, eps = m.row(m.O("|"), m.I("g"), m.O("|")), m.I("ε")
    formula = m.math(m.I("lr"), m.O("·"), g, m.O("/"), m.paren(g, m.O("+"), eps))
    base = "adam_vs_plateau/adam/first_step_vs_gradient"
    return sentences + [
        T("surface.adam_first", formula=formula, mse=n(f"{base}/mse/step_over_lr/0", ".2f"),
          g=n(f"{base}/mse/abs_grad/0", ".2g"), eps=n(f"{base}/mse/eps", "g"), ce=n(f"{base}/ce/step_over_lr/0", ".2f")),
        T("surface.adam_plateau"),
        T("surface.adam_network"),
    ]


# ----------------------------------------------------------------------------------- section 5
def _cell_name(name: str) -> Msg:
    """"gentle start, sgd" for the cell "gentle-sgd", translated."""
    init, optimizer = name.split("-", 1)
    return T("training.cell", init=T(f"init.{init}") if f"init.{init}" in MESSAGES else init, optimizer=optimizer)


def _failures(n: Numbers, base: str, entry: Mapping[str, Any]) -> Msg:
    """How many runs of a cell collapsed to one class or diverged, in words."""
    collapsed, diverged = (n(f"{base}/{kind}", "d") for kind in ("collapsed", "diverged"))
    if entry["collapsed"] and entry["diverged"]:
        return T("training.both_runs", collapsed=collapsed, diverged=diverged)
    if entry["collapsed"]:
        return T("training.collapsed_runs", count=collapsed)
    if entry["diverged"]:
        return T("training.diverged_runs", count=diverged)
    return T("word.none")


def training_section(results: Results) -> Section:
    section = Section("training", T("training.title"))
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
    ce_name, mse_name = T("short.ce"), T("short.mse")

    def versus(name: str) -> Msg:
        """How MSE stands to CE in cell ``name``, from the paired per-seed difference."""
        return _paired_relation(data[name]["summary"], data[name]["paired"], "mse", "ce", mse_name, ce_name)

    at = "cells/{}/summary/{}/test_accuracy".format
    section.p(
        T("training.confident", setup=setup_msg(n, "cells/confident-sgd"),
          std=n("cells/confident-sgd/summary/ce/initial_logit_std/mean", ".0f")),
        T("training.confident_result", ce=_stat(n, at("confident-sgd", "ce")), mse=_stat(n, at("confident-sgd", "mse"))),
        T("training.pairing"),
        T("training.paired_difference", diff=_difference(n, "cells/confident-sgd/paired/ce - mse/test_accuracy"),
          relation=versus("confident-sgd")),
    )
    section.p(
        T("training.gentle", mse=_stat(n, at("gentle-sgd", "mse")), ce=_stat(n, at("gentle-sgd", "ce")),
          diff=_difference(n, "cells/gentle-sgd/paired/ce - mse/test_accuracy"), relation=versus("gentle-sgd")),
        T("training.adam", mse=_stat(n, at("confident-adam", "mse")), ce=_stat(n, at("confident-adam", "ce")),
          diff=_difference(n, "cells/confident-adam/paired/ce - mse/test_accuracy"), relation=versus("confident-adam")),
        T("training.unpaired", sgd=_stat(n, at("confident-sgd", "mse")),
          relation=relation_msg(data["confident-adam"]["summary"]["mse"]["test_accuracy"],
                                data["confident-sgd"]["summary"]["mse"]["test_accuracy"],
                                T("training.mse_adam"), T("training.mse_sgd"))),
    )
    adam_key = _paired_key(data["confident-adam"]["summary"], data["confident-adam"]["paired"], "mse", "ce")
    section.p(*_adam_network_sentences(n, adam_key, versus("confident-adam"), probe))
    section.p(*_rate_sentences(n, tuning, data))
    section.add(T("training.caveats").inline("h3"))
    section.p(*_caveat_sentences(n, data))
    rows = []
    for name in cells:
        for loss in ("ce", "mse"):
            base = f"cells/{name}/summary/{loss}"
            entry = n.value(base)
            epochs = n(f"{base}/epochs_to_target/mean", ".1f") if entry["epochs_to_target"]["mean"] is not None else "–"
            se = n(f"{base}/test_accuracy_binomial_se", ".1%") if entry["test_accuracy_binomial_se"] is not None else "–"
            rows.append([_cell_name(name), loss_label(loss), n(f"{base}/lr", "g"), _stat(n, f"{base}/test_accuracy"),
                         se, _stat(n, f"{base}/test_nll", ".3f"),
                         T("training.epochs_cell", mean=epochs, reached=n(f"{base}/epochs_to_target/reached", "d"),
                           runs=n(f"{base}/epochs_to_target/runs", "d")),
                         _failures(n, base, entry)])
    target = n("cells/confident-sgd/config/target_accuracy", ".0%")
    section.table(T("training.table_caption"),
                  [T("col.cell"), T("col.loss"), T("col.lr"), T("col.test_accuracy"), T("col.test_se"), T("col.test_nll"),
                   T("col.epochs_to", target=target), T("col.failed")], rows, numeric_from=2)
    paired_rows = [[_cell_name(name), _difference(n, f"cells/{name}/paired/ce - mse/test_accuracy"),
                    _difference(n, f"cells/{name}/paired/ce - mse/test_nll", ".3f"),
                    _difference(n, f"cells/{name}/paired/ce - mse/test_ece", ".3f")] for name in cells]
    section.table(T("training.paired_caption"), [T("col.cell"), T("col.test_accuracy"), T("col.test_nll"), T("col.ece")],
                  paired_rows, numeric_from=1)
    figures = [_figure(result, f"training_{name}_accuracy", T("fig.training_accuracy", cell=_cell_name(name), target=target))
               for name, result in cells.items()]
    figures.append(_figure(cells["confident-sgd"], "training_confident-sgd_gradients", T("fig.training_gradients")))
    section.figures(figures)
    section.figures([_figure(results["tuning"], "lr_tuning", T("fig.lr_tuning")),
                     _figure(results["adam-probe"], "adam_first_step",
                             T("fig.adam_first_step", batch=n("probe/setup/batch_size", "d")))], wide=True)
    return section


def _adam_network_sentences(n: Numbers, adam_key: str, adam_relation: Msg, probe: Mapping[str, Any]) -> list[Msg]:
    """The Adam question: why the toy's rescue does (not) carry over, worded from the probe's numbers.

    ``adam_key``/``adam_relation``: how MSE stands to CE with Adam from the confident start
    (paired over seeds), as a relation key and as its clause.
    """
    net = probe["network_summary"]
    fewer = (net["mse"]["effective_samples_first_batch"]["median"] < 0.5 * net["ce"]["effective_samples_first_batch"]["median"]
             and net["mse"]["misclassified_margin_grows"]["median"] < net["ce"]["misclassified_margin_grows"]["median"])
    base = "probe/network_summary"
    sentences = [
        T("training.adam_why") if adam_key == "rel.clearly_below" else T("training.adam_here", relation=adam_relation),
        T("training.adam_toy", mse=n("probe/toy/losses/mse/adam_step_over_lr/0", ".2f"),
          ce=n("probe/toy/losses/ce/adam_step_over_lr/0", ".2f"), g=n("probe/toy/losses/mse/abs_grad/0", ".2g")),
        T("training.adam_network", mse=n(f"{base}/mse/median_adam_step_over_lr/median", ".2f"),
          ce=n(f"{base}/ce/median_adam_step_over_lr/median", ".2f"),
          g=n(f"{base}/mse/median_param_grad_over_eps/median", ".1e")),
    ]
    if net["mse"]["median_param_grad_over_eps"]["median"] > 100:
        sentences.append(T("training.adam_divided"))
    g_i = m.row(m.O("|"), _v("g", "i"), m.O("|"))
    effective = m.math(m.sup(m.paren(m.sum_over("i"), g_i), m.N("2")), m.O("/"), m.sum_over("i"), m.sup(_v("g", "i"), m.N("2")))
    sentences += [
        T("training.adam_cannot"),
        T("training.adam_samples", ce=n(f"{base}/ce/median_grad_misclassified/median", ".2f"),
          mse=n(f"{base}/mse/median_grad_misclassified/median", ".1e"),
          ce_eff=n(f"{base}/ce/effective_samples_first_batch/median", ".1f"), batch=n("probe/setup/batch_size", "d"),
          mse_eff=n(f"{base}/mse/effective_samples_first_batch/median", ".1f"), formula=effective),
        T("training.adam_margin", ce=n(f"{base}/ce/misclassified_margin_grows/median", ".0%"),
          mse=n(f"{base}/mse/misclassified_margin_grows/median", ".0%")),
    ]
    if fewer:
        sentences.append(T("training.adam_fewer"))
    return sentences


def _rate_sentences(n: Numbers, tuning: Mapping[str, Any], data: Mapping[str, Any]) -> list[Msg]:
    procedure = tuning["procedure"]
    seeds = Markup(", ").join(n(f"tuning/procedure/tuning_seeds/{i}", "d") for i in range(len(procedure["tuning_seeds"])))
    failed = sum(cell["summary"][loss]["collapsed"] + cell["summary"][loss]["diverged"]
                 for cell in data.values() for loss in ("ce", "mse"))
    sentences = [
        T("training.rates", command=Markup("<code>outlayer compare --tune-lr</code>"),
          epochs=n("tuning/procedure/epochs", "d"), seeds=seeds),
        T("training.rates_skip"),
        T("training.rates_stored", command=Markup("<code>{}</code>").format(tuning["command"])),
    ]
    if failed:
        sentences.append(T("training.failed", count=str(failed)))
    else:
        sentences.append(T("training.no_failures"))
    return sentences


def _caveat_sentences(n: Numbers, data: Mapping[str, Any]) -> list[Msg]:
    """The caveats that keep the comparison honest, each with its number."""
    conf = data["confident-sgd"]
    paired = conf["paired"]["ce - mse"]["test_accuracy"]
    sentences = []
    if paired["t_ci95"] is not None and conf["summary"]["ce"]["test_accuracy"]["ci95"] is not None:
        cell = "cells/confident-sgd"
        sentences.append(T(
            "training.caveat_pairs",
            lo=n(f"{cell}/paired/ce - mse/test_accuracy/t_ci95/0", ".1%"),
            hi=n(f"{cell}/paired/ce - mse/test_accuracy/t_ci95/1", ".1%"),
            ce_lo=n(f"{cell}/summary/ce/test_accuracy/ci95/0", ".1%"), ce_hi=n(f"{cell}/summary/ce/test_accuracy/ci95/1", ".1%"),
            mse_lo=n(f"{cell}/summary/mse/test_accuracy/ci95/0", ".1%"),
            mse_hi=n(f"{cell}/summary/mse/test_accuracy/ci95/1", ".1%")))
    sentences += [
        T("training.caveat_scales", ce=n("probe/loss_scales/ce", ".4f"), mse=n("probe/loss_scales/mse_sum", ".4f"),
          mean=n("probe/loss_scales/mse_mean_over_classes", ".4f")),
        T("training.caveat_uniform", k=n("probe/uniform_start/num_classes", "d"),
          ratio=n("probe/uniform_start/ratio_mse_ce", ".3f")),
        T("training.caveat_start", gentle=n("cells/gentle-sgd/summary/ce/initial_logit_std/mean", ".2f"),
          confident=n("cells/confident-sgd/summary/ce/initial_logit_std/mean", ".0f"),
          q10=n("probe/network_summary/mse/median_p_true/q10", ".0e"),
          q90=n("probe/network_summary/mse/median_p_true/q90", ".0e"),
          corner=n("probe/lecture_corner_p_target", ".1e")),
    ]
    return sentences


# ----------------------------------------------------------------------------------- section 6
def beyond_section(results: Results) -> Section:
    main = results["gentle-sgd"]
    section = Section("beyond", T("beyond.title"))
    section.data = _compare_data(main, BEYOND_LOSSES)
    section.data["paired"] = _paired_data(main, BEYOND_LOSSES)
    section.data["loss_descriptions"] = {loss: CATALOGUE[loss].description for loss in BEYOND_LOSSES}
    smoothing = {option.name: option.default for option in CATALOGUE["ce-smooth"].options}["label_smoothing"]
    section.data["label_smoothing"] = main["config"].get("loss_options", {}).get("ce-smooth", {}).get(
        "label_smoothing", smoothing)
    n = Numbers(section.key, section.data)
    s = section.data["summary"]
    paired = section.data["paired"]
    section.p(
        T("beyond.hui"),
        T("beyond.hui_result", setup=setup_msg(n, ""), sq=_stat(n, "summary/mse-logits/test_accuracy"),
          ce=_stat(n, "summary/ce/test_accuracy"), diff=_difference(n, "paired/ce - mse-logits/test_accuracy"),
          relation=_paired_relation(s, paired, "mse-logits", "ce", T("beyond.square_name"), T("short.ce"))),
    )
    scaled = s["mse-logits"]["test_ece_scaled"]["mean"]
    raw = s["mse-logits"]["test_ece"]["mean"]
    mismatch = scaled is not None and raw is not None and scaled < 0.5 * raw
    scaling = {"sq": _stat(n, "summary/mse-logits/test_ece_scaled", ".3f"), "t": n("summary/mse-logits/temperature/mean", ".3g"),
               "ce": _stat(n, "summary/ce/test_ece_scaled", ".3f")}
    section.p(
        T("beyond.calibration", bins=n("config/ece_bins", "d")),
        T("beyond.ece_values", ce=_stat(n, "summary/ce/test_ece", ".3f"), smooth=_stat(n, "summary/ce-smooth/test_ece", ".3f"),
          eps=m.math(m.I("ε"), m.O("="), n.mn("label_smoothing", "g")), mse=_stat(n, "summary/mse/test_ece", ".3f"),
          sq=_stat(n, "summary/mse-logits/test_ece", ".3f")),
        T("beyond.ece_paired", diff=_difference(n, "paired/ce - ce-smooth/test_ece", ".3f"),
          relation=_paired_relation(s, paired, "ce-smooth", "ce", T("beyond.smooth_ece"), T("beyond.ce_ece"),
                                    metric="test_ece")),
        T("beyond.square_scale"),
        T("beyond.temperature_mismatch", **scaling) if mismatch else T("beyond.temperature_partial", **scaling),
    )
    rows = [[loss_label(loss), _stat(n, f"summary/{loss}/test_accuracy"), _stat(n, f"summary/{loss}/test_nll", ".3f"),
             _stat(n, f"summary/{loss}/test_ece", ".3f"), _stat(n, f"summary/{loss}/test_ece_scaled", ".3f")]
            for loss in BEYOND_LOSSES]
    section.table(T("beyond.table_caption"),
                  [T("col.loss"), T("col.test_accuracy"), T("col.test_nll"), T("col.ece"), T("col.ece_scaled")], rows)
    section.figures([_figure(main, "beyond_reliability", T("fig.reliability", bins=n("config/ece_bins", "d"))),
                     _figure(main, "beyond_learning_curves", T("fig.learning_curves"))])
    return section


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
    """Sections 1-8 in the seeds' order; the surface section ends with the interactive error surface."""
    surface = surface_section(results)
    surface.add(surface_explorer_html(results["surface"].get("setup")))
    from outlayer.report._experiments import add_experiments

    beyond = beyond_section(results)
    add_experiments(beyond, results)  # the lab's experiments and Nielsen's neuron, as subsections
    return [
        labels_section(results),
        softmax_section(results, figures["temperature"]),
        loss_section(results, figures["gradients"]),
        surface,
        training_section(results),
        beyond,
        reproduce_section(run, reproduce),
        references_section(),
    ]
