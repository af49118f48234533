"""Per-indicator AUC on labelled genuine and fake images and videos, per source and pooled with bootstrap
intervals, and the combined likelihood's leave-one-source-out AUC; every image re-encoded alike first (``--as-is``
to skip that); ``--fit`` writes the combined likelihood's calibration with that figure
(see detection/engine/indicators/evaluation.py, validation.py and combined.py)."""

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from detection.engine.indicators import IndicatorOptions, clip_probe, combined, evaluation, probe_training, validation

NOTHING_TO_EVALUATE = "Give --real DIR… and --fake DIR…, --ranking DIR, or --testdata."
NO_RANKING = "{path} holds no CNNDetection ranking images (<n>_<generator>_<real|fake>.jpg)."
NO_TESTDATA = "{path} is not the shared test data folder (it has no synthetic/labels.csv); set TESTDATA_DIR."
AS_IS_FIT = "--fit needs the images re-encoded alike: leave out --as-is."
CANNOT_FIT = "The combined likelihood cannot be fitted: it needs at least two real and two fake items."
FITTED = "Calibration written to {path}: {real} real and {fake} fake items; weighed: {weighed}."
# Named with every combined result, so a reader knows what the likelihood was fitted on.
TESTDATA_NAME = "the shared test set (faces/, synthetic/ StyleGAN2 and FaceForensics++ crops, video/)"
RANKING_NAME = "CNNDetection's ranking images (10 sources)"
EMBEDDING_CACHE = Path(tempfile.gettempdir()) / "reclaim-clip-embeddings.npz"


def default_testdata() -> Path:
    configured = os.environ.get("TESTDATA_DIR")
    return Path(configured) if configured else Path(settings.BASE_DIR).parent / "shared" / "testdata"


class Command(BaseCommand):
    help = "Print each fake indicator's AUC on labelled genuine (--real) and fake (--fake) images."

    def add_arguments(self, parser):
        parser.add_argument("--real", type=Path, nargs="+", action="extend", default=[], metavar="DIR")
        parser.add_argument("--fake", type=Path, nargs="+", action="extend", default=[], metavar="DIR")
        parser.add_argument("--testdata", type=Path, nargs="?", const=default_testdata(), default=None, metavar="DIR",
                            help="Use the shared test data's labels (faces/ and FaceForensics++ originals genuine; "
                                 "StyleGAN2 and FaceForensics++ swaps fake). Default folder: TESTDATA_DIR or "
                                 "../shared/testdata.")
        parser.add_argument("--ranking", type=Path, default=None, metavar="DIR",
                            help="A folder of CNNDetection ranking images, one source per generator "
                                 "(see probe_training.py).")
        parser.add_argument("--allow-noncommercial-models", action="store_true",
                            help="Also run indicators whose models forbid commercial use (68-point head pose, "
                                 "blink rate, the learned probe).")
        parser.add_argument("--as-is", action="store_true",
                            help="Score files as they are, instead of re-encoding every image as a 256×256 JPEG of "
                                 "quality 90 (then format and size may give labels away; not for --fit).")
        parser.add_argument("--embedding-cache", type=Path, default=EMBEDDING_CACHE, metavar="FILE",
                            help="Keep the learned probe's image embeddings here between runs "
                                 f"(default {EMBEDDING_CACHE}).")
        parser.add_argument("--fit", nargs="?", type=Path, const=combined.CALIBRATION_PATH, default=None,
                            metavar="FILE",
                            help="Fit the combined likelihood on every item and write its calibration "
                                 f"(default {combined.CALIBRATION_PATH.name} beside the indicators).")

    def handle(self, *args, **options):
        indicator_options = IndicatorOptions(allow_noncommercial_models=options["allow_noncommercial_models"])
        samples = []
        data = []
        if options["testdata"] is not None:
            root = options["testdata"]
            if not (root / "synthetic" / "labels.csv").is_file():
                raise CommandError(NO_TESTDATA.format(path=root))
            samples += evaluation.testdata_samples(root)
            data.append(f"shared test data {root} (REAL: faces/ + FaceForensics++ originals + video/ REAL; "
                        f"FAKE: StyleGAN2 + FaceForensics++ Deepfakes swaps, crops to {evaluation.FFPP_CROP}, "
                        "+ video/ FAKE)")
        if options["ranking"] is not None:
            ranking = probe_training.ranking_samples(options["ranking"])
            if not ranking:
                raise CommandError(NO_RANKING.format(path=options["ranking"]))
            samples += ranking
            data.append(f"{probe_training.RANKING_DATA}: {options['ranking']}")
        if options["real"] or options["fake"]:
            samples += evaluation.samples_from_dirs(options["real"], options["fake"])
            data.append(f"real: {', '.join(map(str, options['real']))}; fake: {', '.join(map(str, options['fake']))}")
        if not samples:
            raise CommandError(NOTHING_TO_EVALUATE)
        samples = evaluation.without_duplicates(samples)
        cache = validation.EmbeddingCache(options["embedding_cache"], clip_probe.ENCODER_SHA256)
        report = evaluation.evaluate_samples(samples, options=indicator_options, data="; ".join(data),
                                             neutral=not options["as_is"], cache=cache)
        self.stdout.write(evaluation.format_report(report))
        if options["fit"] is not None:
            if options["as_is"]:
                raise CommandError(AS_IS_FIT)
            if report.combined is None:
                raise CommandError(CANNOT_FIT)
            # A short name: it is quoted in every combined result's meaning.
            named = [TESTDATA_NAME] if options["testdata"] is not None else []
            named += [RANKING_NAME] if options["ranking"] is not None else []
            named += [data[-1]] if options["real"] or options["fake"] else []
            # Fitted on CNNDetection's images (CC BY-NC-SA), a calibration is for non-commercial deployments only,
            # whether or not this run's switch let the learned probe weigh in.
            noncommercial = indicator_options.allow_noncommercial_models or options["ranking"] is not None
            calibration = evaluation.fit_combined(report, data=" and ".join(named),
                                                  options=IndicatorOptions(allow_noncommercial_models=noncommercial))
            calibration.save(options["fit"])
            self.stdout.write(FITTED.format(path=options["fit"], real=calibration.real, fake=calibration.fake,
                                            weighed=", ".join(s.name for s in calibration.signals) or "none"))
