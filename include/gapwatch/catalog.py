"""What gapwatch can measure, as declarations only: metric names, tasks and directions, and drift
method names with their default thresholds.

Kept free of numpy/pandas so the spec (parsed by the DAG processor on every parse) can validate
names against it; the calculations live in ``evaluation`` and ``statistics`` (Evidently's split of
a metric's declaration from the function that calculates it).
"""

from __future__ import annotations

from dataclasses import dataclass

BINARY = "binary_classification"
MULTICLASS = "multiclass_classification"
REGRESSION = "regression"
TASKS = (BINARY, MULTICLASS, REGRESSION)


@dataclass(frozen=True)
class MetricDef:
    """What a metric is, independent of any monitor: direction and how its error is estimated."""

    name: str
    tasks: frozenset[str]
    higher_is_better: bool
    needs_score: bool
    uncertainty: str  # "analytic" | "bootstrap"
    description: str


def _def(name: str, tasks: set[str], higher: bool, score: bool, unc: str, text: str) -> MetricDef:
    return MetricDef(name, frozenset(tasks), higher, score, unc, text)


METRICS: dict[str, MetricDef] = {
    d.name: d
    for d in [
        _def("roc_auc", {BINARY}, True, True, "analytic", "area under the ROC curve"),
        _def("pr_auc", {BINARY}, True, True, "bootstrap", "average precision (area under PR curve)"),
        _def("f1", {BINARY}, True, False, "bootstrap", "F1 of the positive class"),
        _def("precision", {BINARY}, True, False, "analytic", "precision of the positive class"),
        _def("recall", {BINARY}, True, False, "analytic", "recall of the positive class"),
        _def("accuracy", {BINARY, MULTICLASS}, True, False, "analytic", "share of correct labels"),
        _def("log_loss", {BINARY}, False, True, "analytic", "mean negative log-likelihood"),
        _def("brier", {BINARY}, False, True, "analytic", "mean squared error of the probability"),
        _def("ece", {BINARY}, False, True, "bootstrap", "expected calibration error, 10 equal bins"),
        _def("f1_macro", {MULTICLASS}, True, False, "bootstrap", "unweighted mean of per-class F1"),
        _def("f1_weighted", {MULTICLASS}, True, False, "bootstrap", "support-weighted per-class F1"),
        _def("mae", {REGRESSION}, False, False, "analytic", "mean absolute error"),
        _def("rmse", {REGRESSION}, False, False, "analytic", "root mean squared error"),
        _def("mape", {REGRESSION}, False, False, "analytic", "mean absolute percentage error"),
        _def("r2", {REGRESSION}, True, False, "bootstrap", "coefficient of determination"),
    ]
}

# Metrics a binary classifier's label-free estimate (CBPE) can give before labels arrive.
ESTIMABLE = ("roc_auc", "accuracy")


def metrics_for(task: str) -> list[str]:
    """Names of the metrics that apply to a task."""
    return [name for name, d in METRICS.items() if task in d.tasks]


# Drift methods and their default thresholds. Distances drift at value >= threshold, p-values at
# value < threshold. Evidently's defaults where it has one (KS/chi-square p 0.05, Wasserstein
# normed and Jensen-Shannon 0.1); PSI 0.2 is the common "significant shift" rule of thumb.
DRIFT_THRESHOLDS: dict[str, float] = {
    "psi": 0.2,
    "ks": 0.15,
    "ks_pvalue": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "chisquare": 0.05,
}
PVALUE_METHODS = frozenset({"ks_pvalue", "chisquare"})
COLUMN_METHODS = tuple(sorted(DRIFT_THRESHOLDS))
MULTIVARIATE_METHODS = ("pca_reconstruction",)


# A breach needs 95% confidence that the metric is past its limit: a one-sided test, so the
# value's upper (lower, for errors) 95% bound must lie beyond the limit. The band shown
# everywhere (messages, charts) is value ± BREACH_Z·stderr: each edge is one of those bounds, so
# "breach" reads as "the whole band is past the limit".
BREACH_Z = 1.645
