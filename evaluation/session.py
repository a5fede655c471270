"""One evaluation run: load the pack, embed what the protocols need (cached), and build the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluation.score_norm import ScoreNorm
from evaluation import metrics, pairs, protocol, runner
from evaluation.cache import EmbeddingCache, cache_key
from evaluation.embed import Progress, embed_all


class Evaluation:
    """A pack, a dataset root and an embedding cache."""

    def __init__(self, root, pack: str, model_dir, providers, cache_dir, batch: int = 10, progress: Progress = None):
        from gpu_worker.packs import load_pack  # lazy: loads onnxruntime / dlib

        self.root = Path(root)
        self.pack = pack
        self.engine = load_pack(pack, providers, model_dir=model_dir)
        model = self.engine.model
        self.cache = EmbeddingCache(cache_dir, cache_key(model.name, model.version, model.dim), model.dim)
        self.batch, self.progress = batch, progress

    def records(self, paths: list[str]) -> dict:
        """Cached or freshly computed records for absolute image paths."""
        return embed_all(self.engine, self.cache, paths, self.batch, self.progress)

    def run(self, protocol_csv, calibrate_csv, threshold, pairs_file, mate_removed: bool, plot, gate: bool = False,
            cohort: int = 0, distractors_search: bool = False) -> dict:
        """The full JSON report for a protocol and/or a pairs file (cohort > 0: adaptive s-norm, evaluation only)."""
        model = self.engine.model
        result = {"pack": self.pack, "model": f"{model.name} v{model.version}", "providers": self.engine.providers}
        norm = ScoreNorm(cohort) if cohort else None
        self.options = {"mate_removed": mate_removed, "reference_gate": gate, "score_norm": norm}
        self.distractors_search = distractors_search
        if protocol_csv:
            result["identification"] = self._identify(protocol_csv, calibrate_csv, threshold, plot)
        if pairs_file:
            listed = pairs.read_pairs(pairs_file)
            paths = [str((self.root / p).resolve()) for a, b, _ in listed for p in (a, b)]
            result["verification"] = {"pairs_file": str(pairs_file), **pairs.verify(listed, self.records(paths), self.root)}
        return result

    def _identify(self, protocol_csv, calibrate_csv, threshold, plot) -> dict:
        """Identification report; thresholds from the calibration protocol, a fixed value, or the test itself."""
        test = self._outcome(protocol_csv)
        if calibrate_csv:
            calibration = self._outcome(calibrate_csv)
            if self.distractors_search:
                calibration = self._with_distractor_searches(calibration, calibrate_csv, protocol_csv)
            thresholds = runner.thresholds_for(calibration.searches)
            # must be 0 for an honest threshold: nobody may search in both protocols
            shared = protocol.probe_people(protocol.read(protocol_csv)) & protocol.probe_people(protocol.read(calibrate_csv))
            source = {"source": "calibration protocol", "protocol": str(calibrate_csv), **calibration.counts,
                      "searching_people_shared_with_test": len(shared), "suspected_label_noise": calibration.suspects}
        elif threshold is not None:
            thresholds, source = {}, {"source": "fixed --threshold"}
        else:
            thresholds = runner.thresholds_for(test.searches)
            source = {"source": "the test protocol itself (optimistic: threshold tuned on the test people)"}
        extra = {"pack_alert_threshold": self.engine.model.alert_threshold}
        if threshold is not None:
            extra["fixed_threshold"] = threshold
        rows = protocol.read(protocol_csv)
        stats = runner.image_stats(rows, self.records([runner.full_path(self.root, r) for r in rows]), self.root)
        if plot:
            from evaluation.plot import det_png

            det_png({self.engine.model.name: metrics.det_curve(test.searches)}, plot, f"DET {Path(protocol_csv).name}")
        norm = self.options["score_norm"]
        options = {**self.options, "score_norm": f"adaptive s-norm, cohort {norm.cohort}" if norm else "none"}
        head = {"protocol": str(protocol_csv), **options, **stats, "calibration": source}
        return {**head, **runner.report(test, thresholds, extra)}

    def _with_distractor_searches(self, calibration: runner.Outcome, calibrate_csv, protocol_csv) -> runner.Outcome:
        """The calibration's non-mated searches plus one per distractor who never searches in the test protocol."""
        rows = protocol.read(calibrate_csv)
        records = self.records([runner.full_path(self.root, r) for r in rows])
        extra = runner.distractor_searches(rows, records, self.root, protocol.probe_people(protocol.read(protocol_csv)),
                                           self.options["reference_gate"])
        s = calibration.searches
        searches = metrics.Searches(s.mated_score, s.mated_correct, np.concatenate([s.nonmated_score, extra]))
        return runner.Outcome(searches, {**calibration.counts, "nonmated_searches_distractors": len(extra)},
                              calibration.suspects)

    def _outcome(self, protocol_csv) -> runner.Outcome:
        """Searches of one protocol."""
        rows = protocol.read(protocol_csv)
        records = self.records([runner.full_path(self.root, r) for r in rows])
        return runner.run_searches(rows, records, self.root, **self.options)
