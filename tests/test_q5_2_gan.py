"""Q5.2: the networks, one training step, resuming, divergence, the quality metrics, the data."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hw4.core import config
from hw4.core.errors import DataError
from hw4.q5_2_gan import metrics, nets, train
from hw4.q5_2_gan.classifier import accuracy, predict, train_classifier
from hw4.q5_2_gan.data import load_mnist

from conftest import REPO


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors gain nothing from a second thread, and on a shared machine two OpenMP threads
    that wait on each other can make these tests many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def mnist():
    """A small slice of MNIST: (train images, train labels, test images, test labels)."""
    x, y = load_mnist(train=True)
    tx, ty = load_mnist(train=False)
    return x[:5000], y[:5000], tx[:2000], ty[:2000]


@pytest.fixture(scope="module")
def judge(mnist):
    """A classifier trained for seconds; good enough to tell digits from noise."""
    x, y, _, _ = mnist
    return train_classifier(x, y, seed=0, epochs=2, batch=50, lr=2e-3, lr_decay=0.5, progress=False)


def fake_images(n=120, seed=0):
    return torch.rand(n, nets.IMAGE, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.fixture(autouse=True)
def tiny_preset(monkeypatch):
    """A small network with everything preset A has (dropout included), so runs take milliseconds."""
    monkeypatch.setitem(nets.PRESETS, "tiny", nets.Preset(noise_dim=8, g_hidden=(32, 32), d_hidden=(32, 16),
                                                          g_slope=0.2, d_slope=0.2, dropout=0.3))


def tiny_run(images, **kw):
    args = dict(preset="tiny", seed=3, lr_g=2e-4, lr_d=2e-4, batch=40, epochs=3, curve_points=2,
                fixed_noise=torch.randn(4, 8, generator=torch.Generator().manual_seed(1)), progress=False)
    return train.train(images, **{**args, **kw})


# ----------------------------------------------------------------------------- networks

@pytest.mark.parametrize("preset", ["A", "B", "tiny"])
def test_shapes_and_ranges(preset):
    G, D = nets.build(preset, seed=0)
    p = nets.PRESETS[preset]
    z = torch.randn(7, p.noise_dim)
    x = G(z)
    assert x.shape == (7, 784) and x.abs().max() <= 1
    assert D(x).shape == (7, 1)
    assert sum(v.numel() for v in G.parameters()) == sum(
        a * b + b for a, b in zip((p.noise_dim, *p.g_hidden), (*p.g_hidden, 784)))


@pytest.mark.parametrize("preset", ["A", "B"])
def test_describe_counts_the_parameters(preset):
    G, D = nets.build(preset, seed=0)
    info = nets.describe(preset)
    assert info["g_params"] == sum(p.numel() for p in G.parameters())
    assert info["d_params"] == sum(p.numel() for p in D.parameters())


def test_preset_a_is_the_reference_network():
    G, D = nets.build("A", seed=0)
    assert [tuple(l.weight.shape) for l in G.layers] == [(256, 100), (512, 256), (1024, 512), (784, 1024)]
    assert [tuple(l.weight.shape) for l in D.layers] == [(1024, 784), (512, 1024), (256, 512), (1, 256)]
    assert (G.slope, D.slope, D.dropout) == (0.2, 0.2, 0.3)


def test_same_seed_same_weights_and_global_rng_untouched():
    state = torch.get_rng_state()
    a, b = nets.build("A", seed=5), nets.build("A", seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a[0].parameters(), b[0].parameters()))
    c = nets.build("A", seed=6)
    assert not torch.equal(a[1].layers[0].weight, c[1].layers[0].weight)


def test_discriminator_dropout_mask():
    """Dropout keeps about 70% of the units, scaled by 1/0.7, and is drawn from the given stream."""
    _, D = nets.build("A", seed=0)
    h = torch.randn(101, 1023)  # an odd number of units: the last 64-bit draw is half used
    mask = D._mask(h, torch.Generator().manual_seed(0))
    assert mask.shape == h.shape and mask.dtype == h.dtype
    kept = mask != 0
    assert torch.all(mask[kept] == 1 / 0.7)
    assert abs(1 - kept.float().mean().item() - 0.3) < 0.01  # 7 sigma
    # the two units sharing a 64-bit draw are dropped independently
    pairs = kept.flatten()[:-1].view(-1, 2).float()
    assert abs((pairs[:, 0] * pairs[:, 1]).mean().item() - 0.49) < 0.015
    assert torch.equal(mask, D._mask(h, torch.Generator().manual_seed(0)))
    x = torch.randn(5, 784)
    D.dropout = 0.0
    assert torch.equal(D(x), D(x))


# ----------------------------------------------------------------------------- training

def test_each_step_moves_only_its_own_player():
    G, D = nets.build("tiny", seed=0)
    opt_g, opt_d = train.adam(G.parameters(), 2e-4), train.adam(D.parameters(), 2e-4)
    gen = torch.Generator().manual_seed(0)
    x = fake_images(32)
    g0 = [p.clone() for p in G.parameters()]
    d0 = [p.clone() for p in D.parameters()]
    loss, d_real, d_fake = train.d_step(G, D, opt_d, x, gen, 8)
    assert math.isfinite(loss.item()) and 0 < d_real.item() < 1 and 0 < d_fake.item() < 1
    assert all(torch.equal(p, q) for p, q in zip(G.parameters(), g0))
    assert all(not torch.equal(p, q) for p, q in zip(D.parameters(), d0))
    d1 = [p.clone() for p in D.parameters()]
    train.g_step(G, D, opt_g, 32, gen, 8, x.device)
    assert all(torch.equal(p, q) for p, q in zip(D.parameters(), d1))
    assert all(not torch.equal(p, q) for p, q in zip(G.parameters(), g0))
    assert all(p.requires_grad for p in D.parameters())


def test_a_step_does_only_the_matrix_products_it_needs(monkeypatch):
    """The count the speed benchmark divides by (bench/bench_gan.py) is what the trainer does,
    and what the benchmark's ceiling program does: no gradient of the frozen player, no product
    thrown away, so the GFLOP/s it prints are not inflated by work the step does not need."""
    from torch.utils.flop_counter import FlopCounterMode

    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import bench_gan

    batch = 7
    G, D = nets.build("A", seed=0)
    opt_g, opt_d = train.adam(G.parameters(), 2e-4), train.adam(D.parameters(), 2e-4)
    gen = torch.Generator().manual_seed(0)
    with FlopCounterMode(display=False) as trainer:
        train.d_step(G, D, opt_d, fake_images(batch), gen, nets.PRESETS["A"].noise_dim)
        train.g_step(G, D, opt_g, batch, gen, nets.PRESETS["A"].noise_dim, "cpu")
    with FlopCounterMode(display=False) as ceiling:
        bench_gan.Ceiling(batch).step()
    counted = bench_gan.step_flops(nets.PRESETS["A"], batch)
    assert trainer.get_total_flops() == ceiling.get_total_flops() == counted


def test_losses_are_the_bce_of_the_reference():
    """softplus of logits is BCE of the sigmoid: D loss = BCE(D(x), 1) + BCE(D(G(z)), 0)."""
    logits = torch.linspace(-8, 8, 33)
    bce = torch.nn.functional.binary_cross_entropy
    torch.testing.assert_close(torch.nn.functional.softplus(-logits).mean(),
                               bce(torch.sigmoid(logits), torch.ones(33)))
    torch.testing.assert_close(torch.nn.functional.softplus(logits).mean(),
                               bce(torch.sigmoid(logits), torch.zeros(33)))


def test_history_records_every_epoch():
    run = tiny_run(fake_images(), judge=lambda G: {"fd": 1.0})
    assert [r["epoch"] for r in run["epochs"]] == [1, 2, 3]
    assert run["samples"].shape == (3, 4, 28, 28) and run["samples"].dtype == torch.uint8
    assert len(run["curves"]["epoch"]) == 3 * 2 and run["curves"]["epoch"][-1] == 3
    for r in run["epochs"]:
        assert 0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1 and r["d_loss"] > 0 and r["fd"] == 1.0


def test_resume_matches_an_uninterrupted_run(tmp_path):
    images = fake_images()
    whole = tiny_run(images, checkpoint=tmp_path / "a.pt")

    class Interrupt(Exception):
        pass

    def crash_at_epoch_2(G):
        if crash_at_epoch_2.calls == 1:
            raise Interrupt
        crash_at_epoch_2.calls += 1
        return {}
    crash_at_epoch_2.calls = 0
    with pytest.raises(Interrupt):
        tiny_run(images, checkpoint=tmp_path / "b.pt", judge=crash_at_epoch_2)
    assert len(torch.load(tmp_path / "b.pt", weights_only=False)["history"]) == 1
    resumed = tiny_run(images, checkpoint=tmp_path / "b.pt")
    for net in ("G", "D"):
        for p, q in zip(whole[net].state_dict().values(), resumed[net].state_dict().values()):
            assert torch.equal(p, q)
    assert torch.equal(whole["samples"], resumed["samples"])
    strip = [{k: v for k, v in r.items() if k != "train_seconds"} for r in whole["epochs"]]
    assert strip == [{k: v for k, v in r.items() if k != "train_seconds"} for r in resumed["epochs"]]


def test_a_damaged_checkpoint_is_set_aside_and_training_starts_afresh(tmp_path, capsys):
    images = fake_images()
    whole = tiny_run(images, checkpoint=tmp_path / "a.pt")  # leaves its last checkpoint
    damaged = tmp_path / "a.pt"
    damaged.write_bytes(damaged.read_bytes()[:1000])  # cut short, as by a full disk or a bad copy
    capsys.readouterr()
    again = tiny_run(images, checkpoint=damaged)
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith(f"warning: {damaged}: not a readable PyTorch file")
    assert (tmp_path / "a.pt.corrupt").stat().st_size == 1000
    assert torch.equal(again["samples"], whole["samples"]) and len(again["epochs"]) == 3  # trained afresh


def test_a_checkpoint_of_other_settings_is_ignored(tmp_path):
    images = fake_images()
    tiny_run(images, checkpoint=tmp_path / "c.pt", epochs=1)
    fresh = tiny_run(images, epochs=2)
    other = tiny_run(images, checkpoint=tmp_path / "c.pt", epochs=2, lr_g=1e-4)
    reference = tiny_run(images, epochs=2, lr_g=1e-4)
    assert torch.equal(other["G"].layers[0].weight, reference["G"].layers[0].weight)
    assert not torch.equal(other["G"].layers[0].weight, fresh["G"].layers[0].weight)


def test_divergence_stops_with_a_clear_message():
    images = fake_images()
    images[5, 3] = float("nan")
    with pytest.raises(train.Diverged, match=r"diverged in epoch 1 at step \d+: d_loss is nan") as err:
        tiny_run(images, label="exp9")
    assert "gan.experiments.exp9" in str(err.value) and err.value.history == []


# ----------------------------------------------------------------------------- metrics

def test_frechet_distance_matches_its_definition():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(6, 6, generator=gen, dtype=torch.float64)
    b = torch.randn(6, 6, generator=gen, dtype=torch.float64)
    cov1, cov2 = a @ a.T + 0.1 * torch.eye(6, dtype=torch.float64), b @ b.T
    mu1, mu2 = torch.randn(6, generator=gen, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    # tr (S1 S2)^(1/2) from the eigenvalues of the (non-symmetric) product, which are real and >= 0
    cross = torch.linalg.eigvals(cov1 @ cov2).real.clamp(min=0).sqrt().sum()
    expected = (mu1 - mu2).square().sum() + cov1.trace() + cov2.trace() - 2 * cross
    assert metrics.frechet_distance(mu1, cov1, mu2, cov2) == pytest.approx(expected.item(), rel=1e-9)
    # diagonal covariances: sum of (sigma1 - sigma2)^2
    s1, s2 = torch.tensor([1.0, 4.0], dtype=torch.float64), torch.tensor([9.0, 1.0], dtype=torch.float64)
    assert metrics.frechet_distance(torch.zeros(2), torch.diag(s1), torch.ones(2), torch.diag(s2)) == \
        pytest.approx(2 + (1 - 3) ** 2 + (2 - 1) ** 2)


def test_digit_stats_detect_collapse():
    uniform = metrics.digit_stats(torch.eye(10).repeat(50, 1) * 5, mode_share=0.01)
    assert uniform["entropy_bits"] == pytest.approx(math.log2(10)) and uniform["modes"] == 10
    collapsed = torch.zeros(500, 10)
    collapsed[:, 3] = 9
    collapsed[:3, 7] = 20  # three stray samples: below 1%, not a covered mode
    c = metrics.digit_stats(collapsed, mode_share=0.01)
    assert c["modes"] == 1 and c["entropy_bits"] < 0.1 and c["digit_share"][3] == pytest.approx(497 / 500)
    assert c["confidence"] > 0.99
    one = metrics.digit_stats(torch.eye(10)[[3] * 50] * 9, mode_share=0.01)  # every sample a 3
    assert one["entropy_bits"] == 0.0 and math.copysign(1.0, one["entropy_bits"]) == 1.0  # not -0.0


def test_classifier_and_fd_behave_on_real_data(mnist, judge):
    _, _, tx, ty = mnist
    assert accuracy(judge, tx, ty) > 0.9  # held-out images, a classifier trained for seconds
    _, feats = predict(judge, tx)
    mu, cov = metrics.gaussian(feats)
    assert metrics.frechet_distance(mu, cov, mu, cov) < 1e-6 * cov.trace().item()
    halves = [metrics.gaussian(f) for f in feats.chunk(2)]
    real_vs_real = metrics.frechet_distance(*halves[0], *halves[1])
    noise = metrics.quality(fake_images(1000), (judge, mu, cov), 0.01)
    assert noise["fd"] > 20 * real_vs_real
    real = metrics.quality(tx[:1000], (judge, mu, cov), 0.01)
    assert real["modes"] == 10 and real["entropy_bits"] > 3.2 and real["fd"] < noise["fd"] / 10


# ----------------------------------------------------------------------------- data and config

def test_mnist_is_loaded_in_the_tanh_range(mnist):
    x, y, tx, _ = mnist
    assert x.shape == (5000, 784) and tx.shape[1] == 784 and x.dtype == torch.float32
    assert x.min() == -1 and x.max() == 1 and set(y.tolist()) == set(range(10))


def test_mnist_equals_the_reference_transform(mnist):
    """Scaling the whole tensor once gives exactly what ToTensor + Normalize(0.5, 0.5) give per item."""
    from torchvision import datasets, transforms

    from hw4.q5_2_gan.data import data_dir
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    dataset = datasets.MNIST(str(data_dir()), train=True, transform=tf, download=False)
    x = mnist[0]
    for i in (0, 1, 4999):
        image, label = dataset[i]
        assert torch.equal(image.reshape(-1), x[i]) and label == mnist[1][i].item()


def test_missing_data_says_what_to_put_where(tmp_path):
    with pytest.raises(DataError) as err:
        load_mnist(train=True, root=tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in msg and "HW4_DATA_DIR" in msg
    assert "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg


def test_the_data_files_match_their_known_sizes_and_md5s():
    from hw4.q5_2_gan import data

    records = data.check_files()
    assert {r["file"] for r in records} >= set(data.FILES)
    for r in records:
        assert (r["bytes"], r["md5"]) == data.KNOWN[r["file"]]


def test_the_appendix_lists_the_files_torchvision_reads(tmp_path):
    """The raw file where there is one (an archive beside it is not read), else its archive."""
    from hw4.q5_2_gan import data
    from hw4.q5_2_gan.tasks import files_read

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images, labels, *test = data.FILES
    for name in (images, *test):
        (raw / name).symlink_to(data.raw_dir() / name)
    (raw / f"{images}.gz").write_bytes(b"an archive beside its raw file is never read")
    (raw / f"{labels}.gz").symlink_to(data.raw_dir() / f"{labels}.gz")  # no raw labels: the archive
    assert [r["file"] for r in files_read(tmp_path)] == [images, f"{labels}.gz", *test]


@pytest.mark.parametrize("damage", ["truncated", "one byte changed"])
def test_a_damaged_data_file_says_which_what_was_expected_and_what_to_do(tmp_path, damage):
    from hw4.q5_2_gan import data

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.FILES:
        (raw / name).symlink_to(data.raw_dir() / name)
    labels = raw / "train-labels-idx1-ubyte"
    good = labels.read_bytes()
    labels.unlink()
    labels.write_bytes(good[:30000] if damage == "truncated" else good[:99] + bytes([good[99] ^ 1]) + good[100:])
    with pytest.raises(DataError) as err:
        load_mnist(train=True, root=tmp_path, download=False)
    msg = str(err.value)
    assert msg.startswith(f"{labels} is damaged: ")
    if damage == "truncated":
        assert "30000 bytes instead of 60008" in msg
    else:
        assert f"MD5 {data.md5(labels)} instead of a25bea736e30d166cdddb491f175f624" in msg
    assert "not found" not in msg and "Delete it and copy a good one in its place" in msg
    load_mnist(train=False, root=tmp_path, download=False)  # the test split is intact and loads


def test_config_holds_the_assignments_experiments():
    gan = config.load(config.CONFIG_FILE, "full").gan
    e = gan.experiments
    assert (e["exp1"].lr_g, e["exp1"].lr_d, e["exp1"].batch, e["exp1"].epochs) == (2e-4, 2e-4, 100, 20)
    assert (e["exp2"].lr_g, e["exp2"].lr_d, e["exp2"].batch, e["exp2"].epochs) == (1e-4, 1e-3, 100, 20)
    assert (e["exp3"].lr_g, e["exp3"].lr_d, e["exp3"].batch, e["exp3"].epochs) == (2e-4, 2e-4, 1000, 45)
    assert gan.compare_epoch == 20 and gan.eval_samples >= 5000 and gan.model == "A"
    with pytest.raises(config.ConfigError, match="compare_epoch"):
        config.Gan(**{**config.as_dict(gan), "compare_epoch": 30, "experiments": e})


# ----------------------------------------------------------------------------- the task edges

@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    """The classifier task and two experiment tasks at toy size, as doit would run them."""
    from hw4.q5_2_gan.classifier import run_classifier

    out = tmp_path_factory.mktemp("gan")
    section = config.Classifier(seed=0, epochs=1, batch=100, lr=2e-3, lr_decay=1.0, train_images=1000,
                                min_accuracy=0.5, cpu_threads=1)
    run_classifier(section, out / "classifier")
    gan = config.Gan(model="A", seed=0, train_images=200, compare_epoch=1, grid_samples=4,
                     eval_samples=200, mode_share=0.01, curve_points=2, cpu_threads=1,
                     experiments={"exp1": config.GanExperiment(2e-4, 2e-4, 50, 1),
                                  "exp3": config.GanExperiment(2e-4, 2e-4, 100, 2)})
    for name in gan.experiments:
        train.run_experiment(gan, name, out / "classifier" / "classifier.pt", out / name)
    return out


def test_task_edges_write_their_results(tiny_results):
    from hw4.core.store import load_json

    clf = load_json(tiny_results / "classifier" / "metrics.json")
    assert 0.5 <= clf["accuracy"] <= 1 and clf["test_images"] == 10000
    m = load_json(tiny_results / "exp3" / "metrics.json")
    assert m["status"] == "ok" and [r["epoch"] for r in m["epochs"]] == [1, 2]
    assert m["compare"]["epoch"] == 1 and m["final"]["epoch"] == 2 and m["steps_per_epoch"] == 2
    for key in ("fd", "entropy_bits", "modes", "confidence", "digit_share", "d_loss", "g_loss",
                "d_real", "d_fake", "d_loss_std", "g_loss_std", "step"):
        assert key in m["final"]
    assert m["final"]["step"] == 4 and m["network"]["g_sizes"] == [100, 256, 512, 1024, 784]
    assert 0 <= m["fd_rises"] <= 1 and m["best_fd"] == min(r["fd"] for r in m["epochs"])
    assert m["settings"]["batch"] == 100 and m["settings"]["experiment"] == "exp3" and m["experiment"] == "exp3"
    assert clf["settings"]["train_images"] == 1000
    samples = torch.load(tiny_results / "exp3" / "samples.pt", weights_only=False)
    assert samples["epochs"] == [1, 2] and samples["images"].shape == (2, 4, 28, 28)
    assert not (tiny_results / "exp3" / "checkpoint.pt").exists()
    # same seed, same noise: both experiments start from the same weights and grid noise
    a = torch.load(tiny_results / "exp1" / "samples.pt", weights_only=False)["images"][0]
    assert a.shape == samples["images"][0].shape


def test_figures_draw_from_results(tiny_results, tmp_path):
    from hw4.q5_2_gan import figures as plots

    inputs = [tiny_results / name / "metrics.json" for name in ("exp1", "exp3")]
    for fn in (plots.samples, plots.quality, plots.dynamics):
        out = tmp_path / f"{fn.__name__}.pdf"
        fn(*inputs, out, task=f"figures:{fn.__name__}", config_hash="test")
        assert out.read_bytes().startswith(b"%PDF")


def test_dynamics_epochs_are_round_log_spaced_and_end_at_the_last():
    from hw4.q5_2_gan.figures import dynamics_epochs

    assert dynamics_epochs(45) == [1, 2, 3, 5, 10, 20, 30, 45]
    assert dynamics_epochs(20) == [1, 2, 3, 5, 10, 20]
    assert dynamics_epochs(1) == [1] and dynamics_epochs(4) == [1, 2, 3, 4]
    for last in range(1, 300):
        shown = dynamics_epochs(last)
        assert shown[0] == 1 and shown[-1] == last and shown == sorted(set(shown))
        # never more than a factor of 2.5 between neighbours: the early epochs are all resolved
        assert all(b / a <= 2.5 for a, b in zip(shown, shown[1:]))


def test_a_panel_alone_on_its_row_fills_the_row_with_more_epochs():
    from hw4.q5_2_gan.figures import dynamics_epochs, fill_epochs

    assert fill_epochs(dynamics_epochs(45), 12) == [1, 2, 3, 5, 10, 15, 20, 25, 30, 35, 40, 45]
    assert fill_epochs([1, 2, 3], 12) == [1, 2, 3]          # no gap left to fill
    assert fill_epochs(dynamics_epochs(45), 3) == dynamics_epochs(45)  # never fewer
    for last in range(1, 120):
        shown = fill_epochs(dynamics_epochs(last), 12)
        assert shown[0] == 1 and shown[-1] == last and shown == sorted(set(shown))
        assert len(shown) == min(12, max(last, len(dynamics_epochs(last))))


def test_dynamics_tiles_put_each_vector_on_a_row_and_each_epoch_in_a_column():
    from hw4.q5_2_gan.figures import tiles

    images = np.zeros((2, 3, 28, 28), dtype=np.uint8)
    images[1, 2] = 255  # vector 1 after the third epoch shown
    out = tiles(images, pad=2)
    assert out.shape == (2 * 30 - 2, 3 * 30 - 2)
    assert out[30:58, 60:88].min() == 1.0 and out[:28, :28].max() == 0.0
    assert out[28:30].min() == 1.0  # the padding between rows is white


def test_a_diverged_experiment_is_recorded(tiny_results, tmp_path, monkeypatch):
    from hw4.q5_2_gan import data
    from hw4.core.store import load_json

    def nan_mnist(train):
        images = fake_images(200)
        images[:, 0] = float("nan")
        return images, torch.zeros(200, dtype=torch.long)
    monkeypatch.setattr(data, "load_mnist", nan_mnist)
    gan = config.Gan(model="tiny", seed=0, train_images=200, compare_epoch=1, grid_samples=4,
                     eval_samples=100, mode_share=0.01, curve_points=2, cpu_threads=1,
                     experiments={"exp2": config.GanExperiment(1e-4, 1e-3, 50, 2)})
    with pytest.raises(train.Diverged, match="exp2: training diverged in epoch 1"):
        train.run_experiment(gan, "exp2", tiny_results / "classifier" / "classifier.pt", tmp_path)
    record = load_json(tmp_path / "metrics.json")
    assert record["status"] == "diverged" and "diverged in epoch 1" in record["message"]


# ----------------------------------------------------------------------------- the game's identities

def test_inner_maximum_is_an_affine_function_of_the_jensen_shannon_divergence():
    """max_D V(D, G) = 2 JSD(p_data || p_g) - log 4, attained at D* = p_data / (p_data + p_g), and
    the non-saturating loss at D* is KL(p_g || p_data) - KL(p_g || m) + log 2, m the mixture:
    the two identities the report states, on random discrete distributions."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        p, q = (torch.rand(12, generator=gen, dtype=torch.float64) + 1e-3 for _ in range(2))
        p, q = p / p.sum(), q / q.sum()
        m = (p + q) / 2

        def kl(a, b):
            return (a * (a / b).log()).sum()

        def value(D):
            return (p * D.log() + q * (1 - D).log()).sum()
        d_star = p / (p + q)
        jsd = (kl(p, m) + kl(q, m)) / 2
        assert value(d_star).item() == pytest.approx((2 * jsd - math.log(4)).item(), abs=1e-12)
        for _ in range(5):  # D* is the maximizer: every other D scores lower
            other = (d_star + 0.05 * torch.randn(12, generator=gen, dtype=torch.float64)).clamp(1e-3, 1 - 1e-3)
            assert value(other) < value(d_star)
        non_saturating = (q * -d_star.log()).sum()
        assert non_saturating.item() == pytest.approx((kl(q, p) - kl(q, m) + math.log(2)).item(), abs=1e-12)
        assert -math.log(2) <= -kl(q, m).item() <= 0


def test_the_build_derives_the_identities_and_would_notice_a_wrong_one():
    """theory.py checks each pointwise step with sympy (and the sums numerically); a wrong
    identity does not simplify to zero."""
    import sympy as sp

    from hw4.q5_2_gan import theory
    assert all(theory.symbolic().values())
    numeric = theory.numeric()
    assert numeric["inner_error"] <= numeric["tol"] and numeric["non_saturating_error"] <= numeric["tol"]
    assert not theory._zero(-theory.Q * sp.log(theory.D_STAR) - theory.Q * sp.log(theory.Q / theory.P))


# ----------------------------------------------------------------------------- claims

from claimcheck import Counterfactual, Harness  # noqa: E402

from hw4.core.claims import ClaimError  # noqa: E402
from hw4.q5_2_gan import claims  # noqa: E402


def history(batch, fd, modes, d_real, d_fake, entropy):
    """A run's per-epoch metrics as train.py records them, from per-epoch series."""
    steps = 60_000 // batch
    return [{"epoch": e, "step": e * steps, "d_loss": 1.2, "g_loss": 1.0, "d_real": dr, "d_fake": df,
             "d_loss_std": 0.1, "g_loss_std": 0.2, "train_seconds": 10.0, "fd": f, "entropy_bits": h,
             "modes": k, "confidence": 0.8, "digit_share": [0.1] * 10}
            for e, (f, k, dr, df, h) in enumerate(zip(fd, modes, d_real, d_fake, entropy), 1)]


def run(name, lr_g, lr_d, batch, epochs):
    settings = {"model": "A", "seed": 0, "train_images": 60000, "compare_epoch": 20, "grid_samples": 64,
                "eval_samples": 5000, "mode_share": 0.01, "curve_points": 10, "cpu_threads": 2,
                "experiment": name, "lr_g": lr_g, "lr_d": lr_d, "batch": batch, "epochs": len(epochs)}
    fd = [r["fd"] for r in epochs]
    rises = sum(b > a for a, b in zip(fd[:-1], fd[1:]))
    best = min(range(len(fd)), key=fd.__getitem__)
    return {"settings": settings, "experiment": name, "device": "cpu", "status": "ok",
            "steps_per_epoch": 60_000 // batch, "compare_epoch": 20, "epochs": epochs,
            "network": nets.describe("A"), "curves": {"epoch": [1.0], "d_loss": [1.0], "g_loss": [1.0],
                                                       "d_real": [0.5], "d_fake": [0.5]},
            "compare": epochs[19], "final": epochs[-1], "best_fd": fd[best], "best_fd_epoch": best + 1,
            "fd_rises": rises, "train_seconds": 600.0}


def world() -> dict:
    """Three runs shaped like the full build's, but with experiment 1 at its best at epoch 20 and
    near the equilibrium, so that every claim holds."""
    fd1 = [1700, 1600, 1550, 1500, 1350, 1250, 1000, 700, 520, 490, 500, 330, 340, 360, 290, 300, 235, 232, 231, 230]
    modes1 = [2, 1, 1, 1, 2, 3, 6, 8, 10, 10, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10]
    fd2 = [1890, 1740, 1360, 1240, 980, 800, 620, 570, 810, 950, 970, 1130, 1040, 940, 1000, 870, 710, 750, 700, 555]
    modes2 = [2, 1, 3, 4, 7, 7, 8, 9, 8, 8, 7, 4, 6, 6, 6, 6, 7, 8, 8, 9]
    fd3 = [1900 - 10 * e for e in range(35)] + [1500, 1400, 1520, 1380, 1490, 1400, 1510, 1390, 1480, 1420]
    modes3 = [1] * 27 + [3, 2, 1, 1, 2, 2, 4, 3, 1, 3, 3, 3, 2, 2, 1, 5] + [6, 3]
    return {
        "exp1": run("exp1", 2e-4, 2e-4, 100, history(100, fd1, modes1, [0.52] * 20, [0.3] * 19 + [0.48],
                                                      [3.2] * 20)),
        "exp2": run("exp2", 1e-4, 1e-3, 100, history(100, fd2, modes2, [0.9] * 20, [0.15] * 19 + [0.149],
                                                      [2.2] * 20)),
        "exp3": run("exp3", 2e-4, 2e-4, 1000, history(1000, fd3, modes3, [0.8] * 45, [0.2] * 45, [1.2] * 45)),
        "classifier": {"settings": {}, "accuracy": 0.99, "test_images": 10000, "train_images": 60000,
                       "features": 128, "train_seconds": 9.0},
        "theory": {"settings": {}, "checks": {k: True for k in ("d_star_stationary", "d_star_maximum", "inner_value",
                                                                 "non_saturating", "mixture_ratio_below_two")},
                   "numeric": {"inner_error": 1e-16, "non_saturating_error": 1e-16, "tol": 1e-12, "pairs": 20}},
    }


def context(w: dict) -> dict:
    return {"q5_2_gan": {**{name: {"metrics": w[name]} for name in ("exp1", "exp2", "exp3")},
                         "classifier": {"metrics": w["classifier"]}}}


def epoch(w, name, e, **values):
    """Set fields of epoch `e` of run `name` (and of its compare/final records, which repeat them)."""
    run_ = w[name]
    run_["epochs"][e - 1].update(values)
    for key in ("compare", "final"):
        if run_[key]["epoch"] == e:
            run_[key] = run_["epochs"][e - 1]


def every_epoch(w, name, **values):
    for e in range(1, len(w[name]["epochs"]) + 1):
        epoch(w, name, e, **values)


def set_run(w, name, **values):
    w[name].update(values)


HARNESS = Harness(claims.CLAIMS, world, context, templates=("q5_2_gan.tex.j2",))
COUNTERFACTUALS = {
    "q5_2_gan.exp1_all_digits": Counterfactual(lambda w: epoch(w, "exp1", 20, modes=9),
                                               "all ten digits appear among the samples"),
    "q5_2_gan.exp1_best_at_T": Counterfactual(lambda w: set_run(w, "exp1", best_fd=200.0, best_fd_epoch=17),
                                              "the lowest of the run"),
    "q5_2_gan.exp1_near_equilibrium": Counterfactual(lambda w: epoch(w, "exp1", 20, d_real=0.7, d_fake=0.3),
                                                     "near the equilibrium"),
    "q5_2_gan.exp1_fd_not_monotone": Counterfactual(lambda w: set_run(w, "exp1", fd_rises=0), "The FD rose in"),
    "q5_2_gan.exp2_d_wins_throughout": Counterfactual(lambda w: epoch(w, "exp2", 3, d_fake=0.35),
                                                      "ours rejects generated images more confidently"),
    "q5_2_gan.exp2_early_lead": Counterfactual(lambda w: every_epoch(w, "exp2", fd=2000.0),
                                               "At first its generator leads"),
    "q5_2_gan.exp2_modes_collapse": Counterfactual(lambda w: every_epoch(w, "exp2", modes=9),
                                                   "Then the generator collapses"),
    "q5_2_gan.exp2_recovers": Counterfactual(lambda w: epoch(w, "exp2", 20, modes=4), "and its coverage then recovers to"),
    "q5_2_gan.exp2_fd_worse": Counterfactual(lambda w: epoch(w, "exp2", 20, fd=200.0), "is worse than experiment"),
    "q5_2_gan.exp2_gap_from_generator_step": Counterfactual(lambda w: epoch(w, "exp1", 10, fd=1500.0),
                                                            "most of that gap disappears at equal generator travel"),
    "q5_2_gan.exp2_less_even_at_equal_travel": Counterfactual(
        lambda w: epoch(w, "exp2", 20, modes=10, entropy_bits=3.2),
        "What the strong discriminator changes at equal generator travel"),
    "q5_2_gan.exp3_slow_start": Counterfactual(lambda w: every_epoch(w, "exp3", modes=6),
                                               "Counted in epochs it starts slowly"),
    "q5_2_gan.exp3_reaches_half": Counterfactual(lambda w: every_epoch(w, "exp3", modes=2), "its coverage stays below"),
    "q5_2_gan.exp3_start_not_slower_per_update": Counterfactual(lambda w: every_epoch(w, "exp1", modes=10),
                                                                "Counted in updates it is not slower"),
    "q5_2_gan.exp3_comparable_per_update": Counterfactual(
        lambda w: epoch(w, "exp3", 45, step=20_000), "interpolated between"),
    "q5_2_gan.exp3_level_per_update": Counterfactual(lambda w: epoch(w, "exp3", 45, fd=3000.0),
                                                     "Less gradient noise does not buy faster progress"),
    "q5_2_gan.exp3_behind_after_all_epochs": Counterfactual(lambda w: epoch(w, "exp3", 45, fd=150.0),
                                                            "the low-noise setting is worse"),
    "q5_2_gan.exp3_less_even": Counterfactual(lambda w: epoch(w, "exp3", 45, modes=10, entropy_bits=3.2),
                                              "Its samples are spread over the digits less evenly"),
    "q5_2_gan.inner_maximum": Counterfactual(lambda w: w["theory"]["checks"].update(inner_value=False),
                                             "an affine function of the Jensen"),
    "q5_2_gan.non_saturating_at_d_star": Counterfactual(
        lambda w: w["theory"]["numeric"].update(non_saturating_error=1e-3), "the reverse Kullback"),
}


def test_every_claim_has_a_counterfactual():
    HARNESS.check_covered(COUNTERFACTUALS)


def test_every_claim_holds_in_the_world_and_prints_its_sentence():
    HARNESS.check_world(COUNTERFACTUALS)


@pytest.mark.parametrize("name", sorted(COUNTERFACTUALS))
def test_a_contradicted_claim_removes_its_sentence(name):
    HARNESS.check_counterfactual(name, COUNTERFACTUALS[name])


def test_a_nan_number_makes_a_claim_false_and_a_missing_field_stops():
    w = world()
    epoch(w, "exp2", 20, fd=math.nan)
    records = {r["name"]: r for r in claims.CLAIMS.evaluate(w)}
    assert records["q5_2_gan.exp2_fd_worse"]["holds"] is False
    del w["exp1"]["epochs"][3]["modes"]
    with pytest.raises(ClaimError, match=r"claim q5_2_gan\.\w+: exp1 has no field 'epochs\.3\.modes'"):
        claims.CLAIMS.evaluate(w)
