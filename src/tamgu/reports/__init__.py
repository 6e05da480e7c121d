"""Pages a study group opens in a browser: the data (`eda_page`), a run, an ensemble or the chapter's
results table (`report`), with Grad-CAM heat maps (`gradcam`). Every page is one self-contained HTML file."""
