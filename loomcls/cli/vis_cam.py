"""``loomcv vis-cam CONFIG CKPT IMAGE --out cam.png``: where the classifier looks for a class.

Runs the config's test pipeline on IMAGE, computes a Grad-CAM or Grad-CAM++
map for the predicted class (or ``--target-category``) at ``--target-layers``
(default: the backbone's last norm layer, see
:func:`loomcls.analysis.default_target_layers`) and writes the image with the
map laid over it, drawn by the Visualizer's ``draw_featmap``. ViT and Swin
need ``--vit-like`` so that their tokens are laid out on the patch grid.
"""

import argparse
import os
import os.path as osp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from loomcls.analysis import METHODS
    from loomcv.config import DictAction
    parser.add_argument("config", help="config file or shipped config name")
    parser.add_argument("checkpoint", help="checkpoint file")
    parser.add_argument("img", metavar="IMAGE", help="image file")
    parser.add_argument("--target-layers", nargs="+", help="dotted module names, e.g. backbone.layer4")
    parser.add_argument("--method", choices=METHODS, default="gradcam", help="CAM method (default: gradcam)")
    parser.add_argument("--target-category", type=int, nargs="+",
                        help="class index (default: the predicted class)")
    parser.add_argument("--vit-like", action="store_true", help="the target layers give (B, L, C) tokens")
    parser.add_argument("--num-extra-tokens", type=int,
                        help="tokens before the patches (default: the backbone's num_extra_tokens, else 1)")
    parser.add_argument("--out", default="cam.png", help="image file to write (default: cam.png)")
    parser.add_argument("--alpha", type=float, default=0.5, help="heat map opacity over the image")
    parser.add_argument("--device", default="cpu", help="device to run on")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: a.b=1")


def _display_image(inputs, model):
    """The network input (C, H, W uint8 from the pipeline) as an RGB image to draw on."""
    import cv2
    import numpy as np
    image = inputs.detach().cpu().numpy().transpose(1, 2, 0)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[..., 0], cv2.COLOR_GRAY2RGB)
    # the pipeline loads BGR; the data preprocessor swaps to RGB only for the network
    return np.ascontiguousarray(image[..., ::-1])


def run(args: argparse.Namespace) -> int:
    import cv2
    import torch
    from loomcls.analysis import GradCAM, TokenReshape, classifier_scores, default_target_layers
    from loomcls.apis import init_model
    from loomcls.apis.inference import build_test_pipeline
    from loomcv.dataset import pseudo_collate
    from loomcv.visualization import Visualizer

    if not osp.isfile(args.img):
        raise FileNotFoundError(f"vis-cam: image {args.img!r} does not exist")
    if not 0 <= args.alpha <= 1:
        raise ValueError(f"vis-cam: --alpha must lie in [0, 1], got {args.alpha}")
    model = init_model(args.config, args.checkpoint, device=args.device, **(args.cfg_options or {}))
    model.eval()
    data = build_test_pipeline(model, from_path=True)(dict(img_path=args.img))
    batch = model.data_preprocessor(pseudo_collate([data]), False)
    layers = args.target_layers or default_target_layers(model, args.vit_like, args.num_extra_tokens)
    reshape = None
    if args.vit_like:
        extra = args.num_extra_tokens
        if extra is None:
            extra = getattr(model.backbone, "num_extra_tokens", 1)
        reshape = TokenReshape(extra)
    cam = GradCAM(classifier_scores(model), layers, method=args.method, reshape_transform=reshape, module=model)
    maps, categories = cam(batch["inputs"], args.target_category)
    image = _display_image(data["inputs"], model)
    scale = max(1.0, 224 / min(image.shape[:2]))  # small inputs are enlarged so the map is visible
    if scale > 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    heat = torch.nn.functional.interpolate(torch.from_numpy(maps[0])[None, None], image.shape[:2],
                                           mode="bilinear", align_corners=False)[0]
    drawn = Visualizer.draw_featmap(heat, image, channel_reduction="squeeze_mean", alpha=args.alpha)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if not cv2.imwrite(args.out, cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)):
        raise OSError(f"vis-cam: cannot write {args.out!r}")
    classes = (getattr(model, "dataset_meta", None) or {}).get("classes")
    name = f" ({classes[categories[0]]})" if classes and categories[0] < len(classes) else ""
    print(f"{args.method} of class {categories[0]}{name} at {', '.join(layers)} saved to {args.out}")
    return 0
