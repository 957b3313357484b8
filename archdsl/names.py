"""What a name may be: a statement's name (a layer of the PyTorch module, a prefix of its
state_dict keys) and a name bound from outside a file (`-D NAME=VALUE`). One function per
kind of name, so every place that makes a name checks it by the same rule; nothing here
imports torch (the analysis path refuses what the backend cannot build)."""
from __future__ import annotations

import re

from .errors import ArchError
from .syntax import RESERVED
from .values import show

# '#' marks archdsl's implicit merges (`add#0`); torch.fx writes a module path into Python
# source between double quotes, so `"` and `\\` cannot be in one either.
_NOT_IN_NAMES = {".": "'.' separates the scopes of a path", "#": "'#' marks implicit merges",
                 '"': "torch.fx quotes module paths with it",
                 "\\": "torch.fx quotes module paths"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")

# The attributes of torch.nn.Module and torch.fx.GraphModule (torch 2.x): a layer of one of
# those names would shadow a method (`forward`, `to`) or the module's own state (`training`,
# `_modules`), so the language refuses them at the statement that names them.
# tests/test_names.py checks this list against dir() of the classes of the installed torch.
TORCH_ATTRIBUTES = frozenset("""
T_destination __annotations__ __call__ __class__ __copy__ __deepcopy__ __delattr__ __dict__
__dir__ __doc__ __eq__ __format__ __ge__ __getattr__ __getattribute__ __getstate__ __gt__
__hash__ __init__ __init_subclass__ __jit_unused_properties__ __le__ __lt__ __module__ __ne__
__new__ __reduce__ __reduce_ex__ __reduce_package__ __repr__ __setattr__ __setstate__
__sizeof__ __str__ __subclasshook__ __weakref__ _apply _backward_hooks _backward_pre_hooks
_boxed_call _buffers _call_impl _code _compiled_call_impl _create_node_hooks _deepcopy_hooks
_deepcopy_init _erase_node_hooks _forward_hooks _forward_hooks_always_called
_forward_hooks_with_kwargs _forward_pre_hooks _forward_pre_hooks_with_kwargs
_get_backward_hooks _get_backward_pre_hooks _get_name _graph _is_full_backward_hook
_lineno_map _load_from_state_dict _load_state_dict_post_hooks _load_state_dict_pre_hooks
_maybe_warn_non_full_backward_hook _modules _named_members _non_persistent_buffers_set
_parameters _prologue_start _recompile_submodules _register_create_node_hook
_register_deepcopy_hook _register_erase_node_hook _register_load_state_dict_pre_hook
_register_replace_node_hook _register_state_dict_hook _replace_hooks
_replicate_for_data_parallel _save_to_state_dict _set_replace_hook _slow_forward
_state_dict_hooks _state_dict_pre_hooks _tracer_cls _tracer_extras
_unregister_create_node_hook _unregister_deepcopy_hook _unregister_erase_node_hook
_unregister_replace_node_hook _version _wrapped_call _wrapped_call_impl add_module
add_submodule apply bfloat16 buffers call_super_init children code compile cpu cuda
delete_all_unused_submodules delete_submodule double dump_patches eval extra_repr float
forward get_buffer get_extra_state get_parameter get_submodule graph half ipu
load_state_dict meta modules mtia named_buffers named_children named_modules
named_parameters parameters print_readable recompile register_backward_hook register_buffer
register_forward_hook register_forward_pre_hook register_full_backward_hook
register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter
register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state
set_submodule shape_env share_memory state_dict to to_empty to_folder train training type
xpu zero_grad
""".split())


def check_layer_name(text: str, span=None) -> str:
    """A statement's name, written or made by a template: any name torch.nn accepts for a
    submodule (not empty, no '.': RegNet's `block1-0`, or `block`, a reserved word, written
    quoted), except what archdsl or torch.fx give a meaning, and not an attribute of
    torch.nn.Module (it becomes one in the PyTorch module)."""
    if not text:
        raise ArchError("a name must not be empty", span)
    for ch, why in _NOT_IN_NAMES.items():
        if ch in text:
            raise ArchError(f"name {show(text)} must not hold {ch!r} ({why})", span)
    if not text.isprintable():
        raise ArchError(f"name {show(text)} must not hold control characters", span)
    if text == "in":
        raise ArchError("'in' cannot name a statement: `from in` is the body's input", span)
    if text in TORCH_ATTRIBUTES:
        raise ArchError(f"name {text!r} is an attribute of torch.nn.Module (a layer of "
                        f"that name would hide it); choose another", span)
    return text


def check_identifier(text: str, span=None) -> str:
    """A variable's name given from outside a file (`-D NAME=VALUE`): what the grammar
    accepts as NAME, and not a reserved word."""
    if not _IDENTIFIER.match(text):
        raise ArchError(f"{text!r} is not a name (letters, digits and '_', not starting "
                        f"with a digit)", span)
    if text in RESERVED:
        raise ArchError(f"'{text}' is a reserved word and cannot be used as a name", span)
    return text
