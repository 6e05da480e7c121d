"""The group's own data: what in it is probably wrong, and what to label next. Each step reads a run folder
(`pipeline.runfolder`) and writes tables a person edits or reads.

    audit.py     `tamgu audit RUN`: label issues (confident learning on the OOF probabilities), near-duplicates
                 that cross groups (leakage) or labels, outliers; fixes.csv for `train --fixes`
    suggest.py   `tamgu suggest RUN SOURCE...`: the unlabelled frames worth labelling next
"""
