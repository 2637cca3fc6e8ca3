"""The pose CPU bar alone: the shipped Lightning-architecture model against the MoveNet
Lightning teacher file, side by side in one process (ONNX Runtime, 1 thread), median of
5 interleaved rounds on the coco-mini val persons; the same functions as
benchmarks/default_models.py, without the other models in the rounds.

    python benchmarks/pose_cpu_side_by_side.py [OURS.onnx]
"""
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import default_models as D  # noqa: E402
from engines import open_engine  # noqa: E402
from poselive.stages.adapters import build_pose_adapter  # noqa: E402

shared = Path(os.environ.get('POSELIVE_SHARED', Path(__file__).resolve().parents[2] / 'shared'))
val = shared / 'data/coco-mini/val2017'
kp = json.load(open(shared / 'data/coco-mini/annotations/person_keypoints_val2017.json'))
by={}
for an in kp['annotations']:
    if an.get('iscrowd',0) or an.get('num_keypoints',0)==0: continue
    x,y,w,h=an['bbox']; by.setdefault(an['image_id'],[]).append([x,y,x+w,y+h])
names={im['id']:im['file_name'] for im in kp['images']}
crops=[(cv2.imread(f"{val}/{names[i]}"), np.array(b,np.float32)) for i,b in sorted(by.items())][:40]
ours = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[1] / 'poselive/assets/poselive-pose-lightning.onnx')
eng = {'ours': open_engine(ours, threads=1),
       'teacher': open_engine(shared / 'data/teachers/movenet-lightning.onnx', threads=1)}
ad={k: build_pose_adapter(e) for k,e in eng.items()}
for a in ad.values(): D._adapter_time_per_crop(a, crops[:3])
fns={}
for k in eng:
    fns['model '+k]=lambda e=eng[k]: D._model_ms(e)
    fns['per-person '+k]=lambda a=ad[k]: D._adapter_time_per_crop(a, crops)
    fns['batched '+k]=lambda a=ad[k]: D._adapter_time_batched(a, crops)
print('load average before', os.getloadavg())
r=D._median_of_rounds(fns, 5)
for k,v in r.items(): print(k, round(v,2))
print('batched ms/person ours / teacher:', round(r['batched ours'] / r['batched teacher'], 3), '(bar <= 1.0)')
print('load average after', os.getloadavg())
