"""Fit the learned probe (detection/engine/indicators/clip_probe.py) from a folder of CNNDetection ranking images,
print its leave-one-generator-out table (with the shared test set's sources when it is there) and write
clip_probe.json with that figure and the data's provenance (see probe_training.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detection.engine.indicators import clip_probe, probe_training, validation
from detection.management.commands.evaluate_indicators import EMBEDDING_CACHE, default_testdata

NO_RANKING = "{path} holds no CNNDetection ranking images (<n>_<generator>_<real|fake>.jpg)."
NO_ENCODER = "The CLIP image encoder cannot be run: {reason}"
WRITTEN = ("Probe written to {path}: fitted on {images} images of {generators}; leave-one-generator-out AUC {auc}. "
           "It is used only where INDICATORS_ALLOW_NONCOMMERCIAL_MODELS is on (the images are CC BY-NC-SA).")


class Command(BaseCommand):
    help = "Fit the learned CLIP probe on CNNDetection ranking images and print its leave-one-generator-out AUCs."

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, required=True, metavar="DIR",
                            help="A copy of CNNDetection's ranking/images folder (<n>_<generator>_<real|fake>.jpg).")
        parser.add_argument("--testdata", type=Path, nargs="?", const=default_testdata(), default=default_testdata(),
                            metavar="DIR", help="Also score the shared test set's still images (default: TESTDATA_DIR "
                                                "or ../shared/testdata, when it is there).")
        parser.add_argument("--no-testdata", action="store_true", help="Score the ranking images only.")
        parser.add_argument("--out", type=Path, default=clip_probe.PROBE_PATH, metavar="FILE",
                            help=f"Where to write the probe (default {clip_probe.PROBE_PATH.name} beside the "
                                 "indicator).")
        parser.add_argument("--dry-run", action="store_true", help="Print the table, write nothing.")
        parser.add_argument("--embedding-cache", type=Path, default=EMBEDDING_CACHE, metavar="FILE",
                            help=f"Keep image embeddings here between runs (default {EMBEDDING_CACHE}).")
        parser.add_argument("--threads", type=int, default=0, help="Encoder threads (0: one per core).")

    def handle(self, *args, **options):
        ranking = probe_training.ranking_samples(options["data"])
        if not ranking:
            raise CommandError(NO_RANKING.format(path=options["data"]))
        testdata = options["testdata"]
        if options["no_testdata"] or not (testdata / "synthetic" / "labels.csv").is_file():
            testdata = None
        try:
            clip_probe.encoder_path()
        except clip_probe.EncoderUnavailable as error:
            raise CommandError(NO_ENCODER.format(reason=error.reason)) from error
        samples = probe_training.reachable_samples(options["data"], testdata)
        cache = validation.EmbeddingCache(options["embedding_cache"], clip_probe.ENCODER_SHA256)
        embedded = probe_training.embed_samples(samples, cache=cache, threads=options["threads"])
        data = probe_training.RANKING_DATA
        try:
            probe, checked = probe_training.fit_and_validate(embedded, {sample.group for sample in ranking}, data=data)
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Data: {data}: {options['data']}" + (f"; shared test set {testdata}" if testdata else ""))
        self.stdout.write(f"Prepared: {validation.PREPARATION}.")
        self.stdout.write(probe_training.format_validation(checked))
        for path, reason in embedded.unreadable.items():
            self.stdout.write(f"unreadable: {path}: {reason}")
        if not options["dry_run"]:
            probe.save(options["out"])
            generators = probe.trained_on["generators"]
            self.stdout.write(WRITTEN.format(
                path=options["out"], images=sum(c["genuine"] + c["generated"] for c in generators.values()),
                generators=", ".join(generators), auc=f"{probe.held_out.auc:.3f}"))
