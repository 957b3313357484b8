"""Files and imports (archdsl/loader.py), by docs/language.md's rules ("Top level"): `use`
looks relative to the importing file, then in the standard library; a file's own definitions
shadow the standard library's; the same name from two used files, and import cycles, are
errors naming both places; `zoo:NAME` names a file of the zoo shipped inside the package."""
from __future__ import annotations

import pytest

import archdsl
from archdsl.errors import ArchError
from archdsl.loader import ZOO, Loader, resolve_file_argument
from helpers import net


def test_own_definitions_shadow_the_standard_library_and_use_is_relative(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.arch").write_text("block fire(s) { conv(s) }\n")
    main = tmp_path / "main.arch"
    main.write_text('use "lib/blocks.arch"\nnetwork main { input [3, 8, 8]; fire(5) }\n')
    g = archdsl.load(str(main)).graph
    assert [k for k in g if k != "input"] == ["0.0"]  # the file's fire, not SqueezeNet's


def test_use_falls_back_to_the_standard_library(tmp_path):
    main = tmp_path / "m.arch"
    main.write_text('use "resnet_blocks.arch"\n' + net("basic(8)"))
    g = archdsl.load(str(main)).graph
    assert g.nodes["0.conv1"]["op"] == "conv" and g.nodes["0.downsample.0"]["op"] == "conv"


def test_the_same_name_from_two_used_files_names_both(tmp_path):
    (tmp_path / "p.arch").write_text("block b() { relu }\n")
    (tmp_path / "q.arch").write_text("\nblock b() { tanh }\n")
    main = tmp_path / "m.arch"
    main.write_text('use "p.arch"\nuse "q.arch"\n' + net("b"))
    with pytest.raises(ArchError) as e:
        Loader().load_path(str(main))
    text = e.value.format()
    assert f"{tmp_path / 'p.arch'}:1:1" in text and f"{tmp_path / 'q.arch'}:2:1" in text
    assert e.value.span.line == 2  # located at the second `use`


def test_an_import_cycle_names_the_files(tmp_path):
    (tmp_path / "a.arch").write_text('use "b.arch"\n')
    (tmp_path / "b.arch").write_text('use "a.arch"\n')
    with pytest.raises(ArchError, match=r"import cycle: a\.arch -> b\.arch -> a\.arch"):
        Loader().load_path(str(tmp_path / "a.arch"))


def test_zoo_names_resolve_inside_the_package():
    assert resolve_file_argument("zoo:resnet50") == str(ZOO / "resnet50.arch")
    assert resolve_file_argument("x.arch") == "x.arch"
    with pytest.raises(ArchError, match="the zoo has no network 'nope'; it has: .*resnet50"):
        resolve_file_argument("zoo:nope")


def test_a_file_is_parsed_once_per_loader(tmp_path):
    (tmp_path / "lib.arch").write_text("block b() { relu }\n")
    for name in ("m1", "m2"):
        (tmp_path / f"{name}.arch").write_text('use "lib.arch"\n' + net("b"))
    loader = Loader()
    one = loader.load_path(str(tmp_path / "m1.arch"))
    two = loader.load_path(str(tmp_path / "m2.arch"))
    assert one.lookup("b")[1] is two.lookup("b")[1]  # the same FileScope of lib.arch


def test_loaders_share_the_standard_library_until_one_of_its_files_changes(tmp_path,
                                                                           monkeypatch):
    import shutil

    from archdsl import loader as loader_module
    stdlib = tmp_path / "stdlib"
    shutil.copytree(loader_module.STDLIB, stdlib)
    monkeypatch.setattr(loader_module, "STDLIB", stdlib)
    loader_module.forget_parses()
    main = tmp_path / "m.arch"
    main.write_text(net("basic(8)"))
    first = Loader().load_path(str(main)).lookup("basic")[1]
    again = Loader().load_path(str(main)).lookup("basic")[1]
    assert again is first  # read once: the files did not change
    blocks = stdlib / "resnet_blocks.arch"
    blocks.write_text(blocks.read_text() + "\nblock added_here() { relu }\n")
    changed = Loader().load_path(str(main))
    assert changed.lookup("basic")[1] is not first  # read again
    assert changed.lookup("added_here") is not None
    # A standard library file open in an editor (the loader's overlay) is read from there.
    edited = Loader({str(blocks): blocks.read_text() + "\nblock in_buffer() { relu }\n"})
    assert edited.load_path(str(main)).lookup("in_buffer") is not None
    assert Loader().load_path(str(main)).lookup("in_buffer") is None
    loader_module.forget_parses()
