"""The boosters as flat node arrays, walked with numpy, with each leaf's credit per incident field.

Why a module of its own
-----------------------
XGBoost spends about half a millisecond per call whatever the batch size, too
much for one incident within 2 ms with explanations. Training therefore also
writes the trees as flat arrays (``severity_trees.parquet``, built by
:func:`tree_table`, with each leaf's contribution per incident field,
XGBoost's approximate "Saabas" contributions precomputed); a few incidents are
predicted by walking those arrays with :class:`TreeArrays`, many by XGBoost
itself (:mod:`core.model.predict`). Both give the same leaves (tested).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.features.names import FEATURE_NAMES, FEATURE_SOURCE
from core.model.spec import TREES_FILE, ModelCardError

if TYPE_CHECKING:
    import xgboost as xgb

#: Up to this many incidents, trees are walked with numpy (see TreeArrays); above, by XGBoost.
ARRAY_PREDICT_MAX_ROWS: Final = 64

#: Trees whose leaves' credits are gathered together by ``field_credits`` for many rows (bounds memory).
_CREDIT_TREES: Final = 8

#: Incident fields (and "place") in the order of the explanation columns.
CREDIT_FIELDS: Final = tuple(dict.fromkeys(FEATURE_SOURCE[name] for name in FEATURE_NAMES))


def _node_means(left: Sequence[int], right: Sequence[int], value: Sequence[float],
                cover: Sequence[float]) -> np.ndarray:
    """Cover-weighted mean of the leaves under each node (a leaf: its value), as XGBoost computes it."""
    mean = np.zeros(len(left))
    stack = [(0, False)]
    while stack:
        node, children_done = stack.pop()
        if left[node] == -1:
            mean[node] = value[node]
        elif children_done:
            a, b = left[node], right[node]
            mean[node] = (mean[a] * cover[a] + mean[b] * cover[b]) / cover[node]
        else:
            stack += [(node, True), (left[node], False), (right[node], False)]
    return mean


def _node_depths(parents: Sequence[int]) -> np.ndarray:
    """Steps from the root to each node (a parent always has a smaller id than its children)."""
    depth = np.zeros(len(parents), dtype=np.int32)
    for node in range(1, len(parents)):
        depth[node] = depth[parents[node]] + 1
    return depth


def _leaf_fields(tree: Mapping[str, list], mean: np.ndarray) -> np.ndarray:
    """Per node, the Saabas credit of each incident field on the path from the root (filled at leaves)."""
    field_of = [CREDIT_FIELDS.index(FEATURE_SOURCE[name]) for name in FEATURE_NAMES]
    left, parents, split = tree["left_children"], tree["parents"], tree["split_indices"]
    credit = np.zeros((len(left), len(CREDIT_FIELDS)))
    for node, child in enumerate(left):
        current = node
        while child == -1 and current != 0:
            parent = parents[current]
            credit[node, field_of[split[parent]]] += mean[current] - mean[parent]
            current = parent
    return credit


def tree_table(boosters: Mapping[str, xgb.Booster]) -> pa.Table:
    """Every node of the boosters as a row: split, children, leaf value and, at leaves, the field credits.

    Trees are numbered across the boosters in order (rows sorted by tree then
    node); the schema metadata gives each target's trees and base margin. The
    credits are XGBoost's ``approx_contribs`` (Saabas): walking from the root to
    the incident's leaf, each split's feature is credited with the change of the
    node mean (cover-weighted mean of its leaves). They depend only on the
    leaf, so they are computed once here, summed per incident field.
    """
    parts, targets, first_tree = [], {}, 0
    for target, booster in boosters.items():
        model = json.loads(booster.save_raw("json"))["learner"]
        base_score = float(model["learner_model_param"]["base_score"].strip("[]"))
        trees = model["gradient_booster"]["model"]["trees"]
        targets[target] = [first_tree, first_tree + len(trees), float(np.log(base_score / (1 - base_score)))]
        for index, tree in enumerate(trees, start=first_tree):
            if any(tree["split_type"]):
                raise ValueError("categorical splits are not supported by the array predictor")
            left = np.array(tree["left_children"])
            mean = _node_means(tree["left_children"], tree["right_children"], tree["split_conditions"],
                               tree["sum_hessian"])
            credit = _leaf_fields(tree, mean).astype(np.float32)
            parts.append(pa.table({
                "tree": pa.array(np.full(len(left), index), pa.int32()),
                "node": pa.array(np.arange(len(left)), pa.int32()),
                "feature": pa.array(np.where(left == -1, -1, tree["split_indices"]), pa.int32()),
                "threshold": pa.array(np.array(tree["split_conditions"], dtype=np.float32)),
                "left": pa.array(left, pa.int32()),
                "right": pa.array(tree["right_children"], pa.int32()),
                "default_left": pa.array(np.array(tree["default_left"], dtype=bool)),
                "depth": pa.array(_node_depths(tree["parents"])),
                "credit": pa.FixedSizeListArray.from_arrays(pa.array(credit.ravel()), len(CREDIT_FIELDS)),
            }))
        first_tree += len(trees)
    metadata = {"targets": json.dumps(targets), "fields": json.dumps(list(CREDIT_FIELDS))}
    return pa.concat_tables(parts).replace_schema_metadata(metadata)


@dataclass(frozen=True)
class TreeArrays:
    """The boosters as flat node arrays, evaluated with numpy, all targets at once.

    XGBoost takes about half a millisecond per call for a single incident,
    whatever the model; walking every tree of both boosters at once with numpy,
    one depth level per step, takes a small fraction of that and gives the
    leaves for the explanations at the same time. Nodes are numbered across all
    trees (the rows of :func:`tree_table`); leaves point to themselves, so extra
    steps are harmless. A missing value follows the node's default branch:
    each row is read twice, NaN as -inf then NaN as +inf, and a node whose
    default is left reads the first copy (so NaN < threshold), the others the
    second. The leaves are exactly XGBoost's (see the tests).
    """

    feature: np.ndarray  # per node: split feature, + n_features when a missing value goes right
    threshold: np.ndarray  # float32: go left when value < threshold (+inf at leaves)
    child: np.ndarray  # [right children..., left children...] as node indices (a leaf: itself)
    value: np.ndarray  # leaf values (float64), 0 elsewhere
    leaf_slot: np.ndarray  # per node, its row in ``credit`` (leaves only)
    credit: np.ndarray  # (leaves, fields) field credits of each leaf
    roots: np.ndarray  # node index of each tree's root
    depth: int
    targets: dict[str, tuple[slice, float]]  # target -> (its trees, base margin)

    @classmethod
    def from_table(cls, table: pa.Table) -> TreeArrays:
        """Rebuild the arrays from a :func:`tree_table`."""
        metadata = {k.decode(): json.loads(v) for k, v in (table.schema.metadata or {}).items()}
        if metadata.get("fields") != list(CREDIT_FIELDS):
            raise ModelCardError(f"{TREES_FILE} explains other fields: retrain with `python -m core train`")
        node = table["node"].to_numpy()
        rows = np.arange(len(node))
        roots = np.flatnonzero(node == 0)  # rows are sorted by tree then node
        start = roots[table["tree"].to_numpy()]
        feature = table["feature"].to_numpy()
        leaf = feature < 0
        left = np.where(leaf, rows, start + table["left"].to_numpy())
        right = np.where(leaf, rows, start + table["right"].to_numpy())
        threshold = table["threshold"].to_numpy()
        missing_right = ~table["default_left"].to_numpy(zero_copy_only=False)
        credit = table["credit"].combine_chunks().flatten().to_numpy().reshape(len(node), len(CREDIT_FIELDS))
        leaf_slot = np.cumsum(leaf) - 1
        targets = {name: (slice(first, last), margin) for name, (first, last, margin) in metadata["targets"].items()}
        return cls(np.where(leaf, 0, feature + missing_right * len(FEATURE_NAMES)),
                   np.where(leaf, np.float32(np.inf), threshold), np.concatenate([right, left]),
                   np.where(leaf, threshold, 0.0).astype(np.float64), leaf_slot,
                   credit[leaf].astype(np.float64), roots, int(pc.max(table["depth"]).as_py()), targets)

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """Node index of the leaf reached in every tree by every row of ``x`` (float32, NaN = missing)."""
        x = np.asarray(x, dtype=np.float32)
        missing = np.isnan(x)
        values = np.concatenate([np.where(missing, -np.inf, x), np.where(missing, np.inf, x)], axis=1).ravel()
        size = len(self.threshold)
        if len(x) == 1:  # one incident: 1-D arrays, the fewest numpy calls
            node = self.roots
            for _ in range(self.depth):
                go_left = values.take(self.feature.take(node)) < self.threshold.take(node)
                node = self.child.take(node + go_left * size)
            return node[None, :]
        row_start = (np.arange(len(x)) * (2 * x.shape[1]))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots)))
        for _ in range(self.depth):
            go_left = values.take(row_start + self.feature.take(node)) < self.threshold.take(node)
            node = self.child.take(node + go_left * size)
        return node

    def of(self, target: str, leaves: np.ndarray) -> np.ndarray:
        """The columns of ``leaves`` (every tree) that belong to ``target``'s trees."""
        return leaves[:, self.targets[target][0]]

    def node_ids(self, target: str, leaves: np.ndarray) -> np.ndarray:
        """XGBoost's node ids (``pred_leaf``) of a target's leaf node indices."""
        return leaves - self.roots[self.targets[target][0]]

    def from_node_ids(self, target: str, node_ids: np.ndarray) -> np.ndarray:
        """Leaf node indices from XGBoost's ``pred_leaf`` output for ``target``."""
        return node_ids.astype(np.int64).reshape(len(node_ids), -1) + self.roots[self.targets[target][0]]

    def margin(self, target: str, leaves: np.ndarray) -> np.ndarray:
        """Log-odds of ``target`` for each row, from the leaves of its trees."""
        return self.targets[target][1] + self.value.take(leaves).sum(axis=1)

    def field_credits(self, leaves: np.ndarray) -> np.ndarray:
        """Per row and incident field (``CREDIT_FIELDS`` order), the log-odds credited to it by these leaves.

        Each row's credits are added tree after tree, in the trees' order, whatever the number of rows.

        Examples
        --------
        >>> from core.features.build import build_features
        >>> from core.features.columns import columns_from_frame
        >>> from core.features.training import training_frame
        >>> columns = columns_from_frame(training_frame(con, first_year=2020, last_year=2020).head(200))
        >>> leaves = model.trees.of("severe", model.trees.leaves(build_features(columns, model.history)))
        >>> many = model.trees.field_credits(leaves)  # 200 rows: a few trees gathered at a time
        >>> few = np.concatenate([model.trees.field_credits(leaves[row:row + 50]) for row in range(0, 200, 50)])
        >>> np.array_equal(many, few), many.shape
        (True, (200, 17))
        """
        if len(leaves) <= ARRAY_PREDICT_MAX_ROWS:
            return self.credit[self.leaf_slot.take(leaves)].sum(axis=1)
        by_tree = self.leaf_slot.take(leaves.T)  # (trees, rows)
        out = np.zeros((len(leaves), self.credit.shape[1]))
        for start in range(0, len(by_tree), _CREDIT_TREES):  # a few trees gathered at once, added one by one
            for credit in self.credit.take(by_tree[start:start + _CREDIT_TREES], axis=0):
                out += credit
        return out


def leaf_booster(booster: xgb.Booster, *, nthread: int) -> xgb.Booster:
    """A copy of a one-output booster whose margin is its leaves: XGBoost's ``pred_leaf`` node ids, quicker.

    ``predict(pred_leaf=True)`` needs a DMatrix and walks each row through the
    trees' node objects; the inplace prediction, by blocks of rows, is about
    twice as fast but only sums the leaf values. In this copy each tree is the
    only tree of its own output (a multi-target model, one output per tree),
    each leaf's value is its node id and the base score is 0: the margin of
    output ``t`` is the node id of the leaf reached in tree ``t`` (whole numbers,
    exact in float32). The splits are untouched, so are the leaves reached.

    Examples
    --------
    >>> import xgboost as xgb
    >>> from core.features.build import build_features
    >>> from core.features.columns import columns_from_frame
    >>> from core.features.training import training_frame
    >>> columns = columns_from_frame(training_frame(con, first_year=2020, last_year=2020).head(500))
    >>> x = build_features(columns, model.history)
    >>> leaves = leaf_booster(model.severe, nthread=2).inplace_predict(x, predict_type="margin",
    ...                                                                  validate_features=False)
    >>> node_ids = model.severe.predict(xgb.DMatrix(x), pred_leaf=True, validate_features=False)
    >>> np.array_equal(leaves, node_ids), leaves.shape
    (True, (500, 184))
    """
    import xgboost as xgb

    saved = json.loads(booster.save_raw("json"))
    learner = saved["learner"]
    if (learner["learner_model_param"]["num_target"], learner["learner_model_param"]["num_class"]) != ("1", "0"):
        raise ValueError("leaf_booster takes a booster of one output")
    model = learner["gradient_booster"]["model"]
    trees = len(model["trees"])
    for tree in model["trees"]:
        for node, child in enumerate(tree["left_children"]):
            if child == -1:
                tree["split_conditions"][node] = tree["base_weights"][node] = float(node)
    model["tree_info"], model["iteration_indptr"] = list(range(trees)), [0, trees]
    learner["learner_model_param"].update(num_target=str(trees), base_score=f"[{','.join(['0E0'] * trees)}]",
                                          boost_from_average="0")
    learner["objective"] = {"name": "reg:squarederror", "reg_loss_param": {"scale_pos_weight": "1"}}
    leaves = xgb.Booster(model_file=bytearray(json.dumps(saved).encode()))
    leaves.set_param({"nthread": nthread})
    return leaves


def sigmoid(margin: np.ndarray) -> np.ndarray:
    """Probability of a log-odds margin.

    Examples
    --------
    >>> sigmoid(np.array([0.0]))
    array([0.5])
    """
    return 1.0 / (1.0 + np.exp(-margin))
