"""Per-indicator AUC on labelled genuine and fake images and videos, and the combined likelihood's
cross-validated AUC; ``--fit`` writes the combined likelihood's calibration
(see detection/engine/indicators/evaluation.py and combined.py)."""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from detection.engine.indicators import IndicatorOptions, combined, evaluation

NOTHING_TO_EVALUATE = "Give --real DIR… and --fake DIR…, or --testdata."
NO_TESTDATA = "{path} is not the shared test data folder (it has no synthetic/labels.csv); set TESTDATA_DIR."
CANNOT_FIT = "The combined likelihood cannot be fitted: it needs at least two real and two fake items."
FITTED = "Calibration written to {path}: {real} real and {fake} fake items; weighed: {weighed}."
# Named with every combined result, so a reader knows what the likelihood was fitted on.
TESTDATA_NAME = "the shared test set (faces/, synthetic/ StyleGAN2 and FaceForensics++ crops, video/)"


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
        parser.add_argument("--allow-noncommercial-models", action="store_true",
                            help="Also run indicators whose models forbid commercial use (68-point head pose, "
                                 "blink rate).")
        parser.add_argument("--folds", type=int, default=None, metavar="K",
                            help="Cross-validate the combined likelihood K-fold instead of leave-one-out.")
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
        if options["real"] or options["fake"]:
            samples += evaluation.samples_from_dirs(options["real"], options["fake"])
            data.append(f"real: {', '.join(map(str, options['real']))}; fake: {', '.join(map(str, options['fake']))}")
        if not samples:
            raise CommandError(NOTHING_TO_EVALUATE)
        report = evaluation.evaluate_samples(samples, options=indicator_options, data="; ".join(data),
                                             folds=options["folds"])
        self.stdout.write(evaluation.format_report(report))
        if options["fit"] is not None:
            if report.combined is None:
                raise CommandError(CANNOT_FIT)
            only_testdata = options["testdata"] is not None and not (options["real"] or options["fake"])
            calibration = evaluation.fit_combined(report, data=TESTDATA_NAME if only_testdata else "; ".join(data),
                                                  options=indicator_options)
            calibration.save(options["fit"])
            self.stdout.write(FITTED.format(path=options["fit"], real=calibration.real, fake=calibration.fake,
                                            weighed=", ".join(s.name for s in calibration.signals) or "none"))
