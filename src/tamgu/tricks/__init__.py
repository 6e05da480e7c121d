"""The winners' tricks, each reading only run folders (`pipeline.runfolder`) and writing a new one:
`ensemble` (blends and calibration: temperature, clipping), `smoothing` (test-neighbour smoothing, 1st place),
`pseudo` (pseudo-labelled datasets)."""
