"""Gymnasium environments of rlcraving."""

from rlcraving.envs.cocaine_seeking import SESSION_OPTIONS, CocaineSeekingEnv, CocaineSeekingVectorEnv

__all__ = ["SESSION_OPTIONS", "CocaineSeekingEnv", "CocaineSeekingVectorEnv"]
