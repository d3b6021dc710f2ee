"""Random-weight SAM2 checkpoints in the official format, for tests and benchmarks.

Official checkpoints are `{"model": state_dict}` files; these have the same layout with
seeded random weights, built from sam2's packaged configs. "micro" shrinks the hiera-tiny
config through hydra overrides so a test builds, loads and runs it in milliseconds.
"""

from pathlib import Path

import torch

TINY_CONFIG = "configs/sam2.1/sam2.1_hiera_t.yaml"

MICRO_IMAGE_SIZE = 512
MICRO_OVERRIDES: tuple[str, ...] = (
    f"++model.image_size={MICRO_IMAGE_SIZE}",
    "++model.image_encoder.trunk.embed_dim=32",
    "++model.image_encoder.trunk.stages=[1,1,2,1]",
    "++model.image_encoder.trunk.global_att_blocks=[3]",
    "++model.image_encoder.neck.backbone_channel_list=[256,128,64,32]",
    "++model.image_encoder.neck.d_model=64",
    "++model.image_encoder.neck.position_encoding.num_pos_feats=64",
    "++model.memory_attention.d_model=64",
    "++model.memory_attention.num_layers=1",
    "++model.memory_attention.layer.d_model=64",
    "++model.memory_attention.layer.dim_feedforward=128",
    "++model.memory_attention.layer.self_attention.embedding_dim=64",
    "++model.memory_attention.layer.cross_attention.embedding_dim=64",
    "++model.memory_attention.layer.cross_attention.kv_in_dim=64",
    "++model.memory_encoder.out_dim=64",
    "++model.memory_encoder.in_dim=64",
    "++model.memory_encoder.mask_downsampler.embed_dim=64",
    "++model.memory_encoder.fuser.layer.dim=64",
    "++model.memory_encoder.fuser.num_layers=1",
)


def build_model(config: str, overrides: tuple[str, ...] = (), *, seed: int = 0):
    """An untrained SAM2 model of `config` with seeded random weights, on the CPU."""
    from hydra import compose
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from inference.engine import import_sam2

    import_sam2()
    torch.manual_seed(seed)
    cfg = compose(config_name=config, overrides=list(overrides))
    OmegaConf.resolve(cfg)
    return instantiate(cfg.model, _recursive_=True).eval()


def write_checkpoint(path: Path, config: str, overrides: tuple[str, ...] = (), *, seed: int = 0):
    """Write `{"model": state_dict}` of a random-weight model to `path`; returns the path."""
    model = build_model(config, overrides, seed=seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save({"model": model.state_dict()}, temporary)
    temporary.replace(path)
    return path


def write_micro_checkpoint(path: Path, *, seed: int = 0) -> Path:
    return write_checkpoint(path, TINY_CONFIG, MICRO_OVERRIDES, seed=seed)


def write_tiny_checkpoint(path: Path, *, seed: int = 0) -> Path:
    return write_checkpoint(path, TINY_CONFIG, (), seed=seed)
