"""Q5.2's tasks: the classifier that judges samples, one task per GAN experiment, the figures."""
from __future__ import annotations

from hw4.core.build import Build, clean_with
from hw4.q5_2_gan import experiment_settings

QUESTION = "q5_2_gan"
DATA_CHECK = "hw4.q5_2_gan.tasks:files_read"  # checks MNIST and lists it, for the provenance record
IMAGES_PER_SECOND = 4000  # a GAN step's images (D and G) per second on one core, about: for scheduling


def files_read(root=None) -> list[dict]:
    """The MNIST files torchvision reads (each raw file, or its .gz archive where the raw file is
    absent), checked against their known sizes and MD5s: what the appendix lists as read."""
    from hw4.q5_2_gan import data

    raw = data.raw_dir(root)
    paths = [raw / n if (raw / n).is_file() else raw / f"{n}.gz" for n in data.FILES]
    return [data.check(p) for p in paths if p.is_file()]


def tasks(b: Build):
    judge = b.out(QUESTION, "classifier")
    weights = judge / "classifier.pt"
    yield b.task(QUESTION, "classifier", "hw4.q5_2_gan.classifier:run_classifier", b.cfg.classifier, judge,
                 targets=[judge / "metrics.json", weights], settings=b.settings("classifier"),
                 doc=f"the MNIST classifier that judges samples -> {judge}",
                 estimate=b.cfg.classifier.epochs * b.cfg.classifier.train_images / 20000)  # about
    metrics, samples = [], []
    for name, exp in b.cfg.gan.experiments.items():
        out = b.out(QUESTION, name)
        metrics.append(out / "metrics.json")
        samples.append(out / "samples.pt")
        task = b.task(QUESTION, name, "hw4.q5_2_gan.train:run_experiment", b.cfg.gan, name, weights, out,
                      targets=[out / "metrics.json", out / "samples.pt", out / "weights.pt"],
                      file_dep=[weights], settings=experiment_settings(b.cfg.gan, name),
                      doc=f"GAN experiment {name} (resumable) -> {out}",
                      estimate=exp.epochs * b.cfg.gan.train_images / IMAGES_PER_SECOND)
        task["clean"] = clean_with(out)  # with an interrupted run's checkpoint
        yield task
    theory = b.out(QUESTION, "theory.json")
    yield b.task(QUESTION, "theory", "hw4.q5_2_gan.theory:run", theory, targets=[theory], settings={},
                 doc=f"the game's identities (inner maximum, non-saturating loss at D*), with sympy -> {theory}")
    yield b.claims_task(QUESTION, "hw4.q5_2_gan.claims", {**dict(zip(b.cfg.gan.experiments, metrics)),
                                                          "theory": theory})
    yield b.figure_task(QUESTION, "gan_samples", "hw4.q5_2_gan.figures:samples", metrics, ["gan"],
                        extra_dep=samples)
    yield b.figure_task(QUESTION, "gan_dynamics", "hw4.q5_2_gan.figures:dynamics", metrics, ["gan"],
                        extra_dep=samples)
    yield b.figure_task(QUESTION, "gan_quality", "hw4.q5_2_gan.figures:quality", metrics, ["gan", "classifier"])

