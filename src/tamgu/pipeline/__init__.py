"""The core chain of the competition (chapter 5): data -> folds -> model -> training -> predictions -> scores.

    config       the one typed run config (TrainConfig)      data        read and check datasets
    synthetic    generated State Farm data + private labels  folds       random / driver / group folds
    weights      ImageNet weights found offline, verified    models      timm networks, the book's head
    transforms   resizing and augmentation, train and TTA    cache       decode each image once
    module       the LightningModule                         training    the fold loop: resume, assemble, collect
    loaders      a fold's loaders (training and the Tuner)   tuning      --batch-size auto, --lr-find (Tuner)
    inference    the one loop that runs models over images   prediction  predict, score, submission checks
    runfolder    the run folder contract                     table       the prediction table contract
    metrics      Kaggle's log loss

Nothing here imports the winners' tricks (`tamgu.tricks`), the recipes (`tamgu.recipes`) or the reports.
"""
