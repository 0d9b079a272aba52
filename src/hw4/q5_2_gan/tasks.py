"""Q5.2's tasks: the classifier that judges samples, one task per GAN experiment, the figures."""
from __future__ import annotations

from hw4.core.build import Build, clean_with
from hw4.q5_2_gan import data, experiment_settings

QUESTION = "q5_2_gan"


def tasks(b: Build):
    judge = b.out(QUESTION, "classifier")
    weights = judge / "classifier.pt"
    yield b.task(QUESTION, "classifier", "hw4.q5_2_gan.classifier:run_classifier", b.cfg.classifier, judge,
                 targets=[judge / "metrics.json", weights], settings=b.settings("classifier"),
                 doc=f"the MNIST classifier that judges samples -> {judge}")
    metrics, samples = [], []
    for name in b.cfg.gan.experiments:
        out = b.out(QUESTION, name)
        metrics.append(out / "metrics.json")
        samples.append(out / "samples.pt")
        task = b.task(QUESTION, name, "hw4.q5_2_gan.train:run_experiment", b.cfg.gan, name, weights, out,
                      targets=[out / "metrics.json", out / "samples.pt", out / "weights.pt"],
                      file_dep=[weights], settings=experiment_settings(b.cfg.gan, name),
                      doc=f"GAN experiment {name} (resumable) -> {out}")
        task["clean"] = clean_with(out)  # with an interrupted run's checkpoint
        yield task
    yield b.claims_task(QUESTION, "hw4.q5_2_gan.claims", dict(zip(b.cfg.gan.experiments, metrics)))
    yield b.figure_task(QUESTION, "gan_samples", "hw4.q5_2_gan.figures:samples", metrics, ["gan"],
                        extra_dep=samples)
    yield b.figure_task(QUESTION, "gan_dynamics", "hw4.q5_2_gan.figures:dynamics", metrics, ["gan"],
                        extra_dep=samples)
    yield b.figure_task(QUESTION, "gan_curves", "hw4.q5_2_gan.figures:curves", metrics, ["gan"])
    yield b.figure_task(QUESTION, "gan_quality", "hw4.q5_2_gan.figures:quality", metrics, ["gan", "classifier"])


def data_files() -> list:
    """The MNIST files the experiments read, for the provenance record."""
    raw = data.data_dir() / "MNIST" / "raw"
    return [raw / name for name in data.FILES if (raw / name).exists()]
