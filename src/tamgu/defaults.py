"""The defaults shared by many commands, each written once. A signature says `progress: bool = PROGRESS`, and
`video.stream.FrameOptions` builds its fields from the same names, so changing one here changes every tool."""

ACCELERATOR = "auto"  # deep models: a GPU when there is one, else the CPU (cpu, gpu, mps or auto)
PROGRESS = True  # progress bars on a terminal or in a notebook (a status line on live sources)
THREADS = None  # None: runtime.default_threads() (OMP_NUM_THREADS, else the cores, at most 4)
FLOOR = 0.5  # watch, predict: a top probability under this is "uncertain" (0: never)
UNCERTAIN = "uncertain"  # the label of a moment or image the model cannot vouch for: never an alert
