"""map_tree: the one walk that configs, checkpoint metadata and state dicts share."""

from collections import OrderedDict, namedtuple

import torch

from loomcv.config.tree import map_tree


def test_containers_are_rebuilt_and_leaves_mapped():
    Point = namedtuple("Point", "x y")
    tree = {"a": [1, (2, 3)], "b": OrderedDict(c=4), "p": Point(1, 2)}
    out = map_tree(tree, lambda v: v * 10 if isinstance(v, int) else v)
    assert out == {"a": [10, (20, 30)], "b": {"c": 40}, "p": Point(1, 2)}
    assert type(out["b"]) is OrderedDict and type(out["a"][1]) is tuple
    assert out["a"] is not tree["a"]  # a copy, the input is untouched
    assert tree["a"] == [1, (2, 3)]


def test_skip_keys_and_key_mapping():
    tree = {"x": {"_delete_": True, "y": 1}, 3: [{"_delete_": False}]}
    assert map_tree(tree, skip_keys=("_delete_",)) == {"x": {"y": 1}, 3: [{}]}
    assert map_tree(tree, key=str) == {"x": {"_delete_": True, "y": 1}, "3": [{"_delete_": False}]}


def test_checkpoint_and_config_users_agree():
    from loomcv.checkpoint.payload import weights_to_cpu
    from loomcv.config.loader import strip_delete
    from loomcv.config.record import plain_data
    state = OrderedDict(w=torch.ones(2, requires_grad=True), groups=[{"lr": 0.1}])
    moved = weights_to_cpu(state)
    assert type(moved) is OrderedDict and not moved["w"].requires_grad and moved["groups"] == [{"lr": 0.1}]
    assert strip_delete({"a": {"_delete_": True, "b": 2}}) == {"a": {"b": 2}}
    assert plain_data({"f": len, 1.5: (None, "s")}) == {"f": repr(len), 1.5: (None, "s")}
