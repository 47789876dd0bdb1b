# The digits default (yolov3_mobilenetv2_1xb16_digitsdet) at batch 32: the same
# epochs take about as long on a CPU but make half the updates, so it reaches a
# given mAP later (benchmarks/det_map_curve.py shows the curves side by side).
_base_ = './yolov3_mobilenetv2_1xb16_digitsdet.py'

train_dataloader = dict(batch_size=32)
auto_scale_lr = dict(base_batch_size=32)
