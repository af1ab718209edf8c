"""RNNLanguageModel: shapes, carried state, PyTorch parity, learning, bad input."""

import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen.models import RNNLanguageModel, build_model

V = 11


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_carrying_the_state_equals_one_long_sequence(cell):
    model = RNNLanguageModel(V, embed_dim=6, hidden_size=8, num_layers=2, cell=cell, dtype="float64").eval()
    ids = np.random.default_rng(0).integers(0, V, size=(3, 10))
    full, _ = model(ids)
    first, state = model(ids[:, :4])
    second, _ = model(ids[:, 4:], RNNLanguageModel.detach_state(state))
    np.testing.assert_allclose(np.concatenate([first.numpy(), second.numpy()], axis=1), full.numpy(), rtol=1e-12)


@pytest.mark.reference
def test_matches_the_same_model_in_torch():
    torch = pytest.importorskip("torch")
    model = RNNLanguageModel(V, embed_dim=6, hidden_size=8, num_layers=2, cell="lstm", dtype="float64")

    class Ref(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(V, 6)
            self.rnn = torch.nn.LSTM(6, 8, num_layers=2, batch_first=True)
            self.head = torch.nn.Linear(8, V)

        def forward(self, ids):
            return self.head(self.rnn(self.embedding(ids))[0])

    ref = Ref().double()
    ref.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()})
    ids = np.random.default_rng(1).integers(0, V, size=(2, 7))
    targets = np.random.default_rng(2).integers(0, V, size=(2, 7))
    logits, _ = model(ids)
    F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1)).backward()
    out = ref(torch.tensor(ids))
    torch.nn.functional.cross_entropy(out.reshape(-1, V), torch.tensor(targets).reshape(-1)).backward()
    np.testing.assert_allclose(logits.numpy(), out.detach().numpy(), rtol=1e-10, atol=1e-12)
    for name, p in ref.named_parameters():
        mine = dict(model.named_parameters())[name]
        np.testing.assert_allclose(mine.grad, p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_a_short_run_lowers_the_loss():
    minigen.manual_seed(0)
    text = np.array([0, 1, 2, 3, 4, 5] * 50)
    model = RNNLanguageModel(6, embed_dim=8, hidden_size=16, num_layers=1)
    opt = minigen.optim.Adam(model.parameters(), lr=0.02)
    x, y = text[None, :-1].repeat(4, 0)[:, :24], text[None, 1:].repeat(4, 0)[:, :24]
    losses = []
    for _ in range(40):
        opt.zero_grad()
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, 6), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_bad_input():
    model = RNNLanguageModel(V, embed_dim=4, hidden_size=4, num_layers=1)
    with pytest.raises(ValueError, match=r"ids must be of shape \(batch, seq\) with seq >= 1, got .* shape \(5,\)"):
        model(np.zeros(5, np.int64))
    # checked before the LSTM, which sees the input time-major and would report (0, 2, 4)
    with pytest.raises(ValueError, match=r"RNNLanguageModel: ids must be of shape \(batch, seq\) with seq >= 1, "
                                         r"got .* shape \(2, 0\)"):
        model(np.zeros((2, 0), np.int64))
    with pytest.raises(ValueError, match=r"got \[\[1, 2\]\]"):
        model([[1, 2]])
    with pytest.raises(IndexError, match=r"ids in \[0, 11\), got id 11"):
        model(np.full((1, 3), 11))
    with pytest.raises(ValueError, match="cell must be one of"):
        RNNLanguageModel(V, cell="transformer")
    with pytest.raises(ValueError, match="build_model: model_type must be one of 'rnn_lm', 'gpt', 'seq2seq', "
                                         "'text_vae', got 'lstm'"):
        build_model({"model_type": "lstm", "vocab_size": V})


@pytest.mark.parametrize("kw,match", [
    (dict(vocab_size=0), "RNNLanguageModel: vocab_size must be a positive integer, got 0"),
    (dict(embed_dim=2.5), "RNNLanguageModel: embed_dim must be a positive integer, got 2.5"),
    (dict(num_layers=True), "RNNLanguageModel: num_layers must be a positive integer, got True"),
    (dict(dropout="0.1"), r"RNNLanguageModel: dropout must be a probability in \[0, 1\], got '0.1'"),
    (dict(dtype="int64"), "RNNLanguageModel: dtype must be a floating dtype .*, got int64"),
])
def test_bad_arguments_name_the_model(kw, match):
    with pytest.raises(ValueError, match=match):
        RNNLanguageModel(**{"vocab_size": V, "embed_dim": 4, "hidden_size": 4, **kw})


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_generation_step_equals_forward(cell):
    """After the prompt, generation_step runs the cell kernels graph-free; the logits are forward's."""
    model = RNNLanguageModel(V, embed_dim=5, hidden_size=6, num_layers=2, cell=cell, dtype="float64").eval()
    ids = np.array([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]])
    full, _ = model(ids)
    logits, state = model.generation_step(ids[:, :3])
    one, state = model.generation_step(ids[:, 3:4], state)
    two, state = model.generation_step(ids[:, 4:], state)
    got = np.concatenate([logits.numpy(), one.numpy(), two.numpy()], axis=1)
    np.testing.assert_allclose(got, full.numpy(), rtol=1e-12, atol=1e-12)
    picked, _ = model.generation_step(np.array([[4], [4]]), RNNLanguageModel.reorder_state(state, np.array([1, 1])))
    np.testing.assert_array_equal(picked.numpy()[0], picked.numpy()[1])          # beam search's row picking
