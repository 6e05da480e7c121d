"""Surface inspection: cracks on concrete (the tunnel-lining patent in the study plan).

    synth.py    generated surfaces with true masks (textures from scikit-image, joints, holes, stains)
    data.py     the crack-set layout (images/ + masks/, as CRACK500 and DeepCrack), checked pair by pair
    ridge.py    the classical method: multi-scale ridge filter, hysteresis, cleaning
    unet.py     the learned one: a U-Net on a checked ImageNet encoder, its training and its model file
    measure.py  length, width, orientation per crack; skeleton precision/recall/F1 within 2 px
    find.py     `tamgu cracks` (any input the frame loop reads) and `tamgu cracks eval`
"""
