"""What differs between the two texts, one row each: the table every part reads instead of
branching on the text's name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TextName = Literal["tdt4265", "dd2424"]


@dataclass(frozen=True)
class Text:
    """One assignment text's conventions."""

    name: TextName
    #: the learning rate's symbol in the text (run names, labels)
    rate: str
    #: the weight matrix's name: TDT4265 ``w`` (d, K) with the bias as its last row, DD2424 ``W``
    #: (K, d) beside ``b``
    weights: str
    #: what the text's training curves are drawn against: every gradient step (TDT4265's
    #: histories are keyed by step) or every epoch (DD2424 measures the whole sets once an epoch)
    curves_by: Literal["step", "epoch"]
    #: the dataset and the split its experiments use by default
    dataset: str
    split: str
    #: whether a student's module may stand in for the NumPy side's model in ``python -m compare``
    #: (the starter's model class; a DD2424 hand-in is graded whole by compare.check)
    student_model: bool
    #: whether the text asks for histograms of the ground-truth class's probability on the test
    #: set (DD2424 Exercise 2.2)
    probability_histograms: bool


TEXTS: dict[str, Text] = {
    "tdt4265": Text("tdt4265", rate="lr", weights="w", curves_by="step", dataset="mnist",
                    split="tdt4265", student_model=True, probability_histograms=False),
    "dd2424": Text("dd2424", rate="eta", weights="W", curves_by="epoch", dataset="cifar10",
                   split="dd2424", student_model=False, probability_histograms=True),
}
