import io

import torch

from loomcv.logging import HistoryBuffer, MessageHub


def test_scalars_and_info():
    hub = MessageHub.get_instance("hub_test_basic")
    hub.update_scalar("train/loss", torch.tensor(1.0))
    hub.update_scalars({"train/loss": 3.0, "train/lr": dict(value=0.1, count=1)})
    assert hub.get_scalar("train/loss").mean() == 2.0
    assert hub.get_scalar("train/lr").current() == 0.1
    hub.update_info("iter", 5)
    assert hub.get_info("iter") == 5 and hub.runtime_info["iter"] == 5
    assert hub.get_info("missing", "d") == "d"
    try:
        hub.get_scalar("train/los")
    except KeyError as err:
        assert "train/loss" in str(err)
    else:
        raise AssertionError("missing scalar did not raise")


def test_manager_instances():
    a = MessageHub.get_instance("hub_a")
    assert MessageHub.get_instance("hub_a") is a
    b = MessageHub("hub_b")
    assert MessageHub.get_current_instance() is b
    assert MessageHub.check_instance_created("hub_a")
    assert MessageHub.get_instance("hub_a") is a and MessageHub.get_current_instance() is a


def test_state_round_trip_through_weights_only_checkpoint():
    hub = MessageHub.get_instance("hub_save")
    for v in (torch.tensor(0.5), 1.5, 2.5):
        hub.update_scalar("train/loss", v)
    hub.update_scalar("train/time", 0.1, resumed=False)
    hub.update_info_dict({"epoch": 2, "iter": 30, "dataset_meta": {"classes": ("a", "b")}})
    buf = io.BytesIO()
    torch.save({"message_hub": hub.state_dict()}, buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)["message_hub"]

    new = MessageHub("hub_load")
    new.load_state_dict(state)
    assert new.get_scalar("train/loss").data[0].tolist() == [0.5, 1.5, 2.5]
    assert new.get_scalar("train/loss").mean(2) == 2.0
    assert "train/time" not in new.log_scalars          # resumed=False keys stay out
    assert new.get_info("iter") == 30 and new.get_info("dataset_meta") == {"classes": ("a", "b")}
    new.update_scalar("train/loss", 4.5)                  # keeps logging where it stopped
    assert new.get_scalar("train/loss").mean(2) == 3.5


def test_history_buffer_state():
    buf = HistoryBuffer([1.0, 2.0], [2, 1], max_length=5)
    again = HistoryBuffer.from_state_dict(buf.state_dict())
    assert again.mean() == buf.mean() and again.max_length == 5
