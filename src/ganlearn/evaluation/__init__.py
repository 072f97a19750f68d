"""Evaluation of trained runs and generated images.

- report.py: `ganlearn evaluate` / `sample`: test report, confusion matrix, sample scores, ensembles
- metrics.py: accuracy, confusion, the Fréchet distance and Inception-Score formulas, IoU
- plots.py: sample grids, label-map overlays, curves, confusion matrices, 2-D maps, histograms
- domain_scores.py: FID-style and IS-style scores under small shipped domain classifiers
- inception_fid.py: the standard FID through torch-fidelity, with Inception weights from disk
"""
