"""The experiments a teacher reaches for after the lecture, each measured with the lab's statistics.

Every module here is one experiment: a frozen config dataclass (defaults and allowed values in
one place, read by the command line), a ``run(config, out_dir=None)`` returning a JSON-able dict
(no NaN or infinity), and its figures (:mod:`outlayer.plots`). They train the lab's network
(:func:`outlayer.experiments.compare` / :func:`~outlayer.experiments.train_run`) with the core's
losses and :mod:`outlayer.optim`, and take every interval from :mod:`outlayer.stats`.

* :mod:`outlayer.lab.sweep`: the confidence dose-response (test accuracy against the initial
  logit scale, per loss and optimiser); ``outlayer sweep``.
* :mod:`outlayer.lab.calibration`: temperature scaling fitted on the validation NLL (Guo et al.
  2017) for every loss, a noise floor for ECE, and label smoothing from an overconfident start
  (Müller, Kornblith & Hinton 2019); ``outlayer calibration``.
* :mod:`outlayer.lab.pretrain`: cross-entropy first, then the square loss (Golik, Doetsch & Ney
  2013); ``outlayer compare --pretrain ce:EPOCHS``.
* :mod:`outlayer.lab.many_classes`: the square loss at 100 classes, with and without Hui &
  Belkin's (2021) rescaling k, M; ``outlayer many-classes``.
* :mod:`outlayer.lab.priors`: the square loss's plateau at the class priors on imbalanced data
  (Hinton's lecture notes); ``outlayer priors``.
* :mod:`outlayer.lab.rates`: the learning rates these experiments train at, tuned by the
  procedure of the lab's stored defaults and stored in ``lab_lr.json``.

Layering: the lab imports the core, :mod:`outlayer.experiments` and :mod:`outlayer.plots`;
never the report or the command line.
"""

from __future__ import annotations

__all__: list[str] = []
