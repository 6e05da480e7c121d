"""Non-intrusive load monitoring: each appliance's power from a house's total alone (the study plan's paper,
Shin et al., "Subtask Gated Networks for Non-Intrusive Load Monitoring", AAAI 2019).

    data.py     REDD, UK-DALE and CSV houses read, resampled to one period, gaps marked
    synth.py    generated households for learning offline (seen and unseen appliance models)
    models.py   seq2point and the subtask gated network (a Lightning module)
    run.py      `tamgu nilm train` (folds by house, OOF beside held-out houses) and `tamgu nilm predict`
"""
