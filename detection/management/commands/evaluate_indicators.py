"""Per-indicator AUC on labelled genuine and fake images (see detection/engine/indicators/evaluation.py)."""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from detection.engine.indicators import IndicatorOptions, evaluation

NOTHING_TO_EVALUATE = "Give --real DIR… and --fake DIR…, or --testdata."
NO_TESTDATA = "{path} is not the shared test data folder (it has no synthetic/labels.csv); set TESTDATA_DIR."


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
                            help="Also run indicators whose models forbid commercial use (68-point head pose).")

    def handle(self, *args, **options):
        indicator_options = IndicatorOptions(allow_noncommercial_models=options["allow_noncommercial_models"])
        samples = []
        data = []
        if options["testdata"] is not None:
            root = options["testdata"]
            if not (root / "synthetic" / "labels.csv").is_file():
                raise CommandError(NO_TESTDATA.format(path=root))
            samples += evaluation.testdata_samples(root)
            data.append(f"shared test data {root} (REAL: faces/ + FaceForensics++ originals; "
                        f"FAKE: StyleGAN2 + FaceForensics++ Deepfakes swaps, crops to {evaluation.FFPP_CROP})")
        if options["real"] or options["fake"]:
            samples += evaluation.samples_from_dirs(options["real"], options["fake"])
            data.append(f"real: {', '.join(map(str, options['real']))}; fake: {', '.join(map(str, options['fake']))}")
        if not samples:
            raise CommandError(NOTHING_TO_EVALUATE)
        report = evaluation.evaluate_samples(samples, options=indicator_options, data="; ".join(data))
        self.stdout.write(evaluation.format_report(report))
