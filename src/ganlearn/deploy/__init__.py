"""Trained models put to use: `ganlearn.load` and its Model (trained_model.py), `ganlearn predict`,
and exports as safetensors or ONNX (export.py)."""
