# The RelativeNAS CIFAR classifier (docs/reference.md §6.1): the CIFAR stem, C36 L20 (576
# channels at the end), and the auxiliary head on the 8x8 feature of the second reduction cell,
# weight 0.4. For 10 classes; the CIFAR retraining configs (configs/retrain/) build on it.
custom_imports = dict(
    imports=['mmrnas.models', 'mmrnas.models.heads.relativenas_cls_head'],
    allow_failed_imports=False)

# The architecture: a known name (mmrnas.structures.list_genotypes()), the best_genotype.yaml
# of a search, or Genotype(...) text. A config that inherits this one and sets its own
# `genotype` passes it on with model.backbone.genotype (MMEngine has already evaluated this
# file's variables).
genotype = 'RelativeNAS'

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='RelativeNASBackbone',
        genotype=genotype,
        stem='cifar',
        in_channels=3,  # image channels: 1 for grey images (as the search's model.in_channels)
        base_channels=36,
        num_cells=20,
        with_aux_feature=True),
    head=dict(
        type='mmrnas.RelativeNASClsHead',
        num_classes=10,
        in_channels=576,
        aux_in_channels=576,
        aux_head='cifar',
        aux_weight=0.4,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))
