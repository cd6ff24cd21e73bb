"""Fine-tuning of the learned detector and inpainter on a curator's own images.

No labels are needed: defects and holes are synthesized on the images, away
from regions already marked as defects, and each image is split by region
into a fine-tune part and a held-out part on which the model is measured
before and after. The new model is saved into the user model folder, beside
the shipped ones. Training code: never imported by inference.
"""

from .data import NotEnoughImages, prepare_images
from .run import FinetuneResult, finetune, has_checkpoint, run_dir

__all__ = ["FinetuneResult", "NotEnoughImages", "finetune", "has_checkpoint", "prepare_images",
           "run_dir"]
