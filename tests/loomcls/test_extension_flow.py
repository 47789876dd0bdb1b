"""The MMClassification 0.x tutorial's extension flow: a separate user package adds a dataset, transform,
backbone, neck, head, loss (with weighted_loss), hook and optimizer, loaded
by custom_imports, without editing loomcls; its config also uses loomcls types."""

import json
import sys
import textwrap

from loomcv.cli.main import main

PACKAGE = {
    "registry.py": """
        from loomcv.registry import DATASETS as D, HOOKS as H, MODELS as M, OPTIMIZERS as O, TRANSFORMS as T, Registry
        MODELS = Registry('model', parent=M, scope='my_pkg', locations=['my_pkg.parts'])
        DATASETS = Registry('dataset', parent=D, scope='my_pkg', locations=['my_pkg.parts'])
        TRANSFORMS = Registry('transform', parent=T, scope='my_pkg', locations=['my_pkg.parts'])
        HOOKS = Registry('hook', parent=H, scope='my_pkg', locations=['my_pkg.parts'])
        OPTIMIZERS = Registry('optimizer', parent=O, scope='my_pkg', locations=['my_pkg.parts'])
    """,
    "parts.py": """
        import json, os
        import torch
        import torch.nn as nn
        from loomcls.datasets import BaseDataset, load_digits
        from loomcls.models.heads import ClsHead
        from loomcls.models.losses import weighted_loss
        from loomcv.hooks import Hook
        from loomcv.transforms import BaseTransform
        from my_pkg.registry import DATASETS, HOOKS, MODELS, OPTIMIZERS, TRANSFORMS

        @DATASETS.register_module()
        class MyDigits(BaseDataset):
            METAINFO = {'classes': tuple('0123456789')}
            def __init__(self, split='train', **kwargs):
                self.split = split
                super().__init__(**kwargs)
            def load_data_list(self):
                images, labels = load_digits(self.split)
                return [dict(img=i, gt_label=int(l)) for i, l in zip(images[:128], labels[:128])]

        @TRANSFORMS.register_module()
        class MyTransform(BaseTransform):
            def transform(self, results):
                results['my_transform_ran'] = True
                return results

        @MODELS.register_module()
        class MyNet(nn.Module):
            def __init__(self, channels=8):
                super().__init__()
                self.conv = nn.Conv2d(1, channels, 3, padding=1)
            def forward(self, x):
                return (torch.relu(self.conv(x)),)

        @MODELS.register_module()
        class MyNeck(nn.Module):
            def forward(self, feats):
                return tuple(f.mean(dim=(2, 3)) for f in feats)

        @MODELS.register_module()
        class MyHead(ClsHead):
            def __init__(self, num_classes, in_channels, **kwargs):
                super().__init__(**kwargs)
                self.fc = nn.Linear(in_channels, num_classes)
            def forward(self, feats):
                return self.fc(feats[-1])

        @weighted_loss
        def l1_loss(pred, target):
            assert pred.size() == target.size() and target.numel() > 0
            return torch.abs(pred - target)

        @MODELS.register_module()
        class L1Loss(nn.Module):
            def __init__(self, reduction='mean', loss_weight=1.0):
                super().__init__()
                self.reduction, self.loss_weight = reduction, loss_weight
            def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
                reduction = reduction_override if reduction_override else self.reduction
                if target.dim() == 1:
                    target = nn.functional.one_hot(target, pred.size(1)).float()
                return self.loss_weight * l1_loss(pred.softmax(1), target, weight, reduction=reduction,
                                                  avg_factor=avg_factor)

        @HOOKS.register_module()
        class MyHook(Hook):
            def __init__(self, out):
                self.out, self.iters = out, 0
            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                self.iters += 1
            def after_run(self, runner):
                with open(self.out, 'w') as f:
                    json.dump({'iters': self.iters,
                               'optimizer': type(runner.optim_wrapper.optimizer).__name__}, f)

        @OPTIMIZERS.register_module()
        class MyOptimizer(torch.optim.SGD):
            pass
    """,
}

CONFIG = """
default_scope = 'my_pkg'
custom_imports = dict(imports=['my_pkg.parts'], allow_failed_imports=False)
model = dict(
    type='loomcls.ImageClassifier',
    data_preprocessor=dict(type='loomcls.ClsDataPreprocessor', mean=[77.85], std=[82.44]),
    backbone=dict(type='MyNet', channels=8),
    neck=dict(type='MyNeck'),
    head=dict(type='MyHead', num_classes=10, in_channels=8, loss=dict(type='L1Loss', loss_weight=1.0)))
pipeline = [dict(type='MyTransform'), dict(type='loomcls.PackInputs')]
train_dataloader = dict(batch_size=32, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(type='MyDigits', split='train', pipeline=pipeline))
val_dataloader = dict(batch_size=64, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type='MyDigits', split='test', pipeline=pipeline))
val_evaluator = dict(type='loomcls.Accuracy', topk=(1,))
optim_wrapper = dict(optimizer=dict(type='MyOptimizer', lr=0.1, momentum=0.9))
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
val_cfg = dict()
custom_hooks = [dict(type='MyHook', out=OUT)]
"""


def test_user_package_extends_loomcls_through_custom_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "src" / "my_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for name, code in PACKAGE.items():
        (pkg / name).write_text(textwrap.dedent(code))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    out = tmp_path / "hook.json"
    (tmp_path / "my_config.py").write_text(CONFIG.replace("OUT", repr(str(out))))
    try:
        assert main(["train", str(tmp_path / "my_config.py"), "--work-dir", str(tmp_path / "work")]) == 0
    finally:
        for name in [m for m in sys.modules if m == "my_pkg" or m.startswith("my_pkg.")]:
            del sys.modules[name]
    report = json.loads(out.read_text())
    assert report == {"iters": 8, "optimizer": "MyOptimizer"}  # 128 images / 32 x 2 epochs
    assert (tmp_path / "work" / "epoch_2.pth").is_file()
