"""Gymnasium environments of rlcraving."""

from rlcraving.envs.cocaine_seeking import SESSION_OPTIONS, CocaineSeekingEnv, CocaineSeekingVectorEnv, Protocol

__all__ = ["SESSION_OPTIONS", "CocaineSeekingEnv", "CocaineSeekingVectorEnv", "Protocol"]
