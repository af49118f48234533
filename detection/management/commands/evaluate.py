"""Face-matching accuracy on a labelled folder (see detection/engine/evaluation.py for the protocol)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from detection.engine import evaluation, svgplot
from detection.engine import faces as face_engine


class Command(BaseCommand):
    help = "Enrol the first photo(s) of each identity in FOLDER/labels.csv, probe with the rest, print the counts."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--references", type=int, default=1, help="Photos enrolled per identity.")
        parser.add_argument("--threshold", type=float, default=None, help="Default: FACE_MATCH_THRESHOLD.")
        parser.add_argument("--exhaustive", action="store_true", help="Always run the fine detection pass.")
        parser.add_argument("--plot", type=Path, help="Write the threshold sweep as an SVG chart here.")

    def handle(self, *args, **options):
        folder = options["folder"]
        if not (folder / "labels.csv").is_file():
            raise CommandError(f"{folder} has no labels.csv (columns: file, identity).")
        threshold = options["threshold"] if options["threshold"] is not None else settings.FACE_MATCH_THRESHOLD
        references, probes = evaluation.split(evaluation.load_labels(folder), options["references"])
        policy = face_engine.DetectionPolicy(exhaustive=options["exhaustive"])
        run = evaluation.run_engine(references, probes, policy)
        known = set(references)
        self.stdout.write(
            f"{folder}: {sum(map(len, references.values()))} reference photo(s) of {len(known)} identities, "
            f"{len(probes)} probe photo(s), {len(run.errors)} unreadable; model {face_engine.model_version()}"
        )
        for path, reason in run.errors.items():
            self.stdout.write(f"  unreadable: {path}: {reason}")
        self.stdout.write(f"{'threshold':>9}  {'true':>5}  {'missed':>6}  {'false':>5}  {'recall':>6}  {'unlabelled':>10}")
        sweep = []
        for value in sorted({*evaluation.SWEEP, threshold}):
            counts = evaluation.score(evaluation.matched_at(run, value), probes, known)
            sweep.append((value, counts))
            marker = "  ← chosen" if value == threshold else ""
            self.stdout.write(
                f"{value:>9.2f}  {counts.true_matches:>5}  {counts.missed_matches:>6}  {counts.false_matches:>5}  "
                f"{counts.recall:>6.3f}  {counts.unverifiable_matches:>10}{marker}"
            )
        self.stdout.write(f"CPU time {run.cpu_seconds:.1f} s for enrolment and {len(probes)} probes.")
        if options["plot"]:
            chart = svgplot.line_chart(
                {
                    "true matches": [(v, c.true_matches) for v, c in sweep],
                    "missed matches": [(v, c.missed_matches) for v, c in sweep],
                    "false matches": [(v, c.false_matches) for v, c in sweep],
                },
                title=f"Face matching on {folder.name} (dashed: threshold in use)",
                x_label="distance threshold", y_label="count", marker_x=threshold,
            )
            options["plot"].write_text(chart)
            self.stdout.write(f"Chart written to {options['plot']}")
