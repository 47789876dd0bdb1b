"""DistilledVisionTransformer and DeiTClsHead: the distillation token, keys, averaged scores."""

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.registry import MODELS

TINY = dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32)


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("arch,published_m", [("deit-tiny", 5.91), ("deit-small", 22.44), ("deit-base", 87.34)])
def test_published_parameter_counts(arch, published_m):
    with torch.device("meta"):
        net = MODELS.build(dict(type="DistilledVisionTransformer", arch=arch))
        head = MODELS.build(dict(type="DeiTClsHead", num_classes=1000, in_channels=net.embed_dims))
    assert round((count(net) + count(head)) / 1e6, 2) == published_m


def test_tokens_keys_and_averaged_scores():
    net = MODELS.build(dict(type="DistilledVisionTransformer", arch=TINY, img_size=32)).eval()
    net.init_weights()  # a random distillation token and position embedding
    head = MODELS.build(dict(type="DeiTClsHead", num_classes=3, in_channels=16)).eval()
    keys = {k: tuple(v.shape) for k, v in {**net.state_dict(), **head.state_dict()}.items()}
    assert keys["dist_token"] == (1, 1, 16) and keys["pos_embed"] == (1, 4 + 2, 16)  # 2x2 patches and two tokens
    assert keys["layers.head.weight"] == keys["layers.head_dist.weight"] == (3, 16)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        cls_token, dist_token = net(x)[-1]
        torch.nn.init.normal_(head.layers.head.weight)
        torch.nn.init.normal_(head.layers.head_dist.weight)
        scores = head([(cls_token, dist_token)])
    expected = (head.layers.head(cls_token) + head.layers.head_dist(dist_token)) / 2
    torch.testing.assert_close(scores, expected)
    assert not torch.allclose(cls_token, dist_token)
    featmap = MODELS.build(dict(type="DistilledVisionTransformer", arch=TINY, img_size=32, out_type="featmap"))
    assert featmap(x)[0].shape == (2, 16, 2, 2)  # both tokens are dropped from the map


def test_head_rejects_a_single_token_and_warns_in_training():
    head = MODELS.build(dict(type="DeiTClsHead", num_classes=3, in_channels=16))
    with pytest.raises(ValueError, match="distillation token"):
        head([torch.randn(2, 16)])
    with pytest.warns(UserWarning, match="without its teacher"):
        head.train()([(torch.randn(2, 16), torch.randn(2, 16))])


def test_frozen_stages_freeze_the_distillation_token(checks):
    net = MODELS.build(dict(type="DistilledVisionTransformer", arch=TINY, img_size=32, frozen_stages=1,
                            out_type="featmap"))
    checks.assert_frozen_after_step(net, ["patch_embed.", "layers.0.", "cls_token", "pos_embed", "dist_token"],
                                    torch.randn(2, 3, 32, 32))
