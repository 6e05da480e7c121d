"""The competition pipeline (chapter 5): data -> folds -> model -> training -> predictions -> scores.

One module per step: `data` (read and check datasets), `synthetic` (generated State Farm data and its
private test labels), `exploration` (EDA), `folds`, `config` (the typed run config), `weights` (ImageNet
weights found offline and verified), `models`, `presets` (transforms), `cache` (decode once), `training`,
`prediction` (predict, score, submission checks), `metrics`, `ensemble` (blends and calibration from
prediction files), `smoothing` (test-neighbour smoothing), `pseudo` (pseudo-labelled datasets), `reproduce`
(the chapter as a results table), `demojob` (`make demo`).
"""
