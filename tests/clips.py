"""The tests' clips are the demo's (devstack/clips.py): real LFW faces crossing a background, encoded with PyAV."""

from devstack.clips import CODECS, LFW_CROP, Walker, background, corrupted, encode_clip, frame_at, lfw, truncated

__all__ = ["CODECS", "LFW_CROP", "Walker", "background", "corrupted", "encode_clip", "frame_at", "lfw", "truncated"]
