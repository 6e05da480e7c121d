"""Denoising: `filters` (classical methods, `denoise`, `evaluate`), `n2n` (the Noise2Noise U-Net and its
training), `noise` (noise models and image quality measures)."""
