import ast
import json
from pathlib import Path

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.registry import MODELS
from loomcls.structures import DataSample

COMPAT = Path(__file__).parents[1] / "fixtures" / "compat"


@pytest.mark.parametrize("name", ["lenet5_mnist", "resnet18_cifar", "resnet50_in1k"])
def test_state_dict_matches_mmpretrain(name):
    lines = (COMPAT / f"{name}.statedict.txt").read_text().splitlines()
    cfg = json.loads(lines[1].split("config: ", 1)[1])
    want = {k: tuple(ast.literal_eval(s)) for k, s in (l.split("\t") for l in lines[2:] if l.strip())}
    got = {k: tuple(v.shape) for k, v in MODELS.build(cfg).state_dict().items()}
    assert got == want


def small_resnet(**kw):
    return MODELS.build(dict(type="ResNet", depth=18, base_channels=8, stem_channels=8, **kw))


def test_resnet_outputs_frozen_stages_and_norm_eval():
    net = small_resnet(out_indices=(0, 1, 2, 3))
    outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 32, 4, 4), (2, 64, 2, 2)]
    frozen = small_resnet(frozen_stages=1, norm_eval=True)
    frozen.train()
    assert not any(p.requires_grad for p in frozen.conv1.parameters())
    assert not any(p.requires_grad for p in frozen.layer1.parameters())
    assert all(p.requires_grad for p in frozen.layer2.parameters())
    assert not frozen.layer1.training and not frozen.layer2[0].bn1.training
    cifar = MODELS.build(dict(type="ResNet_CIFAR", depth=18, base_channels=8, stem_channels=8))
    assert cifar(torch.randn(1, 3, 32, 32))[0].shape == (1, 64, 4, 4)
    with pytest.raises(KeyError, match="depth must be one of"):
        MODELS.build(dict(type="ResNet", depth=20))


def test_zero_init_residual_and_deep_stem():
    net = MODELS.build(dict(type="ResNet", depth=50, base_channels=4, stem_channels=8, num_stages=1,
                                out_indices=(0,)))
    net.init_weights()
    assert torch.all(net.layer1[0].bn3.weight == 0)
    v1d = MODELS.build(dict(type="ResNetV1d", depth=50, base_channels=4, stem_channels=8, num_stages=2,
                                out_indices=(1,)))
    keys = v1d.state_dict().keys()
    assert "stem.0.conv.weight" in keys and "layer2.0.downsample.1.weight" in keys  # avgpool is .0


def test_gap_neck_tuple_and_errors():
    gap = MODELS.build(dict(type="GlobalAveragePooling"))
    out = gap((torch.ones(2, 3, 4, 4), torch.ones(2, 5, 2, 2)))
    assert [tuple(o.shape) for o in out] == [(2, 3), (2, 5)]
    assert MODELS.build(dict(type="GlobalAveragePooling", dim=1))(torch.ones(2, 3, 7)).shape == (2, 3)
    with pytest.raises(ValueError, match="dim must be 1, 2 or 3"):
        MODELS.build(dict(type="GlobalAveragePooling", dim=4))


def classifier(**kw):
    return MODELS.build(dict(
        type="ImageClassifier",
        backbone=dict(type="ResNet_CIFAR", depth=18, base_channels=4, stem_channels=4, out_indices=(2, 3)),
        neck=dict(type="GlobalAveragePooling"),
        head=dict(type="LinearClsHead", num_classes=5, in_channels=32, topk=(1, 2), cal_acc=True), **kw))


def batch(n=4, labels=(0, 1, 2, 3)):
    return dict(inputs=[torch.randint(0, 255, (3, 16, 16), dtype=torch.uint8) for _ in range(n)],
                data_samples=[DataSample().set_gt_label(l) for l in labels[:n]])


def test_image_classifier_modes_and_stages():
    model = classifier(data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True))
    model.init_weights()
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode="loss")
    assert set(losses) == {"loss", "accuracy_top-1", "accuracy_top-2"} and losses["loss"].requires_grad
    preds = model(**model.data_preprocessor(batch(), False), mode="predict")
    assert len(preds) == 4 and preds[0].pred_score.shape == (5,)
    assert torch.allclose(preds[0].pred_score.sum(), torch.tensor(1.0))
    assert int(preds[0].pred_label) == int(preds[0].pred_score.argmax())
    assert model(data["inputs"]).shape == (4, 5)
    assert [f.shape[1] for f in model.extract_feat(data["inputs"], stage="backbone")] == [16, 32]
    assert model.extract_feat(data["inputs"], stage="pre_logits").shape == (4, 32)
    with pytest.raises(ValueError, match="mode must be one of"):
        model(data["inputs"], mode="train")


def test_mixup_through_train_cfg_sets_gt_score():
    model = classifier(train_cfg=dict(augments=[dict(type="Mixup", alpha=1.0)]),
                       data_preprocessor=dict(num_classes=5))
    model.head.cal_acc = False
    data = model.data_preprocessor(batch(), True)
    scores = torch.stack([s.gt_score for s in data["data_samples"]])
    assert scores.shape == (4, 5) and torch.allclose(scores.sum(1), torch.ones(4))
    assert model(**data, mode="loss")["loss"].item() > 0
    with pytest.raises(ValueError, match="num_classes"):
        augments = dict(augments=dict(type="CutMix", alpha=1.0))
        cls = MODELS.build(dict(type="ClsDataPreprocessor", batch_augments=augments))
        cls(batch(), True)


def test_stacked_and_multilabel_heads():
    head = MODELS.build(dict(type="StackedLinearClsHead", num_classes=3, in_channels=6, mid_channels=[8, 4],
                             norm_cfg=dict(type="BN1d"), dropout_rate=0.1))
    assert set(head.state_dict()) >= {"layers.0.fc.weight", "layers.0.norm.weight", "layers.2.fc.weight"}
    assert head((torch.randn(2, 6),)).shape == (2, 3)
    ml = MODELS.build(dict(type="MultiLabelLinearClsHead", num_classes=3, in_channels=2))
    with torch.no_grad():
        ml.fc.weight.copy_(torch.tensor([[10.0, 0], [0, 10.0], [-10.0, 0]]))
        ml.fc.bias.zero_()
    pred = ml.predict((torch.tensor([[1.0, 1.0]]),))[0]
    assert pred.pred_label.tolist() == [0, 1]
    ml_top = MODELS.build(dict(type="MultiLabelLinearClsHead", num_classes=3, in_channels=2, topk=1))
    ml_top.load_state_dict(ml.state_dict())
    assert ml_top.predict((torch.tensor([[1.0, 0.0]]),))[0].pred_label.tolist() == [0]
    # avg_factor is the batch size: BCE summed over classes, averaged over samples
    loss = ml.loss((torch.tensor([[1.0, 1.0]]),), [DataSample().set_gt_label([0, 1])])["loss"]
    assert loss.item() == pytest.approx(
        torch.nn.functional.binary_cross_entropy_with_logits(
            torch.tensor([[10.0, 10.0, -10.0]]), torch.tensor([[1.0, 1.0, 0.0]]), reduction="sum").item(),
        rel=1e-4)


def test_lenet5_with_cls_head():
    model = MODELS.build(dict(type="ImageClassifier", backbone=dict(type="LeNet5", num_classes=10),
                              head=dict(type="ClsHead")))
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="32x32"):
        model(torch.randn(2, 1, 40, 40))
