"""Object identification: `faces`, `text`, `objects` (people and objects; `coco` its 80 classes), `search` (a
template inside images), all run by `runner.run_detector` over the one frame loop; `models` finds the deep models
offline; `tracking` gives objects on video an id, `counting` counts them across lines and in zones;
`annotations` writes and reads COCO, YOLO and CVAT; `crops` cuts boxes into a dataset for the group's own classes;
`judge` scores detections and tracks against drawn boxes; `synth` makes a street whose crossings are known."""
