"""compare.check finds and calls real hand-ins of every course year (the project's issue 18):
earlier years' DD2424 API (EvaluateClassifier, ComputeGradients, ComputeAccuracy(X, y, W, b),
MiniBatchGD with more arguments), any spelling of a name (camelCase), class-based designs (a
method of an instance, the network set on it), functions of three data sets at once, a
LoadBatch that joins a folder of its own, plots saved into folders that do not exist, ``--map
ROLE=Class.method``, and the 2020 TDT4265 starter's file names.

Every hand-in here is tests/submissions/dd2424/handwritten.py (a correct plain-NumPy DD2424
file) with its functions renamed and rewrapped the way public hand-ins of earlier years write
them (the repositories each mirrors are named where it is built); a correct one passes every
check its year has and skips the rest, and one deliberate bug fails at exactly its check.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from compare.check import check

SUBMISSIONS = Path(__file__).parent / "submissions"
HANDWRITTEN = (SUBMISSIONS / "dd2424" / "handwritten.py").read_text()
TEXT = {"LoadBatch", "normalize", "ApplyNetwork", "ComputeLoss", "ComputeCost", "ComputeAccuracy",
        "BackwardPass", "MiniBatchGD", "flip_indices", "ApplyNetworkSigmoid",
        "ComputeLossMultipleBCE", "BackwardPassMultipleBCE"}
EVERY = ["LoadBatch", "normalize", "ApplyNetwork", "ComputeLoss", "ComputeCost",
         "ComputeAccuracy", "BackwardPass", "BackwardPass_l2", "MiniBatchGD", "flip",
         "multiple_bce_loss", "multiple_bce_gradient"]
QUICK = [c for c in EVERY if c != "MiniBatchGD"]


def renamed(mapping: dict[str, str], source: str = HANDWRITTEN) -> str:
    """``source`` with each name of ``mapping`` renamed (definitions and calls)."""
    for old, new in mapping.items():
        source = re.sub(rf"\b{old}\b", new, source)
    return source


def hidden(*names: str) -> str:
    """handwritten.py with the text's functions renamed out of the checker's sight
    (``text_ApplyNetwork``: no role's name in any spelling), to be rewrapped; ``names``: which
    (all of them when none are given)."""
    return renamed({n: f"text_{n}" for n in (names or TEXT)})


def handin(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def statuses(result) -> dict[str, str]:  # noqa: ANN001
    return {c.id: c.status for c in result.checks}


def expect(passing: list[str], **others: str) -> dict[str, str]:
    """Every check of ``passing`` a pass, those named in ``others`` as given."""
    return {c: others.get(c, "pass") for c in passing}


# ------------------------------------------------------------------ earlier years' API

# The API of the texts before 2025, as in AlexandrosFerles/DD2424_Deep_Learning_in_Data_Science
# (Labs/Lab1_Deep/src/DD2424_Assignment1.py) and jacobhm98/Deep-Learning-in-Data-Science
# (assignment1/functions.py): EvaluateClassifier(X, W, b), ComputeCost(X, Y, W, b, lambda),
# ComputeAccuracy(X, y, W, b), ComputeGradients(X, Y, P, W, lambda) without b,
# MiniBatchGD(X, Y, X_val, Y_val, GDparams, W, b, lambda) with GDparams = [n_batch, eta,
# n_epochs], returning (Wstar, bstar).
OLD_API = hidden(*sorted(TEXT - {"LoadBatch"})) + '''

def EvaluateClassifier(X, W, b):
    return text_ApplyNetwork(X, {"W": W, "b": b})


def ComputeCost(X, Y, W, b, lamda):
    P = EvaluateClassifier(X, W, b)
    return text_ComputeCost(P, np.argmax(Y, axis=0), {"W": W, "b": b}, lamda)


def ComputeAccuracy(X, y, W, b):
    return text_ComputeAccuracy(EvaluateClassifier(X, W, b), y)


def ComputeGradients(X, Y, P, W, lamda):
    grads = text_BackwardPass(X, Y, P, {"W": W}, lamda)
    return grads["W"], grads["b"]


def MiniBatchGD(X, Y, X_val, Y_val, GDparams, W, b, lamda):
    n_batch, eta, n_epochs = GDparams
    for epoch in range(n_epochs):
        for j in range(X.shape[1] // n_batch):
            Xbatch = X[:, j * n_batch:(j + 1) * n_batch]
            Ybatch = Y[:, j * n_batch:(j + 1) * n_batch]
            P = EvaluateClassifier(Xbatch, W, b)
            grad_W, grad_b = ComputeGradients(Xbatch, Ybatch, P, W, lamda)
            W = W - eta * grad_W
            b = b - eta * grad_b
    return W, b
'''
SKIPPED = dict.fromkeys(("normalize", "ComputeLoss", "flip", "multiple_bce_loss",
                         "multiple_bce_gradient"), "skip")


@pytest.mark.slow
def test_earlier_years_api_is_found_and_trains_in_lockstep(tmp_path: Path) -> None:
    result = check("dd2424", handin(tmp_path, "a1", OLD_API))
    assert statuses(result) == expect(EVERY, **SKIPPED), result.to_text()
    by_id = result.by_id()
    assert "ComputeAccuracy(X, y, W, b" in by_id["ComputeAccuracy"].message
    assert "called as MiniBatchGD(X, Y, X_val, Y_val, GDparams, W, b, lamda)" in \
        by_id["MiniBatchGD"].message, by_id["MiniBatchGD"].message


def test_earlier_years_api_with_a_bug_fails_at_its_check(tmp_path: Path) -> None:
    bug = OLD_API.replace('    grads = text_BackwardPass(X, Y, P, {"W": W}, lamda)\n',
                          '    grads = text_BackwardPass(X, Y, P, {"W": W}, lamda)\n'
                          '    grads["W"] = grads["W"] - 2 * lamda * W + lamda * W\n')
    result = check("dd2424", handin(tmp_path, "a1", bug), quick=True)
    assert statuses(result) == expect(QUICK, BackwardPass_l2="fail", **SKIPPED), \
        result.to_text()
    assert "1.0*lambda*W" in result.by_id()["BackwardPass_l2"].message


# MiniBatchGD with more arguments than the text's (training and validation labels, a seed), as
# sil-pixel/DD2424 (Assignment1/Assignment1.py: MiniBatchGD(X, Y, y, GDparams, init_net, lam,
# rng)) and AX-Berglund/DD2424-DeepLearning (Assignment1/src/Assignment1.py: ..., X_val=None,
# Y_val=None, track_loss=False) write it.
EXTRA_ARGUMENTS = renamed({"MiniBatchGD": "text_MiniBatchGD"}) + '''

def MiniBatchGD(X, Y, y, X_val, y_val, GDparams, init_net, lam, seed, verbose=False):
    rng = np.random.default_rng(seed)
    trained_net = text_MiniBatchGD(X, Y, GDparams, init_net, lam, rng)
    return trained_net, [ComputeAccuracy(ApplyNetwork(X_val, trained_net), y_val)]
'''


@pytest.mark.slow
def test_minibatch_gd_with_more_arguments_is_called_by_its_parameter_names(tmp_path: Path
                                                                           ) -> None:
    result = check("dd2424", handin(tmp_path, "a1", EXTRA_ARGUMENTS))
    assert statuses(result) == expect(EVERY), result.to_text()
    assert "MiniBatchGD(X, Y, y, X_val, y_val, GDparams, init_net, lam, seed)" in \
        result.by_id()["MiniBatchGD"].message


# ------------------------------------------------------------------ any spelling

# camelCase and other spellings, as in wilhelmagren/DD2424-Deep-Learning (assign1/functions.py:
# loadBatch, computeCost, computeGradsNum) and oStglnd/dd2424 (a1/model.py: computeGrads).
CAMEL = renamed({"LoadBatch": "loadBatch", "normalize": "normalizeData",
                 "ApplyNetwork": "applyNetwork", "ComputeLoss": "computeLoss",
                 "ComputeCost": "computeCost", "ComputeAccuracy": "computeAccuracy",
                 "BackwardPass": "computeGrads", "MiniBatchGD": "miniBatchGD",
                 "flip_indices": "flipIndices", "ComputeLossMultipleBCE": "computeLossMultipleBce",
                 "BackwardPassMultipleBCE": "backwardPassMultipleBce",
                 "ApplyNetworkSigmoid": "applyNetworkSigmoid"})


def test_camel_case_names_are_found(tmp_path: Path) -> None:
    result = check("dd2424", handin(tmp_path, "assignment1", CAMEL), quick=True)
    assert statuses(result) == expect(QUICK), result.to_text()


# ------------------------------------------------------------------ classes

# The network in a dict on self, no constructor arguments, lambda on self, methods named as the
# texts name the functions, MiniBatchGD a method calling self.ComputeGradients: as
# majdjamal/DD2424_labs (LAB1/model.py: class SLN) and MaxDauber/deep_learning_labs
# (Assignment1/olnn.py: class OLNN) write it.
CLASS_DICT = hidden() + '''

class Classifier:
    def __init__(self):
        self.network = {"W": np.zeros((10, 3072)), "b": np.zeros((10, 1))}
        self.lamda = 0.0

    def forward(self, X):
        return text_ApplyNetwork(X, self.network)

    def ComputeCost(self, X, y):
        return text_ComputeCost(self.forward(X), y, self.network, self.lamda)

    def ComputeAccuracy(self, X, y):
        return text_ComputeAccuracy(self.forward(X), y)

    def ComputeGradients(self, X_batch, Y_batch):
        P = self.forward(X_batch)
        return text_BackwardPass(X_batch, Y_batch, P, self.network, self.lamda)

    def MiniBatchGD(self, X, Y, GDparams):
        for epoch in range(GDparams.n_epochs):
            for j in range(X.shape[1] // GDparams.n_batch):
                inds = slice(j * GDparams.n_batch, (j + 1) * GDparams.n_batch)
                grads = self.ComputeGradients(X[:, inds], Y[:, inds])
                self.network = {"W": self.network["W"] - GDparams.eta * grads["W"],
                                "b": self.network["b"] - GDparams.eta * grads["b"]}
        return self.network


def LoadBatch(filename):
    return text_LoadBatch(filename)
'''


@pytest.mark.slow
def test_a_class_with_the_network_on_self_is_checked_method_by_method(tmp_path: Path) -> None:
    result = check("dd2424", handin(tmp_path, "model", CLASS_DICT))
    assert statuses(result) == expect(EVERY, **SKIPPED), result.to_text()
    message = result.by_id()["BackwardPass_l2"].message
    assert "model.py: Classifier().ComputeGradients" in message, message
    assert "self.network['W'] and self.network['b'] and self.lamda (lambda)" in message
    assert "Classifier().MiniBatchGD" in result.by_id()["MiniBatchGD"].message


# A constructor that needs the data (its parameter names say which), W and b as attributes:
# as oStglnd/dd2424 (a1/model.py: linearClassifier(K, d)) and chris4540/DD2424_Deep_Learning
# (assign1/one_layer_ann.py: OneLayerNetwork(nclass, ndim, lambda_)) write it.
CLASS_DATA = hidden() + '''

class OneLayer:
    def __init__(self, X, Y, lambda_=0.0):
        self.W = np.zeros((Y.shape[0], X.shape[0]))
        self.b = np.zeros((Y.shape[0], 1))
        self.lambda_ = lambda_

    def EvaluateClassifier(self, X):
        return text_ApplyNetwork(X, {"W": self.W, "b": self.b})

    def compute_cost(self, X, Y):
        P = self.EvaluateClassifier(X)
        return text_ComputeCost(P, np.argmax(Y, axis=0), {"W": self.W}, self.lambda_)

    def compute_gradients(self, X_batch, Y_batch, our_lambda):
        P = self.EvaluateClassifier(X_batch)
        grads = text_BackwardPass(X_batch, Y_batch, P, {"W": self.W}, our_lambda)
        return grads["W"], grads["b"]
'''


def test_a_class_made_with_the_checkers_data_by_its_parameter_names(tmp_path: Path) -> None:
    result = check("dd2424", handin(tmp_path, "model", CLASS_DATA), quick=True)
    assert statuses(result) == expect(
        QUICK, ComputeAccuracy="skip", LoadBatch="skip", **SKIPPED), result.to_text()
    message = result.by_id()["BackwardPass"].message
    assert "OneLayer(X, Y).compute_gradients (self.W and self.b and self.lambda_ (lambda) set " \
        "to the checker's before each call)" in message, message
    assert "compute_gradients(X_batch, Y_batch, our_lambda)" in message


def test_a_class_with_a_bug_fails_at_its_check(tmp_path: Path) -> None:
    bug = CLASS_DATA.replace("        return grads[\"W\"], grads[\"b\"]\n",
                             "        return grads[\"W\"] * X_batch.shape[1], grads[\"b\"]\n")
    result = check("dd2424", handin(tmp_path, "model", bug), quick=True)
    assert statuses(result) == expect(
        QUICK, ComputeAccuracy="skip", LoadBatch="skip", BackwardPass="fail",
        BackwardPass_l2="fail", **SKIPPED), result.to_text()


# ------------------------------------------------------------------ normalisation

# The training, validation and test sets at once, as AX-Berglund/DD2424-DeepLearning
# (Assignment1/src/Assignment1.py: preprocess_data(X_train_raw, X_val_raw, X_test_raw)) writes it.
THREE_SETS = hidden("normalize") + '''

def Normalize(trainX, valX, testX):
    mean_X = np.mean(trainX, axis=1, keepdims=True)
    std_X = np.std(trainX, axis=1, keepdims=True)
    return (text_normalize(trainX, mean_X, std_X), text_normalize(valX, mean_X, std_X),
            text_normalize(testX, mean_X, std_X))
'''


def test_normalize_of_three_sets(tmp_path: Path) -> None:
    result = check("dd2424", handin(tmp_path, "a1", THREE_SETS), quick=True)
    assert statuses(result) == expect(QUICK), result.to_text()
    assert "Normalize(trainX, valX, testX)" in result.by_id()["normalize"].message


def test_normalize_of_three_sets_that_uses_each_sets_own_statistics_fails(tmp_path: Path
                                                                          ) -> None:
    bug = THREE_SETS.replace("text_normalize(valX, mean_X, std_X)",
                             "text_normalize(valX, np.mean(valX, axis=1, keepdims=True), "
                             "np.std(valX, axis=1, keepdims=True))")
    result = check("dd2424", handin(tmp_path, "a1", bug), quick=True)
    assert statuses(result) == expect(QUICK, normalize="fail"), result.to_text()
    assert "the validation set is normalised by its own mean and std" in \
        result.by_id()["normalize"].message


# Normalisation that returns what it computed, as tests of the CS433-style standardize(x)
# return x, mean_x, std_x, and DD2424 hand-ins' normalise(X) write it.
RETURNS_STATS = hidden("normalize") + '''

def normalise(X):
    mean_X = np.mean(X, axis=1, keepdims=True)
    std_X = np.std(X, axis=1, keepdims=True)
    return text_normalize(X, mean_X, std_X), mean_X, std_X
'''


def test_normalize_returning_the_data_mean_and_std(tmp_path: Path) -> None:
    result = check("dd2424", handin(tmp_path, "a1", RETURNS_STATS), quick=True)
    assert statuses(result) == expect(QUICK), result.to_text()


# ------------------------------------------------------------------ LoadBatch

# A folder of its own joined to the file's name, as wilhelmagren/DD2424-Deep-Learning
# ('Dataset/' + filename) and sil-pixel/DD2424 (CIFAR_DIR + filename) write it.
FIXED_FOLDER = hidden("LoadBatch") + '''

def LoadBatch(filename):
    return text_LoadBatch('Datasets/cifar-10-batches-py/' + filename)
'''
PARENT_FOLDER = hidden("LoadBatch") + '''
import os

DATA_DIR = os.path.join('..', 'data')


def LoadBatch(filename):
    return text_LoadBatch(f"{DATA_DIR}/{filename}")
'''
OUTSIDE = hidden("LoadBatch") + '''

def LoadBatch(filename):
    return text_LoadBatch('/Users/student/DD2424/Datasets/' + filename)
'''
# The course's given LoadBatch (the raw dict) beside the student's own, as
# jacobhm98/Deep-Learning-in-Data-Science (assignment1/functions.py) and ttperr/DD2424-DL-KTH
# (Assignment1/Assignment1.py: load_batch and load_data) have it.
RAW_DICT = hidden("LoadBatch") + '''

def LoadBatch(filename):
    with open(filename, 'rb') as fo:
        return pickle.load(fo, encoding='bytes')


def load_data(filename):
    return text_LoadBatch(filename)
'''


@pytest.mark.slow
def test_load_batch_gets_its_file_where_it_looks(tmp_path: Path) -> None:
    fixed = check("dd2424", handin(tmp_path, "fixed", FIXED_FOLDER), quick=True)
    assert statuses(fixed) == expect(QUICK), fixed.to_text()
    assert "put at Datasets/cifar-10-batches-py/data_batch_1" in \
        fixed.by_id()["LoadBatch"].message
    parent = check("dd2424", handin(tmp_path, "parent", PARENT_FOLDER), quick=True)
    assert statuses(parent) == expect(QUICK), parent.to_text()
    assert "put at ../data/data_batch_1" in parent.by_id()["LoadBatch"].message
    outside = check("dd2424", handin(tmp_path, "outside", OUTSIDE), quick=True)
    assert statuses(outside) == expect(QUICK, LoadBatch="error"), outside.to_text()
    assert "outside the hand-in's scratch" in outside.by_id()["LoadBatch"].message
    assert not Path("/Users/student/DD2424/Datasets/data_batch_1").exists()


def test_the_given_load_batch_returning_the_raw_dict_is_passed_over(tmp_path: Path) -> None:
    result = check("dd2424", handin(tmp_path, "a1", RAW_DICT), quick=True)
    assert statuses(result) == expect(QUICK), result.to_text()
    message = result.by_id()["LoadBatch"].message
    assert "LoadBatch returns the raw CIFAR-10 dict" in message
    assert "a1.py: load_data is checked" in message


# A plot saved into a folder that does not exist, as ttperr/DD2424-DL-KTH
# ('Result_Pics/cost_function.png') and AX-Berglund/DD2424-DeepLearning write them.
PLOTS = hidden("LoadBatch") + '''
import matplotlib.pyplot as plt


def LoadBatch(filename):
    X, Y, y = text_LoadBatch(filename)
    fig, ax = plt.subplots(1, 5)
    for i in range(5):
        ax[i].imshow(X[:, i].reshape(3, 32, 32).transpose(1, 2, 0))
    plt.savefig('Result_Pics/montage.png')
    return X, Y, y
'''


def test_a_plot_into_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    result = check("dd2424", handin(tmp_path, "a1", PLOTS), quick=True)
    assert statuses(result) == expect(QUICK), result.to_text()
    assert not (tmp_path / "Result_Pics").exists()  # it went to the scratch copy


# ------------------------------------------------------------------ --map, no call fits

# A module-level forward that gives the scores, the network's softmax a method.
MAPPED = hidden("ApplyNetwork") + '''

def forward(X, W, b):
    return W @ X + b


class Classifier:
    def forward(self, X, network):
        return text_ApplyNetwork(X, network)
'''


@pytest.mark.slow
def test_map_names_a_method_of_a_class(tmp_path: Path) -> None:
    path = handin(tmp_path, "a1", MAPPED)
    plain = check("dd2424", path, quick=True)
    assert plain.status_of("ApplyNetwork") == "fail", plain.to_text()
    for name in ("Classifier.forward", "a1:Classifier.forward"):
        mapped = check("dd2424", path, quick=True, mapping={"ApplyNetwork": name})
        assert statuses(mapped) == expect(QUICK), mapped.to_text()
        assert "a1.py: Classifier().forward" in mapped.by_id()["ApplyNetwork"].message


NO_FIT = renamed({"ComputeCost": "text_ComputeCost"}) + '''

def ComputeCost(P, y, network, lam, *, reduction):
    return text_ComputeCost(P, y, network, lam)
'''


def test_when_no_call_fits_the_error_names_the_calls_and_the_signature(tmp_path: Path) -> None:
    result = check("dd2424", handin(tmp_path, "a1", NO_FIT), quick=True)
    assert statuses(result) == expect(QUICK, ComputeCost="error"), result.to_text()
    message = result.by_id()["ComputeCost"].message
    assert "no call fits; its signature: ComputeCost(P, y, network, lam, *, reduction)" in \
        message, message
    assert "tried: TypeError: ComputeCost() missing 1 required keyword-only argument: " \
        "'reduction' from ComputeCost(P, y, network, lam), ComputeCost(P, Y, network, lam)" \
        in message, message
    assert len(message) < 2000 and "[[" not in message and "array(" not in message


# ------------------------------------------------------------------ TDT4265, 2020


def test_tdt4265_2020_starter_files(tmp_path: Path) -> None:
    """The 2020 starter had task4a.py and task4.py where later years have task3a.py and
    task3.py (larsmmo/TDT4265-Computer-Vision-and-Deep-Learning, assignment1/)."""
    folder = tmp_path / "handin"
    shutil.copytree(SUBMISSIONS / "tdt4265" / "correct", folder)
    for old, new in (("task3a", "task4a"), ("task3", "task4")):
        (folder / f"{old}.py").rename(folder / f"{new}.py")
    for path in folder.glob("*.py"):
        path.write_text(re.sub(r"\btask3(a?)\b", r"task4\1", path.read_text()))
    result = check("tdt4265", folder, quick=True)
    assert {c.id: c.status for c in result.checks if c.status != "pass"} == {}, \
        result.to_text()


# A MiniBatchGD given the training and validation sets at once, as lists, with W and b apart
# and GDparams an object (a public hand-in's signature, seen 2026-12: miniBatchGD(X, Y, y,
# GDparams, W, b, lamb) with X = [X_train, X_val]).
SETS_AT_ONCE = HANDWRITTEN + '''

_text_MiniBatchGD = MiniBatchGD


def MiniBatchGD(X, Y, y, GDparams, W, b, lam):
    return _text_MiniBatchGD(X[0], Y[0], GDparams, {"W": W, "b": b}, lam,
                             np.random.default_rng(0))
'''


@pytest.mark.slow
def test_mini_batch_gd_given_every_set_at_once_trains_in_lockstep(tmp_path: Path) -> None:
    result = check("dd2424", handin(tmp_path, "sets", SETS_AT_ONCE))
    minibatch = result.by_id()["MiniBatchGD"]
    assert minibatch.status == "pass", result.to_text()
    assert "[training, validation] lists" in minibatch.message
