"""Run under torchrun with 2 processes (gloo, CPU); writes what each rank saw to $OUT_DIR/rank<r>.json.

Used by test_dist.py; not collected by pytest itself.
"""

import json
import os
import sys

import torch

from loomcv import dist
from loomcv.evaluator import BaseMetric, Evaluator


class SumMetric(BaseMetric):
    default_prefix = "toy"

    def process(self, data_batch, data_samples):
        self.results.extend(int(s["index"]) for s in data_samples)

    def compute_metrics(self, results):
        return {"order": list(results), "n": len(results)}


def main(out_dir):
    dist.init_dist("pytorch", backend="gloo", timeout=60)
    rank, world = dist.get_dist_info()
    seen = dict(rank=rank, world=world, local_rank=dist.get_local_rank(),
                distributed=dist.is_distributed(), main=dist.is_main_process())

    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t, "sum")
    seen["sum"] = t.item()
    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t, "mean")
    seen["mean"] = t.item()
    seen["gather"] = [x.tolist() for x in dist.all_gather(torch.tensor([rank, rank * 10]))]
    seen["gather_object"] = dist.all_gather_object({"r": rank})
    b = torch.tensor([rank + 100])
    dist.broadcast(b, src=1)
    seen["broadcast"] = b.item()
    box = [f"from{rank}"]
    dist.broadcast_object_list(box, src=0)
    seen["broadcast_object"] = box[0]
    seen["seed"] = dist.sync_random_seed()
    seen["master_only"] = dist.master_only(lambda: "ran")()

    # 7 items over 2 ranks, DistributedSampler-style with round_up: rank r gets r, r+2, ...; padded to 8
    size = 7
    padded = list(range(size)) + [0]
    mine = padded[rank::world]
    seen["collected"] = dist.collect_results([f"item{i}" for i in mine], size, device="cpu")
    # without round_up the ranks hold different counts (0,2,4,6 and 1,3,5)
    seen["collected_unpadded"] = dist.collect_results(list(range(size))[rank::world], size)

    evaluator = Evaluator(SumMetric())
    for i in range(0, len(mine), 3):   # batches of 3 indices on each rank
        evaluator.process([{"index": j} for j in mine[i:i + 3]])
    seen["metrics"] = evaluator.evaluate(size)
    dist.barrier()
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(seen, f)


if __name__ == "__main__":
    main(sys.argv[1])
