"""What a GAN learns without labels, put to use on a trained run or on new images.

- representations.py: a run whose D learned as a GAN, its data or new images, the representations the
  methods work on (D features, pixels, PCA of pixels, encoder latents); `ganlearn features`
- clustering.py: `ganlearn cluster`; maps.py: `ganlearn embed`; anomaly.py: `ganlearn anomaly`
"""
