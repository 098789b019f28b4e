# The RelativeNAS mobile (ImageNet-stem) backbone, C46 L14 (docs/reference.md §6.2): 46 / 184 /
# 368 / 736 channels at strides 4 / 8 / 16 / 32. The ImageNet classifier
# (configs/retrain/rnas_c46l14_8xb128-250e_in1k.py) and the detection, segmentation and pose
# configs build on it, adding their outputs, norm and init.
custom_imports = dict(imports=['mmrnas.models'], allow_failed_imports=False)

# The architecture: a known name (mmrnas.structures.list_genotypes()), the best_genotype.yaml
# of a search, or Genotype(...) text. A config that inherits this one and sets its own
# `genotype` passes it on with model.backbone.genotype (MMEngine has already evaluated this
# file's variables).
genotype = 'RelativeNAS'

model = dict(
    backbone=dict(
        type='RelativeNASBackbone',
        genotype=genotype,
        stem='imagenet',
        in_channels=3,  # image channels: 1 for grey images (as the search's model.in_channels)
        base_channels=46,
        num_cells=14))
