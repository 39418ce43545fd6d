"""The catalogue entries of the lab's experiments (:mod:`outlayer.report._experiments`), English and Chinese.

Merged into :data:`outlayer.report._i18n.MESSAGES` (one line there), checked by the same tests
(both languages, the same placeholders, the glossary's terms). Plain text; ``{name}`` fields are
numbers from the data (Markup), links, loss names or other messages.
"""

from __future__ import annotations

__all__ = ["EXPERIMENT_MESSAGES"]

EXPERIMENT_MESSAGES: dict[str, dict[str, str]] = {
    "references.hinton": {
        "en": "Squared error on softmax-like outputs first learns the class priors and lingers there (the last subsection "
              "of section 6).",
        "zh": "在类似 softmax 的输出上用平方误差时，网络先学到类别先验，并在那里停留（第 6 节最后一小节）。",
    },
    # ------------------------------------------------------------------ shared
    "exp.intro": {
        "en": "The experiments below are the ones a teacher reaches for after the lecture. Each reproduces a published "
              "observation with this page's network and statistics, and names its source; every number is from this run.",
        "zh": "下面几个实验是讲完这一课后老师常会接着做的。每个实验都用本页的网络和统计方法复现一项已发表的观察，并注明出处；"
              "所有数字都来自这次运行。",
    },
    "exp.never": {"en": "never", "zh": "从未"},
    "exp.rate_source_tuned": {
        "en": "tuned for these settings by the procedure of the stored defaults",
        "zh": "按存储的默认值所用的同一流程，针对这组设置调出",
    },
    "exp.rate_source_fallback": {
        "en": "not tuned for these settings: a stored default of the training section",
        "zh": "并非针对这组设置调出，而是沿用训练一节存储的默认值",
    },
    "exp.col.loss_optimizer": {"en": "loss · optimiser", "zh": "损失 · 优化器"},
    "exp.col.loss_start": {"en": "loss, initial logit scale", "zh": "损失，初始 logit 的尺度"},
    "exp.col.loss": {"en": "loss", "zh": "损失"},
    "exp.col.rate_of": {"en": "learning rate, {optimizer}", "zh": "学习率（{optimizer}）"},
    # ------------------------------------------------------------------ Nielsen's neuron
    "exp.neuron.title": {"en": "Nielsen's single neuron: the two-class case", "zh": "Nielsen 的单个神经元：两个类别的情形"},
    "exp.neuron.intro": {
        "en": "Michael Nielsen's book ({link}, chapter 3) teaches one sigmoid neuron to turn the input 1 into the output 0, "
              "once with the quadratic cost and once with cross-entropy. The quadratic cost's gradient carries the "
              "sigmoid's slope a(1 − a), which vanishes when the neuron is confidently wrong; cross-entropy's gradient is "
              "the error a − y itself.",
        "zh": "Michael Nielsen 的书（{link}，第 3 章）让一个 sigmoid 神经元学习把输入 1 变成输出 0，一次用二次代价，一次用交叉熵。"
              "二次代价的梯度带着 sigmoid 的斜率 a(1 − a)，神经元错得越自信，这个因子越接近 0；交叉熵的梯度就是误差 a − y 本身。",
    },
    "exp.neuron.equal": {
        "en": "From (w, b) = ({w}, {b}), where the output starts at {a0}, and at the same learning rate {lr} for both, "
              "the quadratic cost needs {q} epochs to bring the output below {threshold} and cross-entropy {c}: "
              "{ratio} times as many.",
        "zh": "从 (w, b) = ({w}, {b}) 出发（初始输出为 {a0}），两种代价都用学习率 {lr}：二次代价要 {q} 轮才把输出降到 {threshold} "
              "以下，交叉熵只要 {c} 轮，前者是后者的 {ratio} 倍。",
    },
    "exp.neuron.never": {
        "en": "From (w, b) = ({w}, {b}), where the output starts at {a0}, at the learning rate {lr} one of the costs does "
              "not bring the output below {threshold} within {epochs} epochs.",
        "zh": "从 (w, b) = ({w}, {b}) 出发（初始输出为 {a0}），在学习率 {lr} 下，有一种代价在 {epochs} 轮内都没能把输出降到 "
              "{threshold} 以下。",
    },
    "exp.neuron.rates": {
        "en": "At Nielsen's own rates (quadratic {lq}, cross-entropy {lc}) the curves have the shapes of his figures; "
              "those two rates are not comparable with each other, which is why the epochs above use one learning rate "
              "for both.",
        "zh": "用 Nielsen 自己的学习率（二次代价 {lq}，交叉熵 {lc}），曲线的形状与书中的图一致；但这两个学习率彼此不可比，"
              "所以上面的轮数对两种代价用同一个学习率。",
    },
    "exp.neuron.fig": {
        "en": "The neuron's output a per epoch from each start (w, b): MSE is the quadratic cost, CE cross-entropy; "
              "solid at Nielsen's rates, dashed at the equal rate η; dotted: the output thresholds. Last: the gradient "
              "reaching the weight, ∂C/∂w, against a (dotted: the starts' outputs). outlayer neuron --out draws the "
              "cost curves and the epochs tables too.",
        "zh": "从每个起点 (w, b) 出发，神经元的输出 a 随轮数的变化：MSE 即二次代价，CE 即交叉熵；实线为 Nielsen 的学习率，"
              "虚线为相同的学习率 η；点线为输出阈值。最后一幅：传到权重的梯度 ∂C/∂w 随 a 的变化（点线为各起点的输出）。"
              "outlayer neuron --out 还会画出代价曲线和轮数表。",
    },
    # ------------------------------------------------------------------ confidence sweep
    "exp.sweep.title": {"en": "How confident must the start be before MSE fails?", "zh": "初始要多自信，均方误差才会失败？"},
    "exp.sweep.intro": {
        "en": "The training section compares two starts. Here the start is a dial: the output layer of the same initial "
              "network is scaled so that the initial logits have standard deviation σ₀ = {stds}, and {losses} train from "
              "each scale with {optimizers} on {dataset} ({seeds} seeds, {epochs} epochs; the lecture's wrong-but-confident "
              "corner is described in {link}).",
        "zh": "训练一节只比较了两种初始化。这里把初始化变成一个旋钮：把同一个初始网络的输出层放大或缩小，使初始 logit 的标准差"
              "为 σ₀ = {stds}，然后在 {dataset} 数据集上，分别用 {optimizers} 从每个尺度训练 {losses}（{seeds} 个随机种子，"
              "{epochs} 轮；课程中“错得很自信”的角落见 {link}）。",
    },
    "exp.sweep.rates": {
        "en": "The stored default learning rates were tuned for σ₀ = 30 only, so every point trains at a rate tuned for it "
              "by the same procedure on the tuning seeds (second table); at σ₀ = 30 that procedure is the defaults' own.",
        "zh": "存储的默认学习率只针对 σ₀ = 30 调过，所以每个点都用同一流程在调参用的随机种子上为它单独调出的学习率（第二张表）；"
              "在 σ₀ = 30 时，这个流程就是默认值本身的流程。",
    },
    "exp.sweep.rates_fallback": {
        "en": "The stored learning rates were tuned for other settings than these, so each point uses the rate tuned at "
              "the nearest scale, or the confident start's default (second table).",
        "zh": "存储的学习率是针对另一组设置调出的，所以每个点都沿用最接近的尺度上调出的学习率，或自信初始化的默认值（第二张表）。",
    },
    "exp.sweep.p_true": {
        "en": "Before training, the median probability of the true class over the training samples is {low} at σ₀ = "
              "{low_std} and {high} at σ₀ = {high_std}; the lecture's corner has {corner}.",
        "zh": "训练前，训练样本上正确类别概率的中位数在 σ₀ = {low_std} 时为 {low}，在 σ₀ = {high_std} 时为 {high}；"
              "课程角落里的这个概率是 {corner}。",
    },
    "exp.sweep.ce_range": {
        "en": "With {optimizer}, cross-entropy's test accuracy stays between {low} and {high} over the whole range.",
        "zh": "用 {optimizer} 时，交叉熵的测试准确率在整个范围内都保持在 {low} 到 {high} 之间。",
    },
    "exp.sweep.drop": {
        "en": "With {optimizer}, {loss} reaches {low} at σ₀ = {low_std} and {far} at σ₀ = {far_std}; per seed the "
              "drop is {drop}, so {relation}.",
        "zh": "用 {optimizer} 时，{loss} 在 σ₀ = {low_std} 时达到 {low}，在 σ₀ = {far_std} 时为 {far}；按随机种子配对，"
              "下降了 {drop}，因此{relation}。",
    },
    "exp.sweep.at_low": {"en": "the accuracy from the smallest scale", "zh": "最小尺度下的准确率"},
    "exp.sweep.at_far": {"en": "the accuracy from the confident scale", "zh": "自信尺度下的准确率"},
    "exp.sweep.col_std": {"en": "σ₀ (initial logit std)", "zh": "σ₀（初始 logit 的标准差）"},
    "exp.sweep.col_p": {"en": "median p(true class) before training", "zh": "训练前正确类别概率的中位数"},
    "exp.sweep.table": {
        "en": "Test accuracy against the initial logit scale, mean over seeds [95% interval]",
        "zh": "测试准确率与初始 logit 尺度的关系：各随机种子的平均值 [95% 区间]",
    },
    "exp.sweep.rates_table": {
        "en": "The learning rate of every point (tuned per point)",
        "zh": "每个点所用的学习率（逐点调出）",
    },
    "exp.sweep.fig": {
        "en": "(a) Test accuracy against σ₀, the standard deviation of the initial logits (log axis), one line per loss "
              "and optimiser, 95% intervals over seeds. (b) The median probability of the true class p_t before training "
              "(grey band: 10th to 90th percentile over seeds); ★: the lecture's corner.",
        "zh": "(a) 测试准确率与 σ₀（初始 logit 的标准差，对数坐标）的关系，每条线对应一种损失和优化器，误差棒为各随机种子的 95% 区间。"
              "(b) 训练前正确类别概率 p_t 的中位数（灰带：各随机种子的第 10 到第 90 百分位数）；★：课程中的角落。",
    },
    # ------------------------------------------------------------------ calibration
    "exp.calib.title": {
        "en": "Calibration done properly: temperature scaling, a noise floor, an overconfident start",
        "zh": "认真做校准：温度缩放、噪声下限与过度自信的起点",
    },
    "exp.calib.intro": {
        "en": "Temperature scaling ({link}) divides the logits by one number T, fitted to the validation split's NLL; it "
              "changes no prediction, only the confidence. Every run fits its own T, and the table gives T and the test "
              "split's ECE ({bins} bins) and NLL before and after, on {dataset} ({test} test samples, {seeds} seeds, "
              "{epochs} epochs).",
        "zh": "温度缩放（{link}）把 logit 除以一个数 T，T 由验证集上的负对数似然（NLL）拟合得到；它不改变任何预测，只改变置信度。"
              "每次运行各自拟合一个 T；表中给出 T，以及温度缩放前后测试集上的 ECE（{bins} 个区间）和 NLL，"
              "数据为 {dataset}（{test} 个测试样本，{seeds} 个随机种子，{epochs} 轮）。",
    },
    "exp.calib.same_runs": {
        "en": "These are the runs of the training section and of the table above, with CE and CE + label smoothing "
              "also trained from the confident start.",
        "zh": "这些正是训练一节和上表所用的那些运行；此外，交叉熵与“交叉熵 + 标签平滑”也从自信初始化各训练了一遍。",
    },
    "exp.calib.never_raises": {
        "en": "T = 1 is among the temperatures tried, so the fitted T never raises the validation NLL; on the test split it "
              "can, a little.",
        "zh": "候选温度中包含 T = 1，所以拟合出的 T 绝不会提高验证集的 NLL；在测试集上则可能略有上升。",
    },
    "exp.calib.floor": {
        "en": "ECE is positive even for a perfectly calibrated model: redrawing each test sample's correctness from its own "
              "confidence ({test} samples, the confidence histogram of each run) gives a noise floor of {mean} on average "
              "and {q95} at the 95th percentile. Cross-entropy from the gentle start has ECE {ece}: {relation}.",
        "zh": "即使模型校准得完美，ECE 也是正的：按每个测试样本自己的置信度重新抽取它是否答对（{test} 个样本，用每次运行自己的置信度"
              "分布），得到的噪声下限平均为 {mean}，第 95 百分位数为 {q95}。从温和初始化训练的交叉熵，ECE 为 {ece}：{relation}。",
    },
    "exp.calib.ce_ece": {"en": "its ECE", "zh": "它的 ECE"},
    "exp.calib.floor_name": {"en": "the noise floor's 95th percentile", "zh": "噪声下限的第 95 百分位数"},
    "exp.calib.smooth": {
        "en": "From the {init} start, cross-entropy's fitted temperature is {t}: {confidence}. Its ECE is {ce}, and "
              "{smooth} with label smoothing ({link}), which is meant for overconfident networks; per seed "
              "cross-entropy's ECE minus smoothing's is {diff}, so {relation}.",
        "zh": "从{init}初始化出发，交叉熵拟合出的温度为 {t}：{confidence}。它的 ECE 为 {ce}，加上标签平滑（{link}，"
              "本是为过度自信的网络设计的）后为 {smooth}；按随机种子配对，交叉熵的 ECE 减去标签平滑的 ECE 为 {diff}，"
              "因此{relation}。",
    },
    "exp.calib.over": {
        "en": "above 1, so its logits are too large and it is overconfident",
        "zh": "大于 1，说明它的 logit 偏大，模型过度自信",
    },
    "exp.calib.under": {
        "en": "below 1, so its logits are too small and it is underconfident",
        "zh": "小于 1，说明它的 logit 偏小，模型不够自信",
    },
    "exp.calib.neither": {
        "en": "its interval contains 1, so it is neither clearly over- nor underconfident",
        "zh": "其区间包含 1，既不算明显过度自信，也不算明显不够自信",
    },
    "exp.calib.smooth_name": {"en": "the ECE with label smoothing", "zh": "标签平滑的 ECE"},
    "exp.calib.ce_name": {"en": "cross-entropy's", "zh": "交叉熵的 ECE"},
    "exp.calib.table": {
        "en": "Temperature scaling per loss and start (test split), mean over seeds [95% interval]",
        "zh": "各损失与初始化下的温度缩放（测试集）：各随机种子的平均值 [95% 区间]",
    },
    "exp.calib.col_t": {"en": "temperature T", "zh": "温度 T"},
    "exp.calib.col_ece_before": {"en": "ECE before", "zh": "缩放前 ECE"},
    "exp.calib.col_ece_after": {"en": "ECE after", "zh": "缩放后 ECE"},
    "exp.calib.col_nll_before": {"en": "NLL before", "zh": "缩放前 NLL"},
    "exp.calib.col_nll_after": {"en": "NLL after", "zh": "缩放后 NLL"},
    "exp.calib.col_floor": {"en": "ECE noise floor (95th percentile)", "zh": "ECE 噪声下限（第 95 百分位数）"},
    "exp.calib.fig_reliability": {
        "en": "The {init} start: Reliability diagrams, seeds pooled: accuracy (acc) against confidence (conf) per bin, before temperature "
              "scaling (T = 1, solid) and after (T = T*, dashed), above the number of test samples n in each bin, for "
              "CE and CE + label smoothing (the other losses' diagrams are in the reliability figure above); σ₀ is "
              "the initial logit scale (about 0.7: gentle start, 30: confident start).",
        "zh": "{init}初始化。可靠性图（合并各随机种子）：每个区间的准确率（acc）与置信度（conf），温度缩放前（T = 1，实线）与缩放后"
              "（T = T*，虚线），下方为每个区间的测试样本数 n；这里画的是交叉熵与“交叉熵 + 标签平滑”（其他损失的可靠性图见上文）；"
              "σ₀ 为初始 logit 的尺度（约 0.7 为温和初始化，30 为自信初始化）。",
    },
    # ------------------------------------------------------------------ CE then MSE
    "exp.pretrain.title": {"en": "Cross-entropy first, then MSE", "zh": "先用交叉熵，再用均方误差"},
    "exp.pretrain.intro": {
        "en": "Golik, Doetsch and Ney ({link}) found that squared error from a random start ends worse than cross-entropy, "
              "while squared error started from a network trained with cross-entropy can match it. Here the first {p} of "
              "{e} epochs train with {pre} and the remaining {rest} with {loss}; it is compared with {pre} for all {e} "
              "epochs and with {loss} from scratch, from the same network at each seed ({dataset}, {optimizer}, {seeds} "
              "seeds).",
        "zh": "Golik、Doetsch 与 Ney（{link}）发现：从随机初始化出发，平方误差训练的结果比交叉熵差；但若从已用交叉熵训练过的网络"
              "出发，平方误差可以追平交叉熵。这里先用 {pre} 训练 {e} 轮中的前 {p} 轮，剩下的 {rest} 轮用 {loss}；并与全部 {e} 轮都用"
              " {pre}、以及从头用 {loss} 训练相比较，每个随机种子下三者都从同一个网络出发（{dataset}，{optimizer}，{seeds} 个随机种子）。",
    },
    "exp.pretrain.arm_pretrained": {"en": "cross-entropy then {loss}", "zh": "先交叉熵后 {loss}"},
    "exp.pretrain.arm_ce": {"en": "cross-entropy continued", "zh": "一直用交叉熵"},
    "exp.pretrain.arm_scratch": {"en": "{loss} from scratch", "zh": "从头用 {loss}"},
    "exp.pretrain.result": {
        "en": "From the {init} start: cross-entropy then {loss} reaches a test accuracy of {a}, cross-entropy continued "
              "{b}, {loss} from scratch {c} (the continuation's learning rate {lr} was {source}).",
        "zh": "从{init}初始化出发：先交叉熵后 {loss} 的测试准确率为 {a}，一直用交叉熵为 {b}，从头用 {loss} 为 {c}"
              "（接续阶段的学习率 {lr} 是{source}）。",
    },
    "exp.pretrain.paired": {
        "en": "Per seed, the switch minus cross-entropy continued is {d1}, so {r1}; minus the scratch run it is {d2}, so {r2}.",
        "zh": "按随机种子配对，切换损失减去一直用交叉熵为 {d1}，因此{r1}；减去从头训练为 {d2}，因此{r2}。",
    },
    "exp.pretrain.fig": {
        "en": "The {init} start: test accuracy per epoch (mean over seeds, 95% band) of the three arms; the dotted "
              "line ends the pretraining.",
        "zh": "{init}初始化：三种做法的测试准确率随轮数的变化（各随机种子的平均值与 95% 带）；虚线处预训练结束。",
    },
    # ------------------------------------------------------------------ many classes
    "exp.many.title": {"en": "The square loss at 100 classes", "zh": "100 个类别时的平方损失"},
    "exp.many.intro": {
        "en": "Hui and Belkin ({link}) train with the square loss on the raw logits and, from about 40 classes on, rescale "
              "it: the true class's term is weighted by k and its target raised from 1 to M. A seeded synthetic task with "
              "{k} Gaussian classes in {features} dimensions ({train} training and {test} test samples) trains "
              "cross-entropy, the plain square loss on logits and the rescalings {rescalings} with {optimizers} "
              "({seeds} seeds, {epochs} epochs; learning rates {rates}).",
        "zh": "Hui 与 Belkin（{link}）直接对原始 logit 用平方损失训练；类别数在 40 个左右以上时，他们对损失做重新缩放：正确类别"
              "那一项乘以权重 k，目标值从 1 提高到 M。这里用一个固定随机种子生成的合成任务：{features} 维空间中的 {k} 个高斯类别"
              "（{train} 个训练样本，{test} 个测试样本），分别用 {optimizers} 训练交叉熵、不缩放的 logit 平方损失以及缩放 "
              "{rescalings}（{seeds} 个随机种子，{epochs} 轮；学习率{rates}）。",
    },
    "exp.many.values": {
        "en": "The two (k, M) pairs are the ones this project's brief cites from the paper for about 40 and about 1000 "
              "classes; 100 classes lie between them, so both are run.",
        "zh": "这两组 (k, M) 是本项目的任务说明中引用论文给出的、分别对应约 40 个和约 1000 个类别的取值；100 个类别介于两者之间，"
              "所以两组都跑。",
    },
    "exp.many.rescaled": {
        "en": "With {optimizer}, {variant} reaches a test accuracy of {acc} against {plain} without rescaling; per seed the "
              "difference is {diff}, so {relation}.",
        "zh": "用 {optimizer} 时，{variant} 的测试准确率为 {acc}，不缩放时为 {plain}；按随机种子配对，差值为 {diff}，因此{relation}。",
    },
    "exp.many.vs_ce": {"en": "Against cross-entropy ({ce}), {relation}.", "zh": "与交叉熵（{ce}）相比，{relation}。"},
    "exp.many.name_rescaled": {"en": "{variant}", "zh": "{variant} 的测试准确率"},
    "exp.many.name_plain": {"en": "the plain square loss", "zh": "不缩放的平方损失"},
    "exp.many.name_ce": {"en": "cross-entropy", "zh": "交叉熵"},
    "exp.many.table": {
        "en": "Test accuracy at 100 classes, mean over seeds [95% interval], and the learning rates",
        "zh": "100 个类别时的测试准确率：各随机种子的平均值 [95% 区间]，以及所用学习率",
    },
    "exp.many.fig": {
        "en": "(a) Test accuracy per epoch t (mean over seeds), colour: loss and rescaling, line style: optimiser; the "
              "dotted line is chance, 1/K. (b) The final test accuracy with its 95% interval over seeds.",
        "zh": "(a) 测试准确率随轮数 t 的变化（各随机种子的平均值），颜色表示损失与缩放方式，线型表示优化器；虚线为随机猜测的水平 "
              "1/K。(b) 最终测试准确率及各随机种子的 95% 区间。",
    },
    # ------------------------------------------------------------------ class priors
    "exp.priors.title": {"en": "MSE lingers at the class priors", "zh": "均方误差在类别先验处徘徊"},
    "exp.priors.intro": {
        "en": "Hinton's lecture notes ({link}) warn that with squared error a network first learns to output the class "
              "proportions, the priors, and then lingers there as if at a local minimum.",
        "zh": "Hinton 的讲义（{link}）提醒：用平方误差时，网络会先学会输出各类别所占的比例，即先验，然后在那里停留很久，"
              "看起来就像陷入了局部极小值。",
    },
    "exp.priors.setup": {
        "en": "On digits with imbalanced classes (class c keeps a share {ratio}^(c/9) of its samples, so the priors run from "
              "{high} down to {low}; {train} training samples), cross-entropy (learning rate {ce_lr}) and MSE (learning rate {mse_lr}) "
              "train the same network with {optimizer} for {epochs} epochs, {steps} steps, over {seeds} seeds; the rates "
              "were {source}.",
        "zh": "在类别不平衡的 digits 上（类别 c 只保留其样本的 {ratio}^(c/9)，先验从 {high} 一直降到 {low}；共 {train} 个训练样本），"
              "交叉熵（学习率 {ce_lr}）与均方误差（学习率 {mse_lr}）用 {optimizer} 训练同一个网络 {epochs} 轮，共 {steps} 步，"
              "{seeds} 个随机种子；学习率是{source}。",
    },
    "exp.priors.definition": {
        "en": "After every step we take, for each class c, the mean output p_c on the training samples of class c. A network "
              "that outputs the priors whatever the input gives π_c there; one that has learned the class gives nearly 1. "
              "A class lingers at its prior at a step when that output is within {tol} of π_c, and it counts as learned "
              "once the output reaches {learned}.",
        "zh": "每一步之后，对每个类别 c 取它自己的训练样本上输出 p_c 的平均值。一个不管输入是什么都输出先验的网络，在这里给出 π_c；"
              "学会了该类别的网络则给出接近 1 的值。若这个输出与 π_c 相差不超过 {tol}，就说该类别这一步停在先验处；"
              "输出达到 {learned} 时，算作学会了这个类别。",
    },
    "exp.priors.total": {
        "en": "Summed over the classes, MSE spends {mse} steps at the priors and cross-entropy {ce}; per seed the difference "
              "is {diff}, so {relation}.",
        "zh": "对所有类别求和，均方误差停在先验处的步数为 {mse}，交叉熵为 {ce}；按随机种子配对，差值为 {diff}，因此{relation}。",
    },
    "exp.priors.name_mse": {"en": "MSE's count", "zh": "均方误差的步数"},
    "exp.priors.name_ce": {"en": "cross-entropy's", "zh": "交叉熵的步数"},
    "exp.priors.rare": {
        "en": "The rarest class, {cls} (prior {prior}), is learned with cross-entropy {ce}, and with MSE {mse}.",
        "zh": "最稀少的类别 {cls}（先验 {prior}）：交叉熵{ce}；均方误差{mse}。",
    },
    "exp.priors.learned_in": {
        "en": "in {runs} of {seeds} runs, at step {step} on average",
        "zh": "在 {seeds} 次运行（每个随机种子一次）中有 {runs} 次学会了它，平均在第 {step} 步",
    },
    "exp.priors.learned_never": {
        "en": "in none of the {seeds} runs within {steps} steps",
        "zh": "在 {seeds} 次运行（每个随机种子一次）中，{steps} 步内一次也没有学会它",
    },
    "exp.priors.why": {
        "en": "Why: for a sample whose output is exactly the priors, the gradient on its true-class logit is {mse} under MSE "
              "and {ce} under cross-entropy for the rarest class, {cls}, against {mse_common} and {ce_common} for the most "
              "frequent, {common} (computed by the library's losses). MSE's push is proportional to the class's prior, so "
              "it hardly moves the rare classes off their priors; cross-entropy's is the prior minus 1.",
        "zh": "原因：对一个输出恰好等于先验的样本，其正确类别 logit 上的梯度，对最稀少的类别 {cls}，均方误差为 {mse}，交叉熵为 "
              "{ce}；对最常见的类别 {common}，分别为 {mse_common} 和 {ce_common}（由程序库的损失函数算出）。均方误差的推力与该类别的"
              "先验成正比，所以几乎推不动稀少的类别离开先验；交叉熵的推力则是先验减 1。",
    },
    "exp.priors.table": {
        "en": "Per class, from the most to the least frequent: steps at the prior and the first step learned, mean over seeds "
              "[95% interval] (runs that learned the class / runs)",
        "zh": "按类别（从最常见到最稀少）：停在先验处的步数与第一次学会的步数，各随机种子的平均值 [95% 区间]"
              "（学会该类别的运行次数 / 总运行次数）",
    },
    "exp.priors.col_prior": {"en": "prior π_c", "zh": "先验 π_c"},
    "exp.priors.col_at_ce": {"en": "steps at the prior, cross-entropy", "zh": "停在先验处的步数（交叉熵）"},
    "exp.priors.col_at_mse": {"en": "steps at the prior, MSE", "zh": "停在先验处的步数（均方误差）"},
    "exp.priors.col_learned_ce": {"en": "learned at step, cross-entropy", "zh": "学会时的步数（交叉熵）"},
    "exp.priors.col_learned_mse": {"en": "learned at step, MSE", "zh": "学会时的步数（均方误差）"},
    "exp.priors.fig": {
        "en": "First: MSE's mean output per class over all training samples after every step, with each class's prior "
              "π_c dotted in its colour (cross-entropy's looks alike: both losses match the priors on average). Then, "
              "for cross-entropy and for MSE, the output on each class's own samples (log axis); the grey band is the "
              "rarest class's prior ± the tolerance, the dashed line the learned threshold. Means over seeds; the "
              "x axis in epochs.",
        "zh": "第一幅：每一步之后，均方误差在所有训练样本上各类别输出的平均值，各类别的先验 π_c 以同色虚线标出（交叉熵的样子相同："
              "两种损失平均而言都对上了先验）。其后两幅：交叉熵与均方误差下，各类别自己的样本上的输出（对数坐标）；灰带是最稀少类别的"
              "先验加减容差，虚线是“学会”的阈值。均为各随机种子的平均；横轴以轮为单位。",
    },
}
