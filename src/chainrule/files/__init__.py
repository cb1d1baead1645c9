"""Pure-data files: safetensors for arrays, JSON for everything else, written atomically.

One concept a module:

- :mod:`chainrule.files.atomic`: :func:`atomic_write`, which replaces a file so that
  readers see the old one or the new one, never half; and :func:`file_blocker`,
  :func:`directory_blocker` and :func:`blocking_file`, which say before any work why a
  path cannot take a file or a folder to write in;
- :mod:`chainrule.files.safetensors`: the safetensors codec (:func:`encode_safetensors`,
  :func:`decode_safetensors`, or in two steps :func:`decode_header` and
  :func:`decode_tensors`; :func:`check_storable`, :func:`check_text`) and
  :class:`FormatError`;
- :mod:`chainrule.files.tree`: trees of JSON data and arrays as one safetensors file
  (:func:`write_tree`, :func:`read_tree`, :func:`split_tree`, :func:`join_tree`) and
  :func:`json_text`, the strict JSON those files and the run folders' JSON files use.

Reading a file parses JSON and copies bytes: nothing is imported, unpickled or evaluated,
so a hostile file can at worst be rejected.
"""

from chainrule.files.atomic import atomic_write, blocking_file, directory_blocker, file_blocker
from chainrule.files.safetensors import (
    FormatError,
    check_storable,
    check_text,
    decode_header,
    decode_safetensors,
    decode_tensors,
    encode_safetensors,
)
from chainrule.files.tree import join_tree, json_text, read_tree, split_tree, write_tree

__all__ = [
    "FormatError",
    "atomic_write",
    "blocking_file",
    "check_storable",
    "check_text",
    "decode_header",
    "decode_safetensors",
    "decode_tensors",
    "directory_blocker",
    "encode_safetensors",
    "file_blocker",
    "join_tree",
    "json_text",
    "read_tree",
    "split_tree",
    "write_tree",
]
