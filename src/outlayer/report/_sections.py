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

#: Legacy English labels, used by the sections not yet converted to the catalogue.
LOSS_LABELS: dict[str, str] = {
    "ce": "cross-entropy (CE)",
    "mse": "MSE on probabilities",
    "mse-logits": "square loss on logits",
    "ce-smooth": "CE + label smoothing",
    "scalar": "one scalar output",
}


def loss_label(loss: str) -> Msg | str:
    """A loss's translated name (``lossname.<name>`` in the catalogue), else its registry name."""
    return T(f"lossname.{loss}") if f"lossname.{loss}" in MESSAGES else loss


def class_label(name: str) -> Msg | str:
    """A class name, translated when it is one of the worked example's (cat, dog, rabbit)."""
    return T(f"js.class.{name}") if f"js.class.{name}" in MESSAGES else name


def relation(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """How statistic ``a`` stands to ``b`` ({"mean", "ci95"} from experiments.mean_ci95), in words.

    "clearly above" / "clearly below" only when the 95 % intervals do not overlap; otherwise the
    difference is within the seed-to-seed spread. With a single seed there is no interval and the
    words only say which mean is larger.
    """
    return _RELATION_WORDS[_relation_key(a, b)]


#: The legacy sections' English relation words (the catalogue's rel.* entries are whole clauses).
_RELATION_WORDS: dict[str, str] = {
    "rel.not_comparable": "not comparable (a run diverged)",
    "rel.equal": "equal to",
    "rel.above_one_seed": "above (one seed, no interval)",
    "rel.below_one_seed": "below (one seed, no interval)",
    "rel.clearly_above": "clearly above",
    "rel.clearly_below": "clearly below",
    "rel.within": "within the seed-to-seed spread of",
}


def _relation_key(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    if a["mean"] is None or b["mean"] is None:
        return "rel.not_comparable"
    if a.get("ci95") is None or b.get("ci95") is None:
        if a["mean"] == b["mean"]:
            return "rel.equal"
        return "rel.above_one_seed" if a["mean"] > b["mean"] else "rel.below_one_seed"
    if a["ci95"][0] > b["ci95"][1]:
        return "rel.clearly_above"
    if a["ci95"][1] < b["ci95"][0]:
        return "rel.clearly_below"
    return "rel.within"


def relation_msg(a: Mapping[str, Any], b: Mapping[str, Any], a_name: Msg, b_name: Msg) -> Msg:
    """The clause "A is clearly above B" (or below, or within the spread) for statistics a, b."""
    return T(_relation_key(a, b), a=a_name, b=b_name)


def _stat(numbers: Numbers, path: str, fmt: str = ".1%") -> Markup:
    """``mean [low, high]`` of a mean_ci95 entry at ``path``, each number tagged."""
    entry = numbers.value(path)
    if entry["mean"] is None:
        return Markup("n/a")
    text = numbers(f"{path}/mean", fmt)
    if entry.get("ci95") is not None:
        text += Markup(' <span class="note">[{}, {}]</span>').format(numbers(f"{path}/ci95/0", fmt),
                                                                     numbers(f"{path}/ci95/1", fmt))
    return text


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
def surface_section(results: Results) -> Section:
    surface = results["surface"]
    section = Section("surface", "The error surface")
    section.data = {key: value for key, value in surface.items() if key != "figures"}
    n = Numbers(section.key, section.data)
    setup = surface["setup"]
    u, v = setup["swept_names"]
    fixed = ", ".join(f"y{int(c) + 1} = {n(f'setup/fixed/{c}', 'g')}" for c in setup["fixed"])
    target = f"y{setup['target'] + 1}"
    section.paragraph(
        f"The lecture's picture: {n('setup/num_classes', 'd')} classes with {target} the true class's logit, "
        f"{fixed} held fixed (so that class has probability 0), and the error plotted over ({u}, {v}) in "
        f"[{n('setup/limits/0', 'g')}, {n('setup/limits/1', 'g')}]².",
        f"In the wrong-but-confident corner ({u}, {v}) = ({n('setup/start/0', 'g')}, {n('setup/start/1', 'g')}) "
        f"the true class has probability {n('losses/ce/corner/p_target', '.1e')}; the CE gradient there has norm "
        f"{n('losses/ce/corner/grad_norm', '.3f')} and the MSE gradient {n('losses/mse/corner/grad_norm', '.1e')}, "
        f"{n('corner_grad_norm_ratio_ce_mse', '.1e')} times smaller: MSE's surface is flat exactly where the model is most wrong.",
    )
    ce_steps, mse_steps = surface["losses"]["ce"]["steps_to_p90"], surface["losses"]["mse"]["steps_to_p90"]

    def reached(loss: str, value: int | None) -> str:
        if value is None:
            return f"does not get there within {n('setup/steps', 'd')} steps"
        return f"needs {n(f'losses/{loss}/steps_to_p90', 'd')} steps"

    section.paragraph(
        f"Gradient descent ({html.escape(setup['steps_to_p90_optimizer'])}, learning rate {n('setup/lr', 'g')}) "
        f"from that corner until the true class has p ≥ {n('setup/goal', 'g')}: CE {reached('ce', ce_steps)}, "
        f"MSE {reached('mse', mse_steps)}.",
        _adam_sentence(n, surface),
    )
    rows = []
    for loss in setup["losses"]:
        entry = surface["losses"][loss]
        rows.append([LOSS_LABELS.get(loss, html.escape(loss)),
                     n(f"losses/{loss}/corner/loss", ".3g"), n(f"losses/{loss}/corner/grad_norm", ".2e"),
                     n(f"losses/{loss}/max_grad_norm", ".3g"),
                     n(f"losses/{loss}/steps_to_p90", "d") if entry["steps_to_p90"] is not None
                     else f"not within {n('setup/steps', 'd')}"])
    section.add(table(f"At the corner ({n('setup/start/0', 'g')}, {n('setup/start/1', 'g')}) and over the grid",
                      ["loss", "loss at corner", "gradient norm at corner", "largest gradient norm on grid",
                       f"{html.escape(setup['steps_to_p90_optimizer'])} steps to p ≥ {n('setup/goal', 'g')}"], rows))
    captions = {
        "surface_3d": "The error surfaces over the two swept logits.",
        "surface_paths": "Contours and descent paths from the wrong corner, one per optimiser.",
        "surface_gradients": "Gradient norm over the plane (log colour scale) with the descent direction.",
        "surface_progress": "The target's probability along each descent path.",
        "surface_probability": "Loss and gradient norm against the target's probability.",
        "surface_steps_map": "Steps to reach the goal from every start point.",
    }
    section.figures([Figure(f"figures/{Path(surface['figures'][stem]).stem}", caption)
                     for stem, caption in captions.items() if stem in surface["figures"]], wide=True)
    return section


def _adam_sentence(n: Numbers, surface: Mapping[str, Any]) -> str:
    """What Adam does to the plateau, worded from the measured steps (plain GD's are the baseline)."""
    adam = (surface.get("adam_vs_plateau") or {}).get("adam")
    if adam is None:
        return ""
    ce, mse = adam["steps_to_p90"]["ce"], adam["steps_to_p90"]["mse"]
    if mse is None:
        return f"With Adam, MSE does not get there within {n('setup/steps', 'd')} steps either."
    plain_mse = surface["losses"]["mse"]["steps_to_p90"]
    helped = plain_mse is None or mse < plain_mse
    return (f"With Adam, which divides each step by its running gradient size, MSE needs "
            f"{n('adam_vs_plateau/adam/steps_to_p90/mse', 'd')} steps and CE "
            + (f"{n('adam_vs_plateau/adam/steps_to_p90/ce', 'd')}" if ce is not None else "does not get there")
            + (": the adaptive step hides most of MSE's flat corner." if helped else "."))


# ----------------------------------------------------------------------------------- section 5
def training_section(results: Results) -> Section:
    section = Section("training", "Training: CE vs MSE")
    cells = {f"{init}-{opt}": results[f"{init}-{opt}"] for init, opt in TRAINING_CELLS}
    section.data = {"cells": {name: _compare_data(result, ("ce", "mse")) for name, result in cells.items()}}
    n = Numbers(section.key, section.data)
    summaries = {name: cell["summary"] for name, cell in section.data["cells"].items()}
    conf = summaries["confident-sgd"]
    section.paragraph(
        f"The same network trained on {_setup_phrase(n, 'cells/confident-sgd')}: a confident start scales the output "
        f"layer so that the initial logits have a standard deviation of about "
        f"{n('cells/confident-sgd/summary/ce/initial_logit_std/mean', '.0f')}, so most samples begin confidently wrong.",
        f"There CE reaches {_stat(n, 'cells/confident-sgd/summary/ce/test_accuracy')} test accuracy and MSE "
        f"{_stat(n, 'cells/confident-sgd/summary/mse/test_accuracy')}: MSE is "
        f"{relation(conf['mse']['test_accuracy'], conf['ce']['test_accuracy'])} CE.",
    )
    gentle, adam = summaries["gentle-sgd"], summaries["confident-adam"]
    adam_vs_sgd = relation(adam["mse"]["test_accuracy"], conf["mse"]["test_accuracy"])
    adam_effect = {
        "clearly above": ": the rescaled steps win back part of what MSE lost",
        "clearly below": ": the rescaled steps make MSE worse here",
    }.get(adam_vs_sgd, "")
    section.paragraph(
        f"From a gentle start (small random weights) MSE reaches {_stat(n, 'cells/gentle-sgd/summary/mse/test_accuracy')} "
        f"against CE's {_stat(n, 'cells/gentle-sgd/summary/ce/test_accuracy')} "
        f"({relation(gentle['mse']['test_accuracy'], gentle['ce']['test_accuracy'])} it).",
        f"With Adam from the confident start, MSE reaches {_stat(n, 'cells/confident-adam/summary/mse/test_accuracy')} "
        f"and CE {_stat(n, 'cells/confident-adam/summary/ce/test_accuracy')}; MSE with Adam is {adam_vs_sgd} "
        f"MSE with SGD ({_stat(n, 'cells/confident-sgd/summary/mse/test_accuracy')}){adam_effect}.",
    )
    rows = []
    for name in cells:
        for loss in ("ce", "mse"):
            base = f"cells/{name}/summary/{loss}"
            target = n.value(f"{base}/epochs_to_target")
            reached = f"{n(f'{base}/epochs_to_target/reached', 'd')}/{n(f'{base}/epochs_to_target/runs', 'd')}"
            epochs = n(f"{base}/epochs_to_target/mean", ".1f") if target["mean"] is not None else "–"
            rows.append([html.escape(name.replace("-", " start, ")), LOSS_LABELS[loss], _stat(n, f"{base}/test_accuracy"),
                         _stat(n, f"{base}/test_nll", ".3f"), f"{epochs} ({reached} runs)"])
    target_accuracy = n("cells/confident-sgd/config/target_accuracy", ".0%")
    section.add(table("Final test metrics, mean over seeds [95% interval]",
                      ["start, optimiser", "loss", "test accuracy", "test NLL", f"epochs to {target_accuracy} test accuracy"],
                      rows, numeric_from=2))
    figures = [
        _figure(result, f"training_{name}_accuracy", f"Accuracy per epoch, {html.escape(name.replace('-', ' start, '))}.")
        for name, result in cells.items()
    ]
    figures.append(_figure(cells["confident-sgd"], "training_confident-sgd_gradients",
                           "Mean gradient norm on the misclassified training samples, confident start, SGD."))
    section.figures(figures)
    return section


# ----------------------------------------------------------------------------------- section 6
def beyond_section(results: Results) -> Section:
    main = results["gentle-sgd"]
    section = Section("beyond", "Beyond the lecture: square loss on logits, label smoothing, calibration")
    section.data = _compare_data(main, BEYOND_LOSSES)
    section.data["loss_descriptions"] = _descriptions(BEYOND_LOSSES)
    n = Numbers(section.key, section.data)
    s = section.data["summary"]
    section.paragraph(
        "Hui and Belkin (2021) train with the square loss on the raw logits instead of the probabilities; without the "
        "softmax in the loss, its gradient does not fade when the output saturates.",
        f"On {_setup_phrase(n, '')}, it reaches {_stat(n, 'summary/mse-logits/test_accuracy')} test accuracy, "
        f"{relation(s['mse-logits']['test_accuracy'], s['ce']['test_accuracy'])} CE's "
        f"{_stat(n, 'summary/ce/test_accuracy')}.",
    )
    section.paragraph(
        "Calibration asks whether a confidence of 80 % is right 80 % of the time; the expected calibration error (ECE) "
        f"averages the gap between confidence and accuracy over {n('config/ece_bins', 'd')} confidence bins of the test split.",
        f"ECE is {_stat(n, 'summary/ce/test_ece', '.3f')} for CE, {_stat(n, 'summary/ce-smooth/test_ece', '.3f')} with "
        f"label smoothing ({html.escape(section.data['loss_descriptions']['ce-smooth'])}), "
        f"{_stat(n, 'summary/mse/test_ece', '.3f')} for MSE on probabilities and "
        f"{_stat(n, 'summary/mse-logits/test_ece', '.3f')} for the square loss on logits; label smoothing's ECE is "
        f"{relation(s['ce-smooth']['test_ece'], s['ce']['test_ece'])} CE's.",
        "The square loss pulls the logits towards the one-hot values 1 and 0 rather than towards log-probabilities, "
        "so the softmax of its outputs was never trained to be a calibrated probability.",
    )
    rows = [[LOSS_LABELS[loss], _stat(n, f"summary/{loss}/test_accuracy"), _stat(n, f"summary/{loss}/test_nll", ".3f"),
             _stat(n, f"summary/{loss}/test_ece", ".3f")] for loss in BEYOND_LOSSES]
    section.add(table("Final test metrics, mean over seeds [95% interval]", ["loss", "test accuracy", "test NLL", "ECE"], rows))
    section.figures([_figure(main, "beyond_reliability",
                             "Reliability diagram: accuracy against confidence per bin, seeds pooled.")])
    section.figures([_figure(main, "beyond_learning_curves", "Training loss and test NLL per epoch.")], wide=True)
    return section


def _descriptions(losses: Sequence[str]) -> dict[str, str]:
    from outlayer.losses import get_loss

    return {loss: get_loss(loss).description for loss in losses}


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
